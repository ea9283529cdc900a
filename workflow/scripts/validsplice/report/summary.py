"""The comparison report: results-summary table (TSV, Markdown, HTML, terminal text), data summary, figures.

The HTML page and the terminal text use the compact form (``compact_table``): value, interval on a
second line, notes as numbered footnotes, so the table fits a 1280 px window and 120 columns.
The cut-off, breakdown and per-variant tables are built in ``report_tables``.

One row per experiment in config order with ``spliceai_raw`` first. Metric cells carry
their 95 % cluster-bootstrap interval over gene groups; each row shows its number of headline test
variants and of test gene groups (the bootstrap's units; fewer than MIN_RELIABLE_GROUPS gets a
footnote). The comparison with the baseline is a paired cluster bootstrap of ΔROC-AUC and
ΔPR-AUC, p-values Holm-adjusted across the table's rows (``holm_columns``). The best value of a
metric column is marked (bold in Markdown/HTML, ``best_*`` columns in the TSV) only where it
means best (``best_flags``) and its paired interval against the runner-up excludes 0; undefined
values say "undefined" and the reason is listed under the table, so a missing number is never
mistaken for a zero.

What a cell means depends on the model (``metrics.json``): Correlation is "n/a" for a model
whose output is the target (``target_is_own_output``), and Detection / FP are read at the row's
own operating point, named in its "Called at" column: a |Δ| cut-off for delta-scale scores, the
validation-chosen threshold for probability-scale scores.
"""
from __future__ import annotations

import html
import json
import logging
import math
import sys
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from ..common import reasons
from ..common.errors import UserError
from ..config.naming import BASELINE, NEGATIVE, POSITIVE, calibrated_of_raw, is_raw_row
from ..evaluation.evaluate import NOT_A_PROBABILITY, load_predictions
from ..evaluation.metrics import holm
from . import plots
from . import tables as report_tables

log = logging.getLogger("validsplice.report.summary")

# (column, key in metrics["headline"], higher is better)
METRIC_COLUMNS = (
    ("Correlation", "pearson_r", True),
    ("ROC-AUC", "roc_auc", True),
    ("PR-AUC", "pr_auc", True),
    ("Detection", "detection_rate", True),
    ("FP", "fp_rate", False),
    ("Brier", "brier", False),
    ("ECE", "ece", False),
)
DELTA_COLUMN = f"ΔROC-AUC vs {BASELINE}"
DELTA_PR_COLUMN = f"ΔPR-AUC vs {BASELINE}"
# (difference column, key in metrics["vs_baseline"], raw p column, Holm-adjusted p column)
DELTA_COLUMNS = (
    (DELTA_COLUMN, "roc_auc", "p ΔROC-AUC", "p ΔROC-AUC (Holm)"),
    (DELTA_PR_COLUMN, "pr_auc", "p ΔPR-AUC", "p ΔPR-AUC (Holm)"),
)
DELONG_COLUMN = "p ΔROC-AUC DeLong (assumes independent variants)"
OPERATING_POINT = "Called at"
# fewer test gene groups than this: the cluster bootstrap has too few units, intervals are footnoted
MIN_RELIABLE_GROUPS = 10
FEW_GROUPS_MARK = "‡"
FEW_GROUPS_NOTE = (f"fewer than {MIN_RELIABLE_GROUPS} test gene groups: the bootstrap resamples too few independent "
                   "units, so intervals and p-values are unreliable")

# Bolding rule (stated in workflow/report/summary.rst and under the table). A detection rate bought by
# flagging the Normal variants too is not "best", nor is a false-positive rate bought by
# flagging nothing: Detection is compared only among models whose FP rate is at most
# MAX_FP_FOR_BEST_DETECTION, FP only among models whose detection rate is at least
# MIN_DETECTION_FOR_BEST_FP; Correlation not among models that read the target; Brier and ECE not
# among rows whose calibrated probability is constant (ECE rewards a constant). Values are
# compared at the displayed precision; a tie for the best value, an undefined value, or a
# column with fewer than two comparable (eligible) values gets no bold.
MAX_FP_FOR_BEST_DETECTION = 0.2
MIN_DETECTION_FOR_BEST_FP = 0.5
BEST_DECIMALS = 3
# Roles of the rows (issue 19): which model the report recommends and which rows are the research log's
RECOMMENDED = "recommended"
RESEARCH_LOG = "research-log row"
NO_GAIN_OVER_OFFSET = "did not beat its offset"
ROLE_NOTES = {
    RECOMMENDED: ("recommended: of the models that start from calibrated SpliceAI and beat it on validation, the one "
                  "with the highest validation ROC-AUC (chosen on validation, not on this table)"),
    RESEARCH_LOG: ("research-log row: a network trained from scratch on the labelled variants; kept for the research "
                   "log, not a recommended model (a few thousand variants do not train one)"),
    NO_GAIN_OVER_OFFSET: ("did not beat its offset: started from calibrated SpliceAI and no correction lowered the "
                          "validation loss; its scores are calibrated SpliceAI's or no better on validation"),
}
READS_TARGET_MARK = "†"
READS_TARGET_NOTE = (f"{READS_TARGET_MARK} reads the base model's delta (the target) as an input: its Correlation "
                     "is high by construction and is not bolded")


def metric_column_names(metrics: list[dict]) -> dict[str, str]:
    """Display names of the metric columns. Detection / FP carry no threshold in the header: each row
    is called at its own operating point (column ``Called at``)."""
    return {col: col for col, _, _ in METRIC_COLUMNS}


