"""The results-summary table in its TSV form: one row per experiment, the columns, Holm's adjustment,
the rows' roles and the bolding rule.

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

import math

import pandas as pd

from ..config.naming import BASELINE, NEGATIVE, POSITIVE
from ..evaluation.cluster_bootstrap import holm

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
