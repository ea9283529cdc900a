"""The comparison report: results-summary table (TSV, Markdown, HTML), data summary, figures.

One row per experiment in config order with ``spliceai_raw`` first. Metric cells carry
their 95 % bootstrap interval; the best value of each metric column is marked (bold in
Markdown/HTML, ``best_*`` columns in the TSV) only where it means best (``best_flags``);
undefined values say "undefined" and the reason is listed under the table, so a missing
number is never mistaken for a zero.

What a cell means depends on the model (``metrics.json``): Correlation is "n/a" for a model
whose output is the target (``target_is_own_output``), and Detection / FP of a
probability-scale score are read at its validation-chosen threshold, shown in the cell.
"""
from __future__ import annotations

import html
import json
import logging
import math
import sys
from pathlib import Path

import pandas as pd

from . import plots
from .evaluation import load_predictions
from .metrics import BASELINE
from .rule_io import UserError

log = logging.getLogger("validsplice.report")

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
READS_TARGET_MARK = "†"
READS_TARGET_NOTE = (f"{READS_TARGET_MARK} reads the base model's delta (the target) as an input: its Correlation "
                     "is high by construction and is not bolded")


def _threshold_label(metrics: list[dict]) -> str:
    """The fixed |delta| detection cut-off (the column names' ``@0.1``)."""
    for m in metrics:
        d = m.get("definitions") or {}
        t = d.get("fixed_detection_threshold")
        if t is None and d.get("detection_threshold_source", "fixed delta cut-off") == "fixed delta cut-off":
            t = d.get("detection_threshold")
        if t is not None:
            return f"{t:g}"
    return "0.1"


def metric_column_names(metrics: list[dict]) -> dict[str, str]:
    """Display names, e.g. Detection -> Detection@0.1 (threshold from the metrics files)."""
    t = _threshold_label(metrics)
    return {col: (f"{col}@{t}" if col in ("Detection", "FP") else col) for col, _, _ in METRIC_COLUMNS}


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


def summary_table(experiments: list[str], metrics: list[dict], trainings: list[dict]) -> pd.DataFrame:
    """The TSV form: numeric values, ``*_ci`` interval strings, ``best_*`` flags, reasons."""
    names = metric_column_names(metrics)
    rows = []
    for name, m, t in zip(experiments, metrics, trainings):
        row = {"Experiment": name, "Model": t.get("model") or m.get("model", "")}
        reasons = []
        for col, key, _ in METRIC_COLUMNS:
            e = (m.get("headline") or {}).get(key) or {}
            row[names[col]] = _num(e.get("value"))
            lo, hi = _num(e.get("ci_low")), _num(e.get("ci_high"))
            row[f"{names[col]}_ci"] = "" if math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"
            if e.get("reason"):
                reasons.append(f"{names[col]}: {e['reason']}")
        vs = m.get("vs_baseline") or {}
        is_baseline = name == BASELINE
        row[DELTA_COLUMN] = 0.0 if is_baseline else _num(vs.get("difference"))
        lo, hi = _num(vs.get("ci_low")), _num(vs.get("ci_high"))
        row[f"{DELTA_COLUMN}_ci"] = "" if is_baseline or math.isnan(lo) else f"[{lo:.4f}, {hi:.4f}]"
        row["p (DeLong)"] = math.nan if is_baseline else _num(vs.get("p_value"))
        if not is_baseline and vs.get("reason"):
            reasons.append(f"ΔROC-AUC: {vs['reason']}")
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
    for col, flags in best_flags(table, names).items():
        table[f"best_{names[col]}"] = flags
    return table


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