def operating_point(m: dict) -> str:
    """Where a row's Detection / FP are read: "|Δ| > 0.1" or "P ≥ 0.412 (val.)" (``metrics.json`` definitions)."""
    d = m.get("definitions") or {}
    t = d.get("detection_threshold")
    if t is None:
        return "undefined"
    if (d.get("detection_threshold_source") or "fixed delta cut-off") == "fixed delta cut-off":
        return f"|Δ| {'≥' if d.get('detection_inclusive') else '>'} {t:g}"
    return f"score ≥ {t:.3f} (val.)"


def _num(x) -> float:
    return math.nan if x is None else float(x)


def _format_seconds(seconds) -> str:
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "—"
    seconds = float(seconds)
    if seconds < 120:
        return f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.1f} min"
    return f"{seconds / 3600:.1f} h"


def _ci_text(lo: float, hi: float) -> str:
    return "" if math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"


def summary_table(experiments: list[str], metrics: list[dict], trainings: list[dict],
                  compare=None) -> pd.DataFrame:
    """The TSV form: numeric values, ``*_ci`` interval strings, ``best_*`` flags, reasons.

    ``compare(metric key, experiment a, experiment b) -> dict`` (``difference``, ``ci_low``,
    ``ci_high``): the paired cluster bootstrap of a metric between two rows, which decides bolding
    (``best_flags``); None (no per-variant data, e.g. the external summary): nothing is bolded.
    """
    names = metric_column_names(metrics)
    rows = []
    for name, m, t in zip(experiments, metrics, trainings):
        row = {"Experiment": name, "Model": t.get("model") or m.get("model", "")}
        row.update(_counts(m))
        reasons = []
        for col, key, _ in METRIC_COLUMNS:
            e = (m.get("headline") or {}).get(key) or {}
            row[names[col]] = _num(e.get("value"))
            row[f"{names[col]}_ci"] = _ci_text(_num(e.get("ci_low")), _num(e.get("ci_high")))
            if e.get("reason"):
                reasons.append(f"{names[col]}: {e['reason']}")
        row[OPERATING_POINT] = operating_point(m)
        vs = m.get("vs_baseline") or {}
        is_baseline = name == BASELINE
        for column, key, p_column, _ in DELTA_COLUMNS:
            # metrics.json of an older run has only the top-level (ΔROC-AUC) fields
            d = vs.get(key) or (vs if key == "roc_auc" else {})
            row[column] = 0.0 if is_baseline else _num(d.get("difference"))
            row[f"{column}_ci"] = "" if is_baseline else _ci_text(_num(d.get("ci_low")), _num(d.get("ci_high")))
            row[p_column] = math.nan if is_baseline else _num(d.get("p_value"))
            if not is_baseline and d.get("reason"):
                reasons.append(f"{column.split(' vs ')[0]}: {d['reason']}")
        delong = vs.get("delong") or {}
        row[DELONG_COLUMN] = math.nan if is_baseline else _num(delong.get("p_value"))
        stopped, max_epochs = t.get("stopped_epoch"), t.get("max_epochs")
        no_epochs = stopped is None and max_epochs is None
        row["Stopped epoch / max epochs"] = "—" if no_epochs else f"{stopped} / {max_epochs}"
        row["Training seconds"] = _num(t.get("training_seconds"))
        row["Training time"] = _format_seconds(t.get("training_seconds"))
        status = t.get("status") or m.get("status") or ""
        note = t.get("note") or ""
        row["Status"] = f"{status}; {note}" if note else status
        row["Notes"] = "; ".join(reasons)
        row.update(_score_meaning(m))
        brier = (m.get("headline") or {}).get("brier") or {}
        row["Constant probability"] = brier.get("value") is not None and "constant" in (brier.get("reason") or "")
        rows.append(row)
    table = pd.DataFrame(rows)
    table["Role"] = row_roles(experiments, trainings) if rows else []
    holm_columns(table)
    flags, margins = best_flags(table, names, compare)
    for col, f in flags.items():
        table[f"best_{names[col]}"] = f
        table[f"{names[col]} vs runner-up"] = margins[col]
    return table


def _counts(m: dict) -> dict:
    """n, classes, test gene groups and test prevalence of a row's headline variants (metrics.json counts)."""
    counts = m.get("counts") or {}
    per_class = counts.get("per_class") or {}
    n_sa, n_normal = per_class.get(POSITIVE), per_class.get(NEGATIVE)
    n = counts.get("headline", None if n_sa is None or n_normal is None else n_sa + n_normal)
    prevalence = counts.get("test_prevalence")
    if prevalence is None and n:
        prevalence = n_sa / n
    return {"n": _num(n), "n Splice-altering": _num(n_sa), "n Normal": _num(n_normal),
            "Gene groups": _num(counts.get("gene_groups")), "Test prevalence": _num(prevalence)}


def holm_columns(table: pd.DataFrame) -> None:
    """Fill each ``p … (Holm)`` column: Holm's adjustment of its raw p column across the table's rows
    (one family per difference: ΔROC-AUC, ΔPR-AUC; the baseline row has no test)."""
    for _, _, p_column, holm_column in DELTA_COLUMNS:
        if p_column in table:
            table[holm_column] = holm(table[p_column].to_numpy(dtype=float)) if len(table) else []


def row_roles(experiments: list[str], trainings: list[dict]) -> list[str]:
    """Per row: "recommended", "research-log row", "did not beat its offset" (joined by "; ") or "".

    Models that start from the base model (training.json ``starts_from_base_model``) and beat it on validation
    (``beats_offset``) are candidates; the highest validation ROC-AUC (``metrics.best_val_roc_auc``) is
    recommended. A trained model that neither starts from nor reads the base model is a research-log row.
    """
    roles = [[] for _ in experiments]
    best, best_auc = None, -math.inf
    for i, t in enumerate(trainings):
        t = t or {}
        if t.get("starts_from_base_model"):
            if t.get("beats_offset") is False:
                roles[i].append(NO_GAIN_OVER_OFFSET)
            elif t.get("beats_offset"):
                auc = _num((t.get("metrics") or {}).get("best_val_roc_auc"))
                if not math.isnan(auc) and auc > best_auc:
                    best, best_auc = i, auc
        elif t.get("status") == "trained" and not t.get("reads_base_model_delta"):
            roles[i].append(RESEARCH_LOG)
    if best is not None:
        roles[best].insert(0, RECOMMENDED)
    return ["; ".join(r) for r in roles]


