"""Rows of the table made from calibrated probabilities: ``spliceai_calibrated`` and ensembles.

An ensemble (config ``ensembles: {name: [experiment, ...]}``) scores a variant with the mean
of its members' calibrated P(splice-altering). ``spliceai_calibrated`` is the same operation
on the one member ``spliceai_raw``: raw SpliceAI through its calibrator. Each such row writes
the files of an experiment (predictions, val_predictions, training.json, history.tsv) plus
``calibrated.parquet`` (p_sa = score: the row's score is already a probability), so evaluation
and the report treat it like any other. Its probability threshold for Detection / FP is chosen
on the validation split like a classifier's (``training.select_threshold``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..config.naming import BASELINE, CALIBRATED_BASELINE, NEGATIVE, POSITIVE, check_ensembles, member_experiment  # noqa: F401
from .calibration import Calibrator, calibrated_table, fitted_on_short, read_prevalence, read_table
from .predictions import prediction_table, write_history

log = logging.getLogger("validsplice.training.ensemble")

def _aligned(tables: list[pd.DataFrame], names: list[str], what: str) -> list[pd.DataFrame]:
    """The members' tables in the first one's row order; they must list the same variants."""
    first = tables[0].set_index("variant_id", drop=False)
    out = [tables[0].reset_index(drop=True)]
    for name, table in zip(names[1:], tables[1:]):
        ids = set(table["variant_id"])
        if ids != set(first.index) or len(ids) != len(table):
            raise UserError(f"ensemble: the {what} of {name!r} and {names[0]!r} list different variants "
                            f"({len(ids ^ set(first.index))} differ); re-run both from the same targets.")
        out.append(table.set_index("variant_id", drop=False).loc[first.index].reset_index(drop=True))
    return out


def mean_probability(tables: list[pd.DataFrame], calibrators: list[Calibrator], names: list[str], what: str):
    """(first member's table, mean calibrated probability per row, scored by every member per row)."""
    tables = _aligned(tables, names, what)
    p = np.vstack([c.apply(t["score"]) for c, t in zip(calibrators, tables)])
    scored = np.logical_and.reduce([t["scored"].to_numpy(bool) if "scored" in t else np.ones(len(t), bool)
                                    for t in tables])
    return tables[0], p.mean(axis=0), scored


def combine_calibrated(*, members: list[str], calibrators: list[str], val_predictions: list[str],
                       predictions: list[str], target_summary, experiment: str, out_predictions,
                       out_val_predictions, out_calibrated, out_training, out_history,
                       threshold_rule: str = "f1") -> dict:
    """Write the experiment files of a row scored by the mean calibrated probability of ``members``."""
    from .loop import code_version, select_threshold

    members = list(members)
    cals = [Calibrator.load(p) for p in calibrators]
    val_table, val_p, _ = mean_probability([read_table(p, "validation predictions") for p in val_predictions], cals,
                                        members, "validation predictions")
    test_table, test_p, scored = mean_probability([read_table(p, "predictions") for p in predictions], cals, members,
                                          "predictions")
    head = val_table["label"].isin((POSITIVE, NEGATIVE)).to_numpy()
    prevalence = read_prevalence(target_summary)
    threshold, selection = select_threshold(val_p[head], (val_table["label"][head] == POSITIVE).to_numpy(),
                                            prevalence, threshold_rule)
    for path in (out_predictions, out_val_predictions, out_calibrated, out_training, out_history):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    test_out = prediction_table(_with_targets(test_table), test_p, scored=scored)
    test_out.to_parquet(out_predictions, index=False)
    prediction_table(_with_targets(val_table), val_p).to_parquet(out_val_predictions, index=False)
    calibrated_table(test_out, test_p).to_parquet(out_calibrated, index=False)  # score is P(SA) already
    write_history([], out_history)
    single = len(members) == 1
    model = CALIBRATED_BASELINE if experiment == CALIBRATED_BASELINE else "ensemble"
    note = (f"{members[0]} through its calibrator (Platt, fitted on {fitted_on_short(cals[0])})" if single else
            f"mean calibrated P(splice-altering) of {', '.join(members)}")
    info = {"experiment": experiment, "model": model, "status": "no training", "members": members,
            "stopped_epoch": None, "max_epochs": None, "best_epoch": None, "training_seconds": 0.0,
            "device": None, "n_parameters": 0, "threshold": threshold, "threshold_selection": selection,
            "score_scale": "probability", "target_is_own_output": False,
            "reads_base_model_delta": False,
            "validation_counts": _counts(val_table), "note": note, "config": {"members": members},
            "code_version": code_version()}
    Path(out_training).write_text(json.dumps(info, indent=2) + "\n")
    log.info("%s: %s; threshold %.4f on validation; %d test rows", experiment, note, threshold, len(test_table))
    return info


def _with_targets(table: pd.DataFrame) -> pd.DataFrame:
    """prediction_table needs target_max_abs_delta; members' predictions carry it."""
    if "target_max_abs_delta" not in table:
        table = table.assign(target_max_abs_delta=np.nan)
    return table


def _counts(table: pd.DataFrame) -> dict:
    return {cls: int((table["label"] == cls).sum()) for cls in (POSITIVE, NEGATIVE)}
