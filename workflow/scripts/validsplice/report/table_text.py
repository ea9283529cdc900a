"""The words of the results table that every rendering shares: cell texts, the Markdown/HTML display rows
and the lines under the table (what the columns mean, the bolding rule, the prevalence, the rows' notes)."""
from __future__ import annotations

import math

import pandas as pd

from ..config.naming import BASELINE, calibrated_of_raw, is_raw_row
from .results_table import (
    BEST_DECIMALS,
    DELTA_COLUMN,
    DELTA_COLUMNS,
    DELTA_PR_COLUMN,
    FEW_GROUPS_MARK,
    FEW_GROUPS_NOTE,
    MAX_FP_FOR_BEST_DETECTION,
    METRIC_COLUMNS,
    MIN_DETECTION_FOR_BEST_FP,
    MIN_RELIABLE_GROUPS,
    OPERATING_POINT,
    READS_TARGET_MARK,
    READS_TARGET_NOTE,
    ROLE_NOTES,
)


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


def p_text(p: float, short: bool = False) -> str:
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
    ci = interval_text(row.get(f"{column}_ci", ""), sep=", ")
    return f"{d:+.3f}" + (f" [{ci}]" if ci else "") + f" ({p_text(row[holm_column])}, Holm)"


def groups_text(r) -> str:
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
        n_text = groups_text(r) + (f" {FEW_GROUPS_MARK}" if few_groups(r) else "")
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


def footer_lines(table: pd.DataFrame, data_description: str, compact: bool = False, pooling: str = "") -> list[str]:
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
             "only; a base model's calibrated row, e.g. spliceai_calibrated: on every labelled train + validation row), "
             "corrected to the assumed prevalence π; ECE = root of the debiased squared calibration error "
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


def interval_columns(table: pd.DataFrame) -> list[str]:
    """Metric columns in table order: every column X with an ``X_ci`` interval (except the Δ vs baseline ones)."""
    deltas = {c for c, _, _, _ in DELTA_COLUMNS}
    return [c for c in table.columns if f"{c}_ci" in table.columns and c not in deltas]


def interval_text(ci: str, sep: str = "–") -> str:
    if not ci:
        return ""
    lo, hi = (float(x) for x in ci.strip("[]").split(","))
    return f"{lo:.3f}{sep}{hi:.3f}"
