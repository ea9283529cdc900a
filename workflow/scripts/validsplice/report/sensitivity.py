"""The sensitivity page: the results table with Low-frequency counted as Splice-altering (rule
``sensitivity_report``: ``results/report/sensitivity.tsv`` and ``sensitivity.html``)."""
from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from ..common.errors import UserError
from ..common.files import read_json
from ..evaluation.sensitivity import COUNTED_AS_POSITIVE, DESCRIPTION, sensitivity_metrics
from .results_table import summary_table
from .table_formats import format_html

log = logging.getLogger("validsplice.report.sensitivity")


def sensitivity_report(*, experiments: list[str], predictions: list[str], trainings: list[str],
                       calibrated: list[str], calibrated_experiments: list[str], tsv, html,
                       split_description: str = "", n_bootstrap: int = 1000, seed: int = 0,
                       cutoffs=(0.2, 0.5, 0.8), detection_threshold: float = 0.1) -> pd.DataFrame:
    """Write sensitivity.tsv (the summary.tsv columns) and sensitivity.html (the results page's table)."""
    if not len(experiments) == len(predictions) == len(trainings):
        raise UserError(f"sensitivity_report: {len(experiments)} experiments, {len(predictions)} predictions, "
                        f"{len(trainings)} training files; the input lists must follow params.experiments.")
    training_dicts = [read_json(p) for p in trainings]
    cal = {e: pd.read_parquet(p) for e, p in zip(calibrated_experiments, calibrated)}
    metrics = sensitivity_metrics(list(experiments), list(predictions), training_dicts, cal,
                                  n_bootstrap=n_bootstrap, seed=seed, cutoffs=cutoffs,
                                  detection_threshold=detection_threshold)
    table = summary_table(list(experiments), metrics, training_dicts)
    n_moved = max((m["counts"]["counted_as_positive"][COUNTED_AS_POSITIVE] for m in metrics), default=0)
    Path(tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    description = f"{DESCRIPTION} {n_moved} {COUNTED_AS_POSITIVE} test variant(s) moved to the positives."
    Path(html).write_text(format_html(table, description, split_description)
                          .replace("<title>Results summary</title>", "<title>Sensitivity analysis</title>")
                          .replace("<h2>Results summary</h2>",
                                   f"<h2>Sensitivity analysis: {COUNTED_AS_POSITIVE} counted as Splice-altering</h2>"))
    log.info("sensitivity table: %d rows, %d %s variants counted as positives -> %s", len(table), n_moved,
             COUNTED_AS_POSITIVE, html)
    return table