def best_flags(table: pd.DataFrame, names: dict[str, str]) -> dict[str, pd.Series]:
    """``best_*`` flags per metric column under the bolding rule above (see MAX_FP_FOR_BEST_DETECTION)."""
    flags = {}
    if not len(table):
        return {col: pd.Series(dtype=bool) for col, _, _ in METRIC_COLUMNS}
    detection, fp = table[names["Detection"]], table[names["FP"]]
    for col, _, higher in METRIC_COLUMNS:
        values = table[names[col]].round(BEST_DECIMALS)
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
        if eligible.sum() >= 2:
            best = values[eligible].max() if higher else values[eligible].min()
            winners = eligible & (values == best)
            if winners.sum() == 1:
                flag = winners
        flags[col] = flag
    return flags


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
    if col in ("Brier", "ECE") and text == "undefined" and r["Experiment"] == BASELINE:
        return "n/a (raw delta; see spliceai_calibrated)"
    if col in ("Detection", "FP") and r.get("Detection threshold source") == "validation-chosen" \
            and text != "undefined":
        return f"{text} (@{r['Detection threshold']:.3f}, val-chosen)"
    return text


def _delta_cell(row) -> str:
    if row["Experiment"] == BASELINE:
        return "reference"
    d, p = row[DELTA_COLUMN], row["p (DeLong)"]
    if math.isnan(d):
        return "undefined"
    ptxt = "p undefined" if math.isnan(p) else ("p<0.001" if p < 0.001 else f"p={p:.3f}")
    return f"{d:+.3f} ({ptxt})"


def display_rows(table: pd.DataFrame) -> tuple[list[str], list[list[tuple[str, bool]]]]:
    """Header and rows of (text, is_best) cells shared by the Markdown and HTML renderings."""
    metric_names = [c for c in table.columns if f"best_{c}" in table.columns]
    base_names = {c: next((b for b, _, _ in METRIC_COLUMNS if c == b or c.startswith(f"{b}@")), c)
                  for c in metric_names}
    header = ["Experiment", "Model", *metric_names, f"{DELTA_COLUMN} (p)", "Stopped epoch / max epochs",
              "Training time", "Status"]
    rows = []
    for _, r in table.iterrows():
        cells = [(r["Experiment"], False), (r["Model"], False)]
        cells += [(_metric_cell(r, base_names[c], c), bool(r[f"best_{c}"])) for c in metric_names]
        cells += [(_delta_cell(r), False), (r["Stopped epoch / max epochs"], False),
                  (r["Training time"], False), (r["Status"], False)]
        rows.append(cells)
    return header, rows


def _footer(table: pd.DataFrame, data_description: str) -> list[str]:
    det_col = next((c for c in table.columns if c.startswith("Detection@")), "Detection@0.1")
    cut = det_col.split("@", 1)[1]
    lines = [f"Data: {data_description.strip()}",
             "Headline metrics: Splice-altering (positive) vs Normal on the test split; Low-frequency and "
             "Conflicting variants are excluded (see metrics.json). Intervals: 95% stratified bootstrap; "
             "Correlation: Pearson r of predicted vs target max |Δ| on Splice-altering variants; the target is "
             "the base model's delta, so this measures agreement with the base model's delta, not with validated "
             f"effects. {DELTA_COLUMN}: paired DeLong test on the same variants.",
             f"Detection / FP: share of Splice-altering / Normal variants called; delta-scale scores are called at "
             f"|Δ| > {cut}, probability-scale scores (classifiers) at the threshold chosen on validation, shown in "
             "the cell as (@threshold, val-chosen).",
             "Brier / ECE: of the calibrated P(splice-altering) (Platt scaling fitted on the validation split "
             "only, corrected to the labelled training data's prevalence); ECE over 10 equal-width bins. Lower is "
             "better; spliceai_raw's raw delta is not a probability: its calibrated form is spliceai_calibrated.",
             f"Bold: the single best value of a column at {BEST_DECIMALS}-decimal precision; ties, undefined values "
             "and columns with fewer than two comparable values are not bolded. Detection is compared only among "
             f"models with FP <= {MAX_FP_FOR_BEST_DETECTION:g}, FP only among models with Detection >= "
             f"{MIN_DETECTION_FOR_BEST_FP:g} (a model flagging every variant, or none, is never best); Correlation "
             "not among models that read the target; Brier and ECE not among rows whose P(SA) is constant."]
    if "Correlation note" in table and (table["Correlation note"] == "reads the target as an input").any():
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
    notes = [f"{r['Experiment']}: {r['Notes']}" for _, r in table.iterrows() if r["Notes"]]
    if notes:
        lines.append("Undefined or special values: " + " | ".join(notes))
    return lines