def _score_meaning(m: dict) -> dict:
    """TSV columns saying how the row's Detection / FP and Correlation are to be read."""
    d = m.get("definitions") or {}
    scale = m.get("score_scale") or "delta"
    sel = (m.get("training") or {}).get("threshold_selection") or {}
    if m.get("target_is_own_output"):
        corr_note = "n/a (target is this model's output)"
    elif m.get("reads_base_model_delta"):
        corr_note = "reads the target as an input"
    else:
        corr_note = ""
    return {
        "Score scale": scale,
        "Detection threshold": _num(d.get("detection_threshold")),
        "Detection threshold source": d.get("detection_threshold_source") or "fixed delta cut-off",
        "Assumed prevalence": _num(sel.get("assumed_prevalence")),
        "Prevalence source": sel.get("prevalence_source") or "",
        "Correlation note": corr_note,
    }


def best_flags(table: pd.DataFrame, names: dict[str, str], compare=None) -> tuple[dict, dict]:
    """``best_*`` flags per metric column under the bolding rule above, and the margin texts.

    A column's candidate is its unique best value at BEST_DECIMALS among eligible rows (see
    MAX_FP_FOR_BEST_DETECTION); the runner-up is the next best eligible row. The candidate is bold
    only when ``compare`` (the paired cluster bootstrap, ``summary_table``) gives an interval of
    its difference from the runner-up that excludes 0. Returns ({column: flags}, {column: texts}):
    the text says the difference from the runner-up and its interval, on the candidate's row.
    """
    flags, margins = {}, {}
    if not len(table):
        empty = {col: pd.Series(dtype=bool) for col, _, _ in METRIC_COLUMNS}
        return empty, {col: pd.Series(dtype=object) for col, _, _ in METRIC_COLUMNS}
    detection, fp = table[names["Detection"]], table[names["FP"]]
    for col, key, higher in METRIC_COLUMNS:
        raw = table[names[col]]
        values = raw.round(BEST_DECIMALS)
        eligible = values.notna()
        if col == "Detection":
            eligible &= fp.notna() & (fp <= MAX_FP_FOR_BEST_DETECTION)
        elif col == "FP":
            eligible &= detection.notna() & (detection >= MIN_DETECTION_FOR_BEST_FP)
        elif col == "Correlation" and "Correlation note" in table:
            eligible &= table["Correlation note"] == ""
        elif col in ("Brier", "ECE") and "Constant probability" in table:
            eligible &= ~table["Constant probability"].astype(bool)  # a constant is not "best calibrated"
        flag = pd.Series(False, index=table.index)
        margin = pd.Series("", index=table.index, dtype=object)
        if eligible.sum() >= 2:
            best = values[eligible].max() if higher else values[eligible].min()
            winners = eligible & (values == best)
            if winners.sum() == 1:
                winner = winners.idxmax()
                others = raw[eligible & ~winners]
                runner = others.idxmax() if higher else others.idxmin()
                a, b = table.at[winner, "Experiment"], table.at[runner, "Experiment"]
                result = compare(key, a, b) if compare is not None else None
                if result is None:
                    margin[winner] = f"vs {b}: no paired comparison (per-variant data not available)"
                else:
                    lo, hi = _num(result.get("ci_low")), _num(result.get("ci_high"))
                    separated = not math.isnan(lo) and (lo > 0 or hi < 0)
                    flag[winner] = separated
                    unit = " (of the debiased squared ECE)" if key == "ece" else ""
                    margin[winner] = (f"vs {b}: {_num(result.get('difference')):+.4f} [{lo:.4f}, {hi:.4f}]{unit}"
                                      + ("" if separated else " (includes 0: not bolded)"))
        flags[col], margins[col] = flag, margin
    return flags, margins


def _cell(value: float, ci: str) -> str:
    if value is None or math.isnan(value):
        return "undefined"
    if not ci:
        return f"{value:.3f}"
    lo, hi = (float(x) for x in ci.strip("[]").split(","))
    return f"{value:.3f} [{lo:.3f}, {hi:.3f}]"


def _metric_cell(r, col: str, display_col: str) -> str:
    """A metric cell with what the row's model makes of it: n/a, the reads-target mark, its threshold."""
    note = r.get("Correlation note", "") or ""
    if col == "Correlation" and note.startswith("n/a"):
        return note
    text = _cell(r[display_col], r[f"{display_col}_ci"])
    if col == "Correlation" and note and text != "undefined":
        return f"{text} {READS_TARGET_MARK}"
    if col in ("Brier", "ECE") and text == "undefined" and is_raw_row(r["Experiment"]):
        return f"n/a (raw delta; see {calibrated_of_raw(r['Experiment'])})"
    return text


def _p_text(p: float, short: bool = False) -> str:
    if math.isnan(p):
        return "p undef." if short else "p undefined"
    return "p<0.001" if p < 0.001 else f"p={p:.3f}"


