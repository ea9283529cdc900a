"""The results table as Markdown, the HTML page and terminal text, and the HTML building blocks of the
report's pages.

The HTML page and the terminal text use the compact form (``compact_table``): value, interval on a
second line, notes as numbered footnotes, so the table fits a 1280 px window and 120 columns.
"""
from __future__ import annotations

import html
import math
import textwrap
from dataclasses import dataclass, field

import pandas as pd

from ..config.naming import BASELINE, calibrated_of_raw
from ..evaluation.evaluate import NOT_A_PROBABILITY
from .results_table import (
    DELTA_COLUMN,
    DELTA_COLUMNS,
    FEW_GROUPS_MARK,
    FEW_GROUPS_NOTE,
    OPERATING_POINT,
    READS_TARGET_MARK,
    READS_TARGET_NOTE,
    ROLE_NOTES,
)
from .table_text import display_rows, few_groups, footer_lines, groups_text, interval_columns, interval_text, p_text


def format_markdown(table: pd.DataFrame, data_description: str, split_description: str = "",
                    pooling: str = "") -> str:
    header, rows = display_rows(table)
    out = [split_description, ""] if split_description else []
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in rows:
        out.append("| " + " | ".join(f"**{t}**" if best else str(t) for t, best in cells) + " |")
    return "\n".join(out) + "\n\n" + "\n\n".join(footer_lines(table, data_description, pooling=pooling)) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 13px; margin: 0.8em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; font-weight: 600; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.best { font-weight: bold; background: #eef7ee; }
.sub { display: block; font-size: 11px; font-weight: normal; color: #555; white-space: nowrap; }
sup { font-size: 10px; color: #a33; margin-left: 1px; }
p.note, ol.notes { color: #444; max-width: 70em; margin: 0.3em 0; }
ol.notes { padding-left: 1.6em; }
p.split { font-weight: bold; max-width: 70em; }
h3 { margin: 1em 0 0.3em 0; }
"""


def html_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n")


_BEST_ATTR = ' class="best"'


def html_table(header, rows) -> str:
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join(
        "<tr>" + "".join(f"<td{_BEST_ATTR if best else ''}>{html.escape(str(t))}</td>" for t, best in cells)
        + "</tr>\n" for cells in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>"


# ----------------------------------------------------------------- compact summary (HTML page, terminal)
# Short column titles of the compact table (explained under it and in report/summary.rst);
# a metric column not listed (e.g. one a later change adds) keeps its own name.
SHORT_TITLES = {"Correlation": "Corr.", "Detection": "Det.", "FP": "FP"}
NORMAL_STATUSES = {"trained", "completed", ""}
TERMINAL_WIDTH = 120
TERMINAL_NAME_WIDTH = 28


@dataclass
class Cell:
    text: str
    sub: str = ""                 # second line (interval, p-value, model)
    best: bool = False
    notes: list[int] = field(default_factory=list)   # footnote numbers
    numeric: bool = True
    sub2: str = ""                # third line (a difference's adjusted p-value)


@dataclass
class CompactTable:
    header: list[tuple[str, str]]   # (title, second line)
    rows: list[list[Cell]]
    footnotes: list[str]


def _short_title(col: str) -> tuple[str, str]:
    base, _, at = col.partition("@")
    return SHORT_TITLES.get(base, base), (f"@{at}" if at else "")


def compact_table(table: pd.DataFrame) -> CompactTable:
    """The summary as short cells: value on top, interval below; notes become numbered footnotes."""
    footnotes: list[str] = []

    def note(text: str) -> int:
        if text not in footnotes:
            footnotes.append(text)
        return footnotes.index(text) + 1

    metrics = interval_columns(table)
    header = [("Experiment", "model")] + [_short_title(c) for c in metrics] + [
        ("ΔAUC", "vs baseline"), ("ΔPR", "vs baseline"), ("Training", "time, ep.")]
    reference = _reference_counts(table)
    rows = []
    for _, r in table.iterrows():
        name = Cell(str(r["Experiment"]), "" if r["Model"] == r["Experiment"] else str(r["Model"]), numeric=False)
        status = str(r.get("Status", "") or "")
        if status not in NORMAL_STATUSES:
            name.notes.append(note(status.removeprefix("trained; ")))  # shared by the rows it applies to
        for role in str(r.get("Role", "") or "").split("; "):
            if role:
                name.notes.append(note(ROLE_NOTES[role]))
        # the baseline's n/a Correlation, Brier and ECE have their own notes on the cells
        special = [n for n in str(r.get("Notes") or "").split("; ")
                   if n and "n/a (target" not in n and NOT_A_PROBABILITY not in n]
        if special:
            name.notes.append(note(f"{r['Experiment']}: {'; '.join(_columns_per_reason(special))}"))
        if groups_text(r) != reference:  # n, gene groups (and too few of them) said once above the table
            name.notes.append(note(f"{r['Experiment']}: n = {groups_text(r)}"))
            if few_groups(r):
                name.notes.append(note(FEW_GROUPS_NOTE))
        cells = [name]
        for col in metrics:
            cells.append(_compact_metric_cell(r, col, note))
        cells += [_compact_delta_cell(r, column) for column, _, _, _ in DELTA_COLUMNS]
        epochs = str(r["Stopped epoch / max epochs"]).replace(" / ", "/")
        cells.append(Cell(str(r["Training time"]), "" if epochs == "—" else f"{epochs} ep."))
        rows.append(cells)
    return CompactTable(header, rows, footnotes)


def _columns_per_reason(notes: list[str]) -> list[str]:
    """"Brier: r; ECE: r" -> "Brier, ECE: r": one reason said once, with every column it applies to."""
    columns: dict[str, list[str]] = {}
    for n in notes:
        col, sep, reason = n.partition(": ")
        if not sep:
            col, reason = "", n
        columns.setdefault(reason, []).append(col)
    return [f"{', '.join(c for c in cols if c)}: {reason}" if any(cols) else reason
            for reason, cols in columns.items()]


def _compact_metric_cell(r, col: str, note) -> Cell:
    value = r[col]
    best = bool(r.get(f"best_{col}", False))
    base = col.partition("@")[0]
    corr_note = r.get("Correlation note", "") or ""
    if base == "Correlation" and corr_note.startswith("n/a"):
        return Cell("n/a", notes=[note(f"{r['Experiment']}: Correlation {corr_note}")])
    if base in ("Brier", "ECE") and NOT_A_PROBABILITY in str(r.get("Notes") or ""):
        return Cell("n/a", notes=[note(f"{r['Experiment']}: Brier / ECE n/a: {NOT_A_PROBABILITY} "
                                       f"(calibrated: the {calibrated_of_raw(r['Experiment'])} row)")])
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return Cell("—")
    cell = Cell(f"{value:.3f}", interval_text(r.get(f"{col}_ci", "")), best)
    if base in ("Detection", "FP"):
        cell.sub2 = _operating_point_short(r)  # each cell names the operating point it is read at
    if base == "Correlation" and corr_note:
        cell.text += READS_TARGET_MARK
        cell.notes.append(note(READS_TARGET_NOTE))
    return cell


def _reference_counts(table: pd.DataFrame) -> str:
    """n and gene groups of the baseline row (else the first row): said once, above the compact table."""
    if not len(table):
        return ""
    base = table[table["Experiment"] == BASELINE]
    return groups_text((base if len(base) else table).iloc[0])


def test_set_line(table: pd.DataFrame) -> str:
    """"Test: 1,234 Splice-altering + Normal variants in 37 gene groups …; test prevalence 0.344 vs assumed π 0.300"
    (above the compact table; the baseline row's counts, with the few-groups warning where it applies)."""
    if not len(table) or "n" not in table:
        return ""
    base = table[table["Experiment"] == BASELINE]
    ref = (base if len(base) else table).iloc[0]
    n, groups = ref.get("n", math.nan), ref.get("Gene groups", math.nan)
    if n is None or math.isnan(n):
        return ""
    counts = f"{int(n):,} Splice-altering + Normal variants" + (
        "" if groups is None or math.isnan(groups) else
        f" in {int(groups):,} gene group{'s' if groups != 1 else ''} (the bootstrap's units)")
    assumed = table["Assumed prevalence"].dropna() if "Assumed prevalence" in table else pd.Series(dtype=float)
    test = table["Test prevalence"].dropna() if "Test prevalence" in table else pd.Series(dtype=float)
    prevalence = "" if not len(test) else f"; test prevalence {test.iloc[0]:.3f}" + (
        f" vs assumed π {assumed.iloc[0]:.3f}" if len(assumed) else "")
    warning = f" {FEW_GROUPS_MARK} {FEW_GROUPS_NOTE[0].upper()}{FEW_GROUPS_NOTE[1:]}." if few_groups(ref) else ""
    return f"Test: {counts}{prevalence}.{warning}"


def _operating_point_short(r) -> str:
    text = str(r.get(OPERATING_POINT, "") or "")
    if text.endswith("(val.)"):
        return text.replace("score ", "").replace(" (val.)", "").replace(" ", "") + " val."
    return text.replace(" ", "") if text and text != "undefined" else ""


def _compact_delta_cell(r, column: str = DELTA_COLUMN) -> Cell:
    """Difference on top; its interval and Holm-adjusted p below."""
    if r["Experiment"] == BASELINE:
        return Cell("ref.")
    holm_column = next(h for c, _, _, h in DELTA_COLUMNS if c == column)
    d = r.get(column, math.nan)
    if d is None or math.isnan(d):
        return Cell("—")
    ci = interval_text(r.get(f"{column}_ci", ""), sep="…")
    return Cell(f"{d:+.3f}", ci, sub2=f"{p_text(r.get(holm_column, math.nan), short=True)} Holm")


def _breakable(name: str) -> str:
    """An experiment name that may wrap after its underscores (long names stay narrow)."""
    return html.escape(name).replace("_", "_<wbr>")


def html_cell(cell: Cell, tag: str = "td", first: bool = False) -> str:
    classes = [c for c, on in (("num", cell.numeric), ("best", cell.best)) if on]
    attr = f' class="{" ".join(classes)}"' if classes else ""
    text = _breakable(cell.text) if first else html.escape(cell.text)
    sups = f"<sup>{','.join(str(n) for n in cell.notes)}</sup>" if cell.notes else ""  # one mark: "11,12", not "1112"
    sub = "".join(f'<span class="sub">{html.escape(t)}</span>' for t in (cell.sub, cell.sub2) if t)
    return f"<{tag}{attr}>{text}{sups}{sub}</{tag}>"


def compact_html(compact: CompactTable) -> str:
    num = ' class="num"'
    head = "".join(
        f'<th{"" if i == 0 else num}>{html.escape(t)}<span class="sub">{html.escape(s)}</span></th>'
        for i, (t, s) in enumerate(compact.header))
    body = "".join("<tr>" + "".join(html_cell(c, first=(i == 0)) for i, c in enumerate(cells)) + "</tr>\n"
                   for cells in compact.rows)
    notes = "".join(f"<li>{html.escape(t)}</li>" for t in compact.footnotes)
    return (f'<table class="summary">\n<tr>{head}</tr>\n{body}</table>\n'
            + (f'<ol class="notes">{notes}</ol>\n' if notes else ""))


def format_html(table: pd.DataFrame, data_description: str, split_description: str = "", pooling: str = "") -> str:
    """The report's results page: the split it was judged on, the compact table, its footnotes, then how to
    read it."""
    compact = compact_table(table)
    legend = ("Each cell: the value on the first line, its 95% cluster-bootstrap interval (over test gene groups) "
              "below. Corr. = Pearson r of "
              "predicted vs target max |Δ| on Splice-altering variants; Det. / FP = share of Splice-altering / "
              "Normal variants called at the operating point on the cell's third line; Brier / ECE = Brier score / "
              "debiased calibration error of the calibrated P(splice-altering), lower is better; ΔAUC / ΔPR = "
              "ROC-AUC / PR-AUC minus that of spliceai_raw on the same variants, paired cluster-bootstrap interval "
              "and Holm-adjusted p below; Training = time, stopped / maximum epochs. Bold: best value of a column, only "
              "where its paired interval against the runner-up excludes 0 (rules below). Intervals and every "
              "column in full: results/report/summary.tsv.")
    notes = "".join(f"<p class=\"note\">{html.escape(line)}</p>\n"
                    for line in [legend, *footer_lines(table, data_description, compact=True, pooling=pooling)])
    split = f"<p class=\"split\">{html.escape(split_description)}</p>\n" if split_description else ""
    counts = test_set_line(table)
    split += f"<p class=\"note\">{html.escape(counts)}</p>\n" if counts else ""
    return html_page("Results summary", split + compact_html(compact) + notes)


def format_terminal(table: pd.DataFrame, width: int = TERMINAL_WIDTH) -> str:
    """A plain-text summary at most ``width`` characters wide: values only, footnotes wrapped.

    Columns that do not fit are left out from the right (and named); intervals and details
    are in summary.tsv / summary.md.
    """
    compact = compact_table(table)
    cells = [[_terminal_text(c, i == 0) for i, c in enumerate(row)] for row in compact.rows]
    titles = [f"{t}{s}" if s.startswith("@") else t for t, s in compact.header]
    widths = [max([len(titles[j])] + [len(row[j]) for row in cells]) for j in range(len(titles))]
    keep = list(range(len(titles)))
    dropped = []
    while sum(widths[j] for j in keep) + 2 * (len(keep) - 1) > width and len(keep) > 2:
        dropped.append(titles[keep.pop()])

    def line(values):
        return "  ".join((v.ljust(widths[j]) if j == 0 else v.rjust(widths[j])) for j, v in zip(keep, values)).rstrip()

    out = [line([titles[j] for j in keep])]
    out += [line([row[j] for j in keep]) for row in cells]
    extra = [test_set_line(table),
             "* best value of the column (see the report for the rules); intervals, p-values and all columns: "
             "results/report/summary.tsv"]
    if dropped:
        extra.append(f"Left out for width: {', '.join(reversed(dropped))}.")
    extra += [f"[{i}] {t}" for i, t in enumerate(compact.footnotes, 1)]
    for text in filter(None, extra):
        out += textwrap.wrap(text, width=width, subsequent_indent="    ")
    return "\n".join(out) + "\n"


def _terminal_text(cell: Cell, first: bool) -> str:
    text = cell.text
    if first and len(text) > TERMINAL_NAME_WIDTH:
        text = text[:TERMINAL_NAME_WIDTH - 1] + "…"
    marks = "".join(f"[{n}]" for n in cell.notes)
    return text + ("*" if cell.best else "") + marks
