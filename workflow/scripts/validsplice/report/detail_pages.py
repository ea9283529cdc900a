"""The cut-off and breakdown pages (``cutoffs.html``, ``breakdown.html``); their tables are built in
``report_tables``."""
from __future__ import annotations

import html
import math

import pandas as pd

from . import tables as report_tables
from .results_table import FEW_GROUPS_MARK, MIN_RELIABLE_GROUPS
from .table_formats import Cell, html_cell, html_page


def _value_cell(value, low, high, reason: str = "") -> Cell:
    if value is None or math.isnan(value):
        return Cell("—", reason)
    return Cell(f"{value:.3f}", "" if math.isnan(low) else f"{low:.3f}–{high:.3f}")


def _cells_html(header: list[tuple[str, str]], rows: list[list[Cell]], label_columns: int = 2) -> str:
    """A table of Cells; the first ``label_columns`` columns hold text, the rest numbers (right-aligned)."""
    num = ' class="num"'
    head = "".join(f'<th{num if i >= label_columns else ""}>{html.escape(t)}<span class="sub">{html.escape(s)}'
                   '</span></th>' for i, (t, s) in enumerate(header))
    body = "".join("<tr>" + "".join(html_cell(c, first=(i == 0)) for i, c in enumerate(cells)) + "</tr>\n"
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
        return html_page("Cut-off metrics", intro + "<p>No cut-off metrics in metrics.json.</p>")
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
    return html_page("Cut-off metrics", intro + _cells_html(header, rows, label_columns=1))


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
        return html_page("Breakdowns", intro + "<p>No breakdown rows.</p>")
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
    return html_page("Breakdowns by region, splice site, distance and variant type", "\n".join(parts))


def _breakdown_n_cell(r) -> Cell:
    groups = getattr(r, "n_groups", None)
    if groups is None or (isinstance(groups, float) and math.isnan(groups)):
        return Cell(f"{r.n_splice_altering:,} / {r.n_normal:,}")
    mark = f" {FEW_GROUPS_MARK}" if groups < MIN_RELIABLE_GROUPS else ""
    return Cell(f"{r.n_splice_altering:,} / {r.n_normal:,}", f"{int(groups):,} groups{mark}")
