"""Sensitivity analysis of the headline: Low-frequency variants counted as Splice-altering.

SpliceVarDB's Low-frequency class holds variants with a weaker or partial splicing effect. The headline
leaves them out (Splice-altering vs Normal only); a referee asks whether the ranking of the models changes
when they count as positives. This module re-labels the test predictions and runs the one evaluation
(``evaluate.evaluate_predictions``: same metrics, intervals, baseline comparison, thresholds chosen on
validation as before: nothing is refitted). Conflicting variants stay out. The headline is unchanged.
"""
from __future__ import annotations

import logging

import pandas as pd

from ..config.naming import BASELINE, POSITIVE
from .evaluate import evaluate_predictions, load_predictions

log = logging.getLogger("validsplice.evaluation.sensitivity")

COUNTED_AS_POSITIVE = "Low-frequency"
DESCRIPTION = (f"Sensitivity analysis: {COUNTED_AS_POSITIVE} variants counted as {POSITIVE} (positives), Normal as "
               "negatives, Conflicting left out. Same models, thresholds and calibrators as the headline table (chosen "
               "on validation; nothing refitted); only the test labels differ. The headline table is unchanged.")


def relabel(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with Low-frequency labels read as Splice-altering (the original kept in ``source_label``)."""
    out = table.copy()
    out["source_label"] = out["label"]
    out.loc[out["label"] == COUNTED_AS_POSITIVE, "label"] = POSITIVE
    return out


def sensitivity_metrics(experiments: list[str], predictions: list[str], trainings: list[dict],
                        calibrated: dict[str, pd.DataFrame], *, n_bootstrap: int = 1000, seed: int = 0,
                        cutoffs=(0.2, 0.5, 0.8), detection_threshold: float = 0.1) -> list[dict]:
    """metrics.json-shaped dicts, one per experiment, on the re-labelled test predictions; ``calibrated``:
    {experiment: calibrated.parquet table} for Brier / ECE (absent for spliceai_raw)."""
    tables = {e: relabel(load_predictions(p)[0]) for e, p in zip(experiments, predictions)}
    baseline = tables.get(BASELINE)
    out = []
    for e, training in zip(experiments, trainings):
        cal = calibrated.get(e)
        result = evaluate_predictions(tables[e], baseline=baseline, training=training, experiment=e,
                                      n_bootstrap=n_bootstrap, seed=seed, cutoffs=cutoffs,
                                      detection_threshold=detection_threshold,
                                      calibrated=None if cal is None else relabel(cal))
        result["counts"]["counted_as_positive"] = {COUNTED_AS_POSITIVE: int(
            (tables[e]["source_label"] == COUNTED_AS_POSITIVE).sum())}
        out.append(result)
        log.info("%s: ROC-AUC %s with %s counted as %s", e, result["headline"]["roc_auc"]["value"],
                 COUNTED_AS_POSITIVE, POSITIVE)
    return out