def _delta_cell(row, column: str = DELTA_COLUMN) -> str:
    """"+0.034 [0.010, 0.060] (p=0.012, Holm)" for the Markdown table."""
    if row["Experiment"] == BASELINE:
        return "reference"
    holm_column = next(h for c, _, _, h in DELTA_COLUMNS if c == column)
    d = row[column]
    if math.isnan(d):
        return "undefined"
    ci = _interval(row.get(f"{column}_ci", ""), sep=", ")
    return f"{d:+.3f}" + (f" [{ci}]" if ci else "") + f" ({_p_text(row[holm_column])}, Holm)"


def _groups_text(r) -> str:
    n, groups = r.get("n", math.nan), r.get("Gene groups", math.nan)
    if n is None or math.isnan(n):
        return "—"
    return f"{int(n):,}" + ("" if groups is None or math.isnan(groups) else f" ({int(groups):,} groups)")


def few_groups(r) -> bool:
    groups = r.get("Gene groups", math.nan)
    return groups is not None and not math.isnan(groups) and groups < MIN_RELIABLE_GROUPS


def display_rows(table: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows of (text, is_best) cells shared by the Markdown and HTML renderings."""
    metric_names = interval_columns(table)
    base_names = {c: next((b for b, _, _ in METRIC_COLUMNS if c == b or c.startswith(f"{b}@")), c)
                  for c in metric_names}
    header = ["Experiment", "Model", "n (test gene groups)", *metric_names, OPERATING_POINT,
              *[f"{c} (p, Holm)" for c, _, _, _ in DELTA_COLUMNS], "Stopped epoch / max epochs", "Training time",
              "Status"]
    rows = []
    for _, r in table.iterrows():
        n_text = _groups_text(r) + (f" {FEW_GROUPS_MARK}" if few_groups(r) else "")
        role = r.get("Role", "") or ""
        cells = [(f"{r['Experiment']} ({role})" if role else r["Experiment"], False), (r["Model"], False),
                 (n_text, False)]
        cells += [(_metric_cell(r, base_names[c], c), bool(r.get(f"best_{c}", False))) for c in metric_names]
        cells.append((r.get(OPERATING_POINT, ""), False))
        cells += [(_delta_cell(r, c), False) for c, _, _, _ in DELTA_COLUMNS]
        cells += [(r["Stopped epoch / max epochs"], False), (r["Training time"], False), (r["Status"], False)]
        rows.append(cells)
    return header, rows


def prevalence_sentence(table: pd.DataFrame) -> str:
    """The assumed prevalence π next to the test prevalence, and what P(SA) is a probability under."""
    assumed = table["Assumed prevalence"].dropna() if "Assumed prevalence" in table else pd.Series(dtype=float)
    test = table["Test prevalence"].dropna() if "Test prevalence" in table else pd.Series(dtype=float)
    pi = f"{assumed.iloc[0]:.3f}" if len(assumed) else "not recorded"
    source = ""
    if len(assumed) and "Prevalence source" in table:
        src = table.loc[assumed.index[0], "Prevalence source"]
        source = f", the {src}" if src else ""
    t = f"{test.iloc[0]:.3f}" if len(test) else "unknown"
    return (f"Prevalence: assumed π = {pi}{source} (used by the validation-chosen thresholds and the calibration); "
            f"test prevalence = {t} (Splice-altering share of the headline test variants). Brier and ECE mix "
            "calibration with any difference between the two. P(SA) is a probability under SpliceVarDB's class mix "
            "π, not a clinical prior.")


def _footer(table: pd.DataFrame, data_description: str, compact: bool = False, pooling: str = "") -> list[str]:
    """Lines under the table. ``compact``: for the HTML table, whose footnotes already carry the
    per-row notes (the reads-target mark, undefined values). ``pooling``: the out-of-fold line of group
    K-fold (``split.describe_pooling``), right under the data line."""
    n_compared = int((table["Experiment"] != BASELINE).sum()) if len(table) else 0
    lines = [f"Data: {data_description.strip()}", *([pooling] if pooling else []),
             "Headline metrics: Splice-altering (positive) vs Normal on the test split; Low-frequency and "
             "Conflicting variants are excluded (see metrics.json). n = headline test variants, groups = test gene "
             "groups. Intervals: 95% cluster bootstrap over gene groups (the connected genes of the split; a variant "
             "without a gene is its own group): whole groups are resampled, stratified so every resample holds both "
             "classes, because variants of one gene are not independent. Correlation: Pearson r of predicted vs "
             "target max |Δ| on Splice-altering variants; the target is the base model's delta, so this measures "
             "agreement with the base model's delta, not with validated effects.",
             f"{DELTA_COLUMN} and {DELTA_PR_COLUMN.split(' vs ')[0]}: paired cluster bootstrap on the same variants "
             "(the same resampled gene groups for both models), 95% interval and two-sided p; p-values are "
             f"Holm-adjusted across the {n_compared} rows compared with {BASELINE}, separately for ΔROC-AUC and "
             "ΔPR-AUC. DeLong's p (summary.tsv) assumes independent variants and is not adjusted.",
             f"Detection / FP: share of Splice-altering / Normal variants called at the row's operating point "
             f"({OPERATING_POINT}): delta-scale scores at a |Δ| cut-off, probability-scale scores (classifiers) at "
             "the threshold chosen on validation (val.).",
             prevalence_sentence(table),
             "Brier / ECE: of the calibrated P(splice-altering) (Platt scaling fitted on the validation split "
             "only, corrected to the assumed prevalence π); ECE = root of the debiased squared calibration error "
             "over 10 equal-width bins (0: no miscalibration beyond sampling noise). Lower is better; spliceai_raw's "
             "raw delta is not a probability: its calibrated form is spliceai_calibrated.",
             f"Bold: the single best value of a column at {BEST_DECIMALS}-decimal precision, and only when the paired "
             "cluster-bootstrap 95% interval of its difference from the runner-up (the next best comparable row) "
             "excludes 0 (summary.tsv: '… vs runner-up'); ties, undefined values and columns with fewer than two "
             "comparable values are not bolded. Detection is compared only among "
             f"models with FP <= {MAX_FP_FOR_BEST_DETECTION:g}, FP only among models with Detection >= "
             f"{MIN_DETECTION_FOR_BEST_FP:g} (a model flagging every variant, or none, is never best); Correlation "
             "not among models that read the target; Brier and ECE not among rows whose P(SA) is constant."]
    if len(table) and table.apply(few_groups, axis=1).any() and not compact:
        lines.append(f"{FEW_GROUPS_MARK} {FEW_GROUPS_NOTE}.")
    if not compact and "Correlation note" in table and (table["Correlation note"] == "reads the target as an "
                                                                                   "input").any():
        lines.append(READS_TARGET_NOTE + ".")
    if "Detection threshold source" in table:
        for _, r in table[table["Detection threshold source"] == "validation-chosen"].iterrows():
            prev = r.get("Assumed prevalence", math.nan)
            source = r.get("Prevalence source") or "not recorded"
            how = ("on validation with its own class ratio (no assumed prevalence recorded)"
                   if prev is None or math.isnan(prev) else
                   f"on validation re-weighted to an assumed prevalence of {prev:.3f}, from the {source}")
            lines.append(f"{r['Experiment']}: probability score; threshold {r['Detection threshold']:.3f} chosen "
                         f"{how}.")
    if "Role" in table:
        used = {role for value in table["Role"] for role in str(value or "").split("; ") if role}
        lines += [ROLE_NOTES[role] + "." for role in ROLE_NOTES if role in used]
    notes = [f"{r['Experiment']}: {r['Notes']}" for _, r in table.iterrows() if r["Notes"]]
    if notes and not compact:
        lines.append("Undefined or special values: " + " | ".join(notes))
    return lines


def format_markdown(table: pd.DataFrame, data_description: str, split_description: str = "",
                    pooling: str = "") -> str:
    header, rows = display_rows(table)
    out = [split_description, ""] if split_description else []
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in rows:
        out.append("| " + " | ".join(f"**{t}**" if best else str(t) for t, best in cells) + " |")
    return "\n".join(out) + "\n\n" + "\n\n".join(_footer(table, data_description, pooling=pooling)) + "\n"


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


def _html_page(title: str, body: str) -> str:
    return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>"
            f"<style>{_CSS}</style></head><body>\n<h2>{html.escape(title)}</h2>\n{body}\n</body></html>\n")


_BEST_ATTR = ' class="best"'


def _html_table(header, rows) -> str:
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


def interval_columns(table: pd.DataFrame) -> list[str]:
    """Metric columns in table order: every column X with an ``X_ci`` interval (except the Δ vs baseline ones)."""
    deltas = {c for c, _, _, _ in DELTA_COLUMNS}
    return [c for c in table.columns if f"{c}_ci" in table.columns and c not in deltas]


def _short_title(col: str) -> tuple[str, str]:
    base, _, at = col.partition("@")
    return SHORT_TITLES.get(base, base), (f"@{at}" if at else "")


def _interval(ci: str, sep: str = "–") -> str:
    if not ci:
        return ""
    lo, hi = (float(x) for x in ci.strip("[]").split(","))
    return f"{lo:.3f}{sep}{hi:.3f}"


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
        if _groups_text(r) != reference:  # n, gene groups (and too few of them) said once above the table
            name.notes.append(note(f"{r['Experiment']}: n = {_groups_text(r)}"))
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
    cell = Cell(f"{value:.3f}", _interval(r.get(f"{col}_ci", "")), best)
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
    return _groups_text((base if len(base) else table).iloc[0])


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
    ci = _interval(r.get(f"{column}_ci", ""), sep="…")
    return Cell(f"{d:+.3f}", ci, sub2=f"{_p_text(r.get(holm_column, math.nan), short=True)} Holm")


def _breakable(name: str) -> str:
    """An experiment name that may wrap after its underscores (long names stay narrow)."""
    return html.escape(name).replace("_", "_<wbr>")


def _html_cell(cell: Cell, tag: str = "td", first: bool = False) -> str:
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
    body = "".join("<tr>" + "".join(_html_cell(c, first=(i == 0)) for i, c in enumerate(cells)) + "</tr>\n"
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
                    for line in [legend, *_footer(table, data_description, compact=True, pooling=pooling)])
    split = f"<p class=\"split\">{html.escape(split_description)}</p>\n" if split_description else ""
    counts = test_set_line(table)
    split += f"<p class=\"note\">{html.escape(counts)}</p>\n" if counts else ""
    return _html_page("Results summary", split + compact_html(compact) + notes)


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


# ----------------------------------------------------------------- data summary
# rejected.tsv stages whose rows were kept (normalized or merged), not rejected (docs/DESIGN.md)
KEPT_STAGES = {"normalize", "deduplicate"}
# Summary keys whose plain "key with spaces" reading is not clear enough
KEY_LABELS = {
    "input_rows": "input rows", "n_profiles": "rows in profiles.npy", "per_split": "per split",
    "per_class": "per class", "in_gene": "in an annotated gene", "no_gene": "in no annotated gene",
    "near_contig_end": "within 5 kb of a contig end", "ids_made_unique": "ids made unique",
    "normalized_changed": "changed by normalization", "target_ranges": "target value ranges",
    "per_split_before_balancing": "per split before balancing",
    "genes_in_train_and_val": "genes in both train and val (should be 0)",
}


def readable_key(key) -> str:
    """A summary JSON key as a label: known wording, else underscores as spaces."""
    key = str(key)
    return KEY_LABELS.get(key, key.replace("_", " "))


def readable_value(value) -> str:
    """Integers with thousands separators, floats to 4 significant digits, lists comma-joined."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(readable_value(v) for v in value)
    return str(value)


def _is_scalar(x) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def render_json_html(obj, depth: int = 3) -> str:
    """Readable HTML for a summary JSON: scalar dicts → key/value tables, dict-of-dicts → matrix."""
    if _is_scalar(obj):
        return html.escape(readable_value(obj))
    if isinstance(obj, list):
        if all(_is_scalar(x) for x in obj):
            return html.escape(readable_value(obj))
        return f"<pre>{html.escape(json.dumps(obj, indent=1))}</pre>"
    scalars = {k: v for k, v in obj.items() if _is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v)))}
    nested = {k: v for k, v in obj.items() if k not in scalars}
    parts = []
    if scalars:
        cells = [[(readable_key(k), False), (readable_value(v), False)] for k, v in scalars.items()]
        parts.append(_html_table(["", "value"], cells))
    for key, value in nested.items():
        tag = f"h{min(6, 6 - depth + 3)}"
        title = f"<{tag}>{html.escape(readable_key(key))}</{tag}>"
        if isinstance(value, dict) and value and all(isinstance(v, dict) and all(map(_is_scalar, v.values()))
                                                     for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            rows = [[(readable_key(k), False)] + [(readable_value(v.get(c, "")), False) for c in cols]
                    for k, v in value.items()]
            parts.append(title + _html_table([""] + [readable_key(c) for c in cols], rows))
        elif isinstance(value, dict) and not value:
            parts.append(f"{title}<p>none</p>")
        else:
            parts.append(title + render_json_html(value, max(1, depth - 1)))
    return "\n".join(parts)


def _per_class_split_table(per_split: dict) -> str:
    """Variant counts as class × split with totals."""
    df = pd.DataFrame(per_split).fillna(0).astype(int)
    df["total"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    rows = [[(idx, False)] + [(f"{int(v):,}", False) for v in r] for idx, r in df.iterrows()]
    return _html_table(["class"] + list(df.columns), rows)


def class_balance_sentence(per_split: dict) -> str:
    """"train: 55 Splice-altering : 55 Normal (50% Splice-altering)" for each split that was sampled."""
    parts = []
    for split, counts in per_split.items():
        sa, normal = int(counts.get("Splice-altering", 0)), int(counts.get("Normal", 0))
        if sa + normal:
            parts.append(f"{split}: {sa:,} Splice-altering : {normal:,} Normal "
                         f"({100 * sa / (sa + normal):.0f}% Splice-altering)")
    return "; ".join(parts)


def rejects_by_category_html(rejected: pd.DataFrame) -> str:
    """Rejected and changed rows counted by reason category, with a few raw reasons as examples."""
    counts = reasons.count_by_category(rejected, KEPT_STAGES)
    if not len(counts):
        return "<p>No input rows were rejected or changed.</p>"
    rows = [[(r.outcome, False), (r.stage, False), (r.category, False), (f"{r.n:,}", False),
             ("; ".join(r.examples), False)] for r in counts.itertuples(index=False)]
    return (f"<p>{len(rejected):,} rows in <code>results/variants/rejected.tsv</code>, counted by reason category "
            f"(examples: the first {reasons.EXAMPLES_PER_CATEGORY} of each; every row is in the file).</p>"
            + _html_table(["outcome", "stage", "reason category", "rows", "examples"], rows))


def data_summary_html(variant_summary: dict, score_summary: dict, target_summary: dict,
                      rejected: pd.DataFrame) -> str:
    parts = []
    if variant_summary.get("per_split"):
        parts.append("<h3>Variants per class and split</h3>" + _per_class_split_table(variant_summary["per_split"]))
    sampled = target_summary.get("per_split")
    if sampled:
        parts.append("<h3>Class balance after sampling (the rows models train and validate on)</h3><p>"
                     + html.escape(class_balance_sentence(sampled)) + ". Test is never sampled: all its variants "
                     "are evaluated.</p>")
    rows = variant_summary.get("rows")
    if rows:  # normalize's row accounting (docs/DESIGN.md, variant table)
        parts.append(
            "<h3>Row accounting</h3><p>"
            f"{rows['input']:,} input rows + {rows['added_by_splitting']:,} rows added by splitting multiallelic "
            f"records = {rows['output']:,} variants + {rows['rejected']:,} rejected + "
            f"{rows['merged_as_duplicates']:,} merged duplicates</p>")
    unscored = target_summary.get("base_model_unscored")
    if unscored:
        parts.append(
            "<h3>Variants without a base-model score for their gene</h3><p>Excluded from train and val "
            "whatever their class; kept in test with <code>base_model_scored</code> False.</p>"
            + _per_class_split_table(unscored))
    parts.append("<h3>Rejected and changed input rows</h3>" + rejects_by_category_html(rejected))
    parts.append("<h3>Variant preparation</h3>" + render_json_html(
        {k: v for k, v in variant_summary.items() if k not in ("per_split", "rejected")}))
    parts.append("<h3>Base-model scoring</h3>" + render_json_html(score_summary))
    parts.append("<h3>Targets</h3>" + render_json_html(target_summary))
    return _html_page("Data preparation summary", "\n".join(parts))


# ----------------------------------------------------------------- rule entry point
def _read_json(path) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read JSON ({exc}); re-run the rule that writes it.") from None


def _read_history(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _read_rejected(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


# ----------------------------------------------------------------- cut-off and breakdown pages
def _value_cell(value, low, high, reason: str = "") -> Cell:
    if value is None or math.isnan(value):
        return Cell("—", reason)
    return Cell(f"{value:.3f}", "" if math.isnan(low) else f"{low:.3f}–{high:.3f}")


def _cells_html(header: list[tuple[str, str]], rows: list[list[Cell]], label_columns: int = 2) -> str:
    """A table of Cells; the first ``label_columns`` columns hold text, the rest numbers (right-aligned)."""
    num = ' class="num"'
    head = "".join(f'<th{num if i >= label_columns else ""}>{html.escape(t)}<span class="sub">{html.escape(s)}'
                   '</span></th>' for i, (t, s) in enumerate(header))
    body = "".join("<tr>" + "".join(_html_cell(c, first=(i == 0)) for i, c in enumerate(cells)) + "</tr>\n"
                   for cells in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}</table>\n"


def cutoffs_html(cutoffs: pd.DataFrame) -> str:
    """One row per model: sensitivity / specificity at each SpliceAI cut-off, then at its own
    validation-chosen threshold; intervals on a second line."""
    intro = ("<p class=\"note\">A variant is called Splice-altering when its score is at or above the cut-off. "
             "Delta-scale models (SpliceAI and the delta regressors) at SpliceAI's published cut-offs; "
             "probability-scale models (classifiers) only at their own threshold chosen on the validation split "
             "(a |Δ| cut-off means nothing for a probability). Sens. = sensitivity, the share of Splice-altering "
             "variants called; Spec. = specificity, the share of Normal variants not called; second line: 95% "
             "cluster-bootstrap interval over the test gene groups (whole genes resampled; see the results page).</p>")
    if not len(cutoffs):
        return _html_page("Cut-off metrics", intro + "<p>No cut-off metrics in metrics.json.</p>")
    fixed = cutoffs[cutoffs["Source"] != "validation threshold"]
    levels = sorted(fixed["Cut-off"].unique())
    header = [("Experiment", "")]
    for c in levels:
        header += [(f"Sens. ≥{c:g}", ""), (f"Spec. ≥{c:g}", "")]
    header += [("Threshold", "validation-chosen"), ("Sens.", "at threshold"), ("Spec.", "at threshold")]
    rows = []
    for name, grp in cutoffs.groupby("Experiment", sort=False):
        cells = [Cell(name, numeric=False)]
        for c in levels:
            hit = grp[(grp["Cut-off"] == c) & (grp["Source"] != "validation threshold")]
            cells += _sens_spec_cells(hit)
        own = grp[grp["Source"] == "validation threshold"]
        cells.append(Cell(f"{own['Cut-off'].iloc[0]:.3g}" if len(own) else "—"))
        cells += _sens_spec_cells(own)
        rows.append(cells)
    return _html_page("Cut-off metrics", intro + _cells_html(header, rows, label_columns=1))


def _sens_spec_cells(hit: pd.DataFrame) -> list[Cell]:
    if not len(hit):
        return [Cell(""), Cell("")]
    r = hit.iloc[0]
    return [_value_cell(r["Sensitivity"], r["Sensitivity_low"], r["Sensitivity_high"]),
            _value_cell(r["Specificity"], r["Specificity_low"], r["Specificity_high"])]


def breakdown_html(breakdown: pd.DataFrame, experiments: list[str]) -> str:
    """One table per factor: rows are levels × models; ROC-AUC, detection and FP with intervals."""
    intro = ("<p class=\"note\">Splice-altering vs Normal test variants by subgroup, per model. Det. / FP follow "
             "each model's own rule (|Δ| cut-off for delta scores, the validation-chosen threshold for "
             "probabilities), as in the results table. Second line: 95% cluster-bootstrap interval over the gene groups "
             "of the subgroup (whole genes resampled, both classes kept in every resample); n gives the number of "
             f"gene groups, and fewer than {MIN_RELIABLE_GROUPS} make the interval unreliable ({FEW_GROUPS_MARK}). "
             "Small groups have wide intervals; \"—\" = undefined (e.g. a group without one of the classes). "
             "All values: results/report/breakdown.tsv.</p>")
    if not len(breakdown):
        return _html_page("Breakdowns", intro + "<p>No breakdown rows.</p>")
    parts = [intro]
    order = {e: i for i, e in enumerate(experiments)}
    header = [("Group", ""), ("Experiment", ""), ("n", "SA / Normal, gene groups"), ("ROC-AUC", ""), ("Det.", ""),
              ("FP", "")]
    for factor, title in report_tables.BREAKDOWN_FACTORS:
        sub = breakdown[breakdown["factor"] == factor]
        if not len(sub):
            continue
        levels = list(dict.fromkeys(sub["level"]))
        rows = []
        for level in levels:
            grp = sub[sub["level"] == level].sort_values("experiment", key=lambda s: s.map(order))
            for i, r in enumerate(grp.itertuples(index=False)):
                rows.append([Cell(str(level) if i == 0 else "", numeric=False), Cell(r.experiment, numeric=False),
                             _breakdown_n_cell(r),
                             _value_cell(r.roc_auc, r.roc_auc_low, r.roc_auc_high),
                             _value_cell(r.detection_rate, r.detection_rate_low, r.detection_rate_high),
                             _value_cell(r.fp_rate, r.fp_rate_low, r.fp_rate_high)])
        parts.append(f"<h3>{html.escape(title)}</h3>" + _cells_html(header, rows))
    return _html_page("Breakdowns by region, splice site, distance and variant type", "\n".join(parts))


def _breakdown_n_cell(r) -> Cell:
    groups = getattr(r, "n_groups", None)
    if groups is None or (isinstance(groups, float) and math.isnan(groups)):
        return Cell(f"{r.n_splice_altering:,} / {r.n_normal:,}")
    mark = f" {FEW_GROUPS_MARK}" if groups < MIN_RELIABLE_GROUPS else ""
    return Cell(f"{r.n_splice_altering:,} / {r.n_normal:,}", f"{int(groups):,} groups{mark}")


def _read_parquet(path, what: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc}); re-run the rule that writes it.") from None


def _read_calibrated(calibrated: list[str], calibrated_experiments: list[str],
                     experiments: list[str]) -> dict[str, pd.DataFrame]:
    """{experiment: calibrated.parquet table} in report order (reliability diagram, per-variant P(SA))."""
    if len(calibrated) != len(calibrated_experiments):
        raise UserError(f"make_report: {len(calibrated)} calibrated file(s) for {len(calibrated_experiments)} "
                        "calibrated experiments; the lists must match.")
    rank = {e: i for i, e in enumerate(experiments)}
    pairs = sorted(zip(calibrated_experiments, calibrated), key=lambda pair: rank.get(pair[0], len(rank)))
    return {e: _read_parquet(p, "calibrated probabilities") for e, p in pairs}


def make_report(
    metrics: list[str], predictions: list[str], histories: list[str], trainings: list[str],
    variant_summary: str, score_summary: str, target_summary: str, rejected: str, variants: str, scores: str,
    *, tsv: str, md: str, txt: str, html_path: str, cutoffs: str, breakdown: str, breakdown_tsv: str,
    predictions_tsv: str, data_summary: str, roc: str, pr: str, scatter: str, training_curves: str,
    distributions: str, experiments: list[str], data_description: str = "", n_bootstrap: int = 1000,
    seed: int = 0, calibrated: list[str] = (), calibrated_experiments: list[str] = (), reliability: str | None = None,
    split_description: str = "", pooling: str = "",
) -> pd.DataFrame:
    """Rule entry point: the summary table (TSV, Markdown, terminal text, HTML), the cut-off and
    breakdown pages, the per-variant table, the data summary and six SVGs.

    ``calibrated`` (calibrated.parquet files of ``calibrated_experiments``) feed the reliability
    diagram and the per-variant table's P(SA) columns; ``split_description``
    (``split.describe_split``) heads the table; ``pooling`` (``split.describe_pooling``, group K-fold)
    is the out-of-fold line under it.
    """
    experiments = list(experiments)
    lists = {"metrics": metrics, "predictions": predictions, "histories": histories, "trainings": trainings}
    for key, paths in lists.items():
        if len(paths) != len(experiments):
            raise UserError(f"make_report: {len(paths)} {key} file(s) for {len(experiments)} experiments; "
                            "the input lists must follow params.experiments.")
    order = sorted(range(len(experiments)), key=lambda i: experiments[i] != BASELINE)  # baseline first, stable
    experiments = [experiments[i] for i in order]
    metric_dicts = [_read_json(metrics[i]) for i in order]
    training_dicts = [_read_json(trainings[i]) for i in order]
    preds = {e: load_predictions(predictions[i])[0] for e, i in zip(experiments, order)}
    hists = {e: _read_history(histories[i]) for e, i in zip(experiments, order)}
    variant_table = _read_parquet(variants, "variant table")
    calibrated_by_experiment = _read_calibrated(calibrated, calibrated_experiments, experiments)

    outputs = (tsv, md, txt, html_path, cutoffs, breakdown, breakdown_tsv, predictions_tsv, data_summary, roc, pr,
               scatter, training_curves, distributions) + ((reliability,) if reliability else ())
    for path in outputs:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    compare = report_tables.paired_comparer(preds, variant_table, dict(zip(experiments, metric_dicts)),
                                            calibrated_by_experiment, n_bootstrap=n_bootstrap, seed=seed)
    table = summary_table(experiments, metric_dicts, training_dicts, compare=compare)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    Path(md).write_text(format_markdown(table, data_description, split_description, pooling))
    terminal = format_terminal(table)
    Path(txt).write_text(terminal)
    Path(html_path).write_text(format_html(table, data_description, split_description, pooling))

    Path(cutoffs).write_text(cutoffs_html(report_tables.cutoff_table(experiments, metric_dicts)))
    log.info("breakdowns: %d experiments, %d bootstrap resamples per group", len(experiments), n_bootstrap)
    groups = report_tables.breakdown_table(preds, variant_table, dict(zip(experiments, metric_dicts)),
                                           n_bootstrap=n_bootstrap, seed=seed)
    groups.to_csv(breakdown_tsv, sep="\t", index=False, float_format="%.6g")
    Path(breakdown).write_text(breakdown_html(groups, experiments))
    per_variant = report_tables.predictions_table(variant_table, _read_parquet(scores, "base-model scores"), preds,
                                                  calibrated_by_experiment)
    per_variant.to_csv(predictions_tsv, sep="\t", index=False, float_format="%.6g")
    log.info("per-variant table: %d test variants, %d columns -> %s", len(per_variant), per_variant.shape[1],
             predictions_tsv)
    Path(data_summary).write_text(data_summary_html(
        _read_json(variant_summary), _read_json(score_summary), _read_json(target_summary), _read_rejected(rejected)))

    log.info("plotting %d experiments", len(experiments))
    rules = {e: plots.CallRule.from_metrics(m) for e, m in zip(experiments, metric_dicts)}
    plots.plot_roc(preds, roc)
    plots.plot_pr(preds, pr)
    plots.plot_scatter(preds, scatter)
    plots.plot_training_curves(hists, dict(zip(experiments, training_dicts)), training_curves)
    plots.plot_score_distributions(preds, distributions, rules=rules)
    if reliability is not None:
        plots.plot_reliability(calibrated_by_experiment, reliability)
    log.info("results summary written to %s", md)
    print("\n" + terminal, file=sys.stderr)  # stderr is the rule's log file
    return table