def format_markdown(table: pd.DataFrame, data_description: str, split_description: str = "") -> str:
    header, rows = display_rows(table)
    out = [split_description, ""] if split_description else []
    out += ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for cells in rows:
        out.append("| " + " | ".join(f"**{t}**" if best else str(t) for t, best in cells) + " |")
    return "\n".join(out) + "\n\n" + "\n\n".join(_footer(table, data_description)) + "\n"


_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; font-size: 14px; margin: 1em; }
table { border-collapse: collapse; margin: 0.5em 0 1em 0; }
th, td { border: 1px solid #ccc; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
td.best { font-weight: bold; background: #eef7ee; }
p.note { color: #444; max-width: 70em; }
p.split { font-weight: bold; max-width: 70em; }
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


def format_html(table: pd.DataFrame, data_description: str, split_description: str = "") -> str:
    header, rows = display_rows(table)
    notes = "".join(f"<p class=\"note\">{html.escape(line)}</p>\n" for line in _footer(table, data_description))
    split = f"<p class=\"split\">{html.escape(split_description)}</p>\n" if split_description else ""
    return _html_page("Results summary", split + _html_table(header, rows) + "\n" + notes)


# ----------------------------------------------------------------- data summary
# rejected.tsv stages whose rows were kept (normalized or merged), not rejected (docs/DESIGN.md)
KEPT_STAGES = {"normalize", "deduplicate"}

def _is_scalar(x) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def render_json_html(obj, depth: int = 3) -> str:
    """Readable HTML for a summary JSON: scalar dicts → key/value tables, dict-of-dicts → matrix."""
    if _is_scalar(obj):
        return html.escape(str(obj))
    if isinstance(obj, list):
        if all(_is_scalar(x) for x in obj):
            return html.escape(", ".join(str(x) for x in obj))
        return f"<pre>{html.escape(json.dumps(obj, indent=1))}</pre>"
    scalars = {k: v for k, v in obj.items() if _is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v)))}
    nested = {k: v for k, v in obj.items() if k not in scalars}
    parts = []
    if scalars:
        cells = [[(k, False), (", ".join(map(str, v)) if isinstance(v, list) else v, False)]
                 for k, v in scalars.items()]
        parts.append(_html_table(["", "value"], cells))
    for key, value in nested.items():
        tag = f"h{min(6, 6 - depth + 3)}"
        if isinstance(value, dict) and value and all(isinstance(v, dict) and all(map(_is_scalar, v.values()))
                                                     for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            rows = [[(k, False)] + [(v.get(c, ""), False) for c in cols] for k, v in value.items()]
            parts.append(f"<{tag}>{html.escape(str(key))}</{tag}>" + _html_table([""] + cols, rows))
        elif isinstance(value, dict) and not value:
            parts.append(f"<{tag}>{html.escape(str(key))}</{tag}><p>none</p>")
        else:
            parts.append(f"<{tag}>{html.escape(str(key))}</{tag}>" + render_json_html(value, max(1, depth - 1)))
    return "\n".join(parts)


def _per_class_split_table(per_split: dict) -> str:
    """Variant counts as class × split with totals."""
    df = pd.DataFrame(per_split).fillna(0).astype(int)
    df["total"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    rows = [[(idx, False)] + [(int(v), False) for v in r] for idx, r in df.iterrows()]
    return _html_table(["class"] + list(df.columns), rows)


def data_summary_html(variant_summary: dict, score_summary: dict, target_summary: dict,
                      rejected: pd.DataFrame) -> str:
    parts = []
    if variant_summary.get("per_split"):
        parts.append("<h3>Variants per class and split</h3>" + _per_class_split_table(variant_summary["per_split"]))
    rows = variant_summary.get("rows")
    if rows:  # normalize's row accounting (docs/DESIGN.md, variant table)
        parts.append(
            "<h3>Row accounting</h3><p>"
            f"{rows['input']} input rows + {rows['added_by_splitting']} rows added by splitting multiallelic "
            f"records = {rows['output']} variants + {rows['rejected']} rejected + "
            f"{rows['merged_as_duplicates']} merged duplicates</p>")
    unscored = target_summary.get("base_model_unscored")
    if unscored:
        parts.append(
            "<h3>Variants without a base-model score for their gene</h3><p>Excluded from train and val "
            "whatever their class; kept in test with <code>base_model_scored</code> False.</p>"
            + _per_class_split_table(unscored))
    parts.append("<h3>Rejected and changed input rows (rejected.tsv)</h3>")
    if len(rejected):
        rejected = rejected.assign(outcome=rejected.get("stage", pd.Series("", index=rejected.index))
                                   .map(lambda st: "kept (changed or merged)" if st in KEPT_STAGES else "rejected"))
        keys = ["outcome"] + [c for c in ("stage", "reason") if c in rejected.columns]
        counts = (rejected.groupby(keys).size().reset_index(name="n")
                  .sort_values(["outcome", "n"], ascending=[False, False]))
        parts.append(_html_table(keys + ["n"], [[(v, False) for v in r] for r in counts.itertuples(index=False)]))
    else:
        parts.append("<p>No input rows were rejected or changed.</p>")
    parts.append("<h3>Variant preparation</h3>" + render_json_html(
        {k: v for k, v in variant_summary.items() if k != "per_split"}))
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


def make_report(
    metrics: list[str], predictions: list[str], histories: list[str], trainings: list[str],
    variant_summary: str, score_summary: str, target_summary: str, rejected: str,
    *, tsv: str, md: str, html_path: str, data_summary: str, roc: str, pr: str, scatter: str,
    training_curves: str, distributions: str, experiments: list[str], data_description: str = "",
    calibrated: list[str] = (), calibrated_experiments: list[str] = (), reliability: str | None = None,
    split_description: str = "",
) -> pd.DataFrame:
    """Rule entry point: write the summary table in three formats, the data summary and the SVGs.

    ``calibrated`` (calibrated.parquet files of ``calibrated_experiments``) feed the reliability
    diagram; ``split_description`` (``split.describe_split``) heads the table.
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

    table = summary_table(experiments, metric_dicts, training_dicts)
    for path in (tsv, md, html_path, data_summary, roc, pr, scatter, training_curves, distributions):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    markdown = format_markdown(table, data_description, split_description)
    Path(md).write_text(markdown)
    Path(html_path).write_text(format_html(table, data_description, split_description))
    Path(data_summary).write_text(data_summary_html(
        _read_json(variant_summary), _read_json(score_summary), _read_json(target_summary), _read_rejected(rejected)))

    threshold = float(_threshold_label(metric_dicts))
    thresholds = {e: (m.get("definitions") or {}).get("detection_threshold", threshold)
                  for e, m in zip(experiments, metric_dicts)}
    log.info("plotting %d experiments", len(experiments))
    plots.plot_roc(preds, roc)
    plots.plot_pr(preds, pr)
    plots.plot_scatter(preds, scatter)
    plots.plot_training_curves(hists, dict(zip(experiments, training_dicts)), training_curves)
    plots.plot_score_distributions(preds, distributions, threshold=thresholds)
    if reliability is not None:
        if len(calibrated) != len(calibrated_experiments):
            raise UserError(f"make_report: {len(calibrated)} calibrated file(s) for {len(calibrated_experiments)} "
                            "calibrated experiments; the lists must match.")
        rank = {e: i for i, e in enumerate(experiments)}  # report order
        pairs = sorted(zip(calibrated_experiments, calibrated), key=lambda pair: rank.get(pair[0], len(rank)))
        plots.plot_reliability({e: pd.read_parquet(p) for e, p in pairs}, reliability)
    log.info("results summary written to %s", md)
    print("\n" + markdown, file=sys.stderr)  # stderr is the rule's log file
    return table
