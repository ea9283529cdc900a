"""Group K-fold cross-validation: pooling the K folds' results into one experiment folder.

With ``split.mode: group_kfold`` every stage from the targets to the calibrated rows runs once per fold
under ``results/folds/fold{k}/`` (targets, each experiment's training, its calibrator fitted on that
fold's own validation rows, ``spliceai_calibrated`` and the ensembles). Each variant is in the test split
of exactly one fold, so pooling the folds' test tables gives every variant one out-of-fold score. The
pooled files have the usual contracts (docs/DESIGN.md), so evaluation and the report read them unchanged:

- ``results/targets/test.parquet``: the folds' test tables, one row per variant, plus ``fold``;
  ``profile_row`` stays the row in that fold's ``profiles.npy``;
- ``results/targets/summary.json``: the test counts summed over folds, and each fold's summary;
- ``results/models/{row}/predictions.parquet`` and ``calibrated.parquet``: the folds' test rows (each
  variant once; its score and P_SA come from the fold that held it out, calibrated by that fold's
  calibrator), plus ``fold``;
- ``val_predictions.parquet``: every fold's validation rows, plus ``fold`` (a variant appears once per
  fold whose validation split holds it);
- ``history.tsv``: the folds' histories, plus ``fold``;
- ``training.json``: fold 0's, with the training time summed, the per-fold stopped epochs, and for a
  probability score the **median** of the per-fold validation-chosen thresholds (the pooled Detection / FP
  read the pooled scores at that one threshold; each fold's own threshold is in ``fold_thresholds``).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError

log = logging.getLogger(__name__)


def _read_json(path) -> dict:
    return json.loads(Path(path).read_text())


def _concat(paths: list, reader, what: str) -> pd.DataFrame:
    parts = []
    for fold, path in enumerate(paths):
        part = reader(path)
        part.insert(len(part.columns), "fold", np.int64(fold))
        parts.append(part)
    if not parts:
        raise UserError(f"pooling {what}: no fold files given.")
    return pd.concat(parts, ignore_index=True)


def check_each_once(table: pd.DataFrame, path, what: str) -> None:
    """Out-of-fold tables must hold each variant exactly once (the folds partition the variants)."""
    dup = table["variant_id"].duplicated(keep=False)
    if dup.any():
        vid = table.loc[dup, "variant_id"].iloc[0]
        folds = sorted(table.loc[table["variant_id"] == vid, "fold"].tolist())
        raise UserError(f"{path}: variant {vid!r} is in the {what} of folds {folds}; each variant must be tested in "
                        "exactly one fold. Re-run normalize_variants and build_targets.")


def pool_targets(*, tests: list, summaries: list, test_out, summary_out) -> dict:
    """The folds' test target tables and summaries -> ``results/targets/test.parquet`` and ``summary.json``."""
    test = _concat(tests, pd.read_parquet, "test targets")
    check_each_once(test, test_out, "test split")
    per_fold = [_read_json(p) for p in summaries]

    def summed(key: str, split: str = "test") -> dict:
        out: dict = {}
        for s in per_fold:
            for cls, n in ((s.get(key) or {}).get(split) or {}).items():
                out[cls] = out.get(cls, 0) + int(n)
        return out

    without_target: dict = {}
    for s in per_fold:
        for reason, n in (s.get("test_rows_without_target") or {}).items():
            without_target[reason] = without_target.get(reason, 0) + int(n)
    summary = {
        "cross_validation": {"folds": len(per_fold), "pooled": "each variant's test row from the one fold that "
                             "held it out"},
        "input_variants": per_fold[0].get("input_variants") if per_fold else 0,
        "per_split": {"test": summed("per_split")},
        "base_model_unscored": {"test": summed("base_model_unscored")},
        "test_rows_without_target": without_target,
        "per_fold": {str(i): s for i, s in enumerate(per_fold)},
    }
    Path(test_out).parent.mkdir(parents=True, exist_ok=True)
    test.to_parquet(test_out, index=False)
    Path(summary_out).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    log.info("pooled %d folds' test targets: %d variants %s", len(tests), len(test), summary["per_split"]["test"])
    return summary


def _history(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:  # spliceai_raw and the calibrated rows have no epochs
        return pd.DataFrame()


def pooled_training(trainings: list[dict]) -> dict:
    """One training.json for the pooled row (see the module docstring)."""
    first = dict(trainings[0])
    seconds = [t.get("training_seconds") for t in trainings]
    stopped = [t.get("stopped_epoch") for t in trainings]
    thresholds = [t.get("threshold") for t in trainings]
    out = {**first, "folds": len(trainings), "fold_thresholds": thresholds, "fold_stopped_epochs": stopped,
           "fold_validation_counts": [t.get("validation_counts") for t in trainings]}
    out["training_seconds"] = float(sum(s for s in seconds if s is not None)) if any(
        s is not None for s in seconds) else None
    if any(s is not None for s in stopped):
        out["stopped_epoch"] = ", ".join("—" if s is None else str(s) for s in stopped)
        out["best_epoch"] = None
        out["metrics"] = {**(first.get("metrics") or {}), "weights": "per fold", "best_epoch": None}
    if first.get("threshold") is not None:
        out["threshold"] = float(np.median([t for t in thresholds if t is not None]))
        selection = dict(first.get("threshold_selection") or {})
        selection["rule"] = (f"median of the {len(trainings)} folds' thresholds, each "
                             f"{selection.get('rule', 'chosen')} on its fold's validation split")
        out["threshold_selection"] = selection
    counts: dict = {}
    for t in trainings:
        for cls, n in (t.get("validation_counts") or {}).items():
            counts[cls] = counts.get(cls, 0) + int(n)
    if counts:
        out["validation_counts"] = counts
    note = first.get("note") or ""
    out["note"] = (note + "; " if note else "") + f"{len(trainings)} folds, pooled out of fold"
    return out


def pool_folds(*, predictions: list, val_predictions: list, calibrated: list, trainings: list, histories: list,
               out_predictions, out_val_predictions, out_calibrated, out_training, out_history,
               experiment: str = "") -> dict:
    """One table row's K fold folders -> its pooled folder ``results/models/{experiment}/``."""
    if not (len(predictions) == len(val_predictions) == len(trainings) == len(histories)) or (
            calibrated and len(calibrated) != len(predictions)):
        raise UserError(f"pool_folds {experiment}: the fold file lists differ in length.")
    test = _concat(predictions, pd.read_parquet, "predictions")
    check_each_once(test, out_predictions, "test split")
    val = _concat(val_predictions, pd.read_parquet, "validation predictions")
    history = _concat(histories, _history, "histories")
    training = pooled_training([_read_json(p) for p in trainings])
    for path in (out_predictions, out_val_predictions, out_training, out_history, *(
            [out_calibrated] if calibrated else [])):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    test.to_parquet(out_predictions, index=False)
    val.to_parquet(out_val_predictions, index=False)
    if calibrated:
        cal = _concat(calibrated, pd.read_parquet, "calibrated predictions")
        check_each_once(cal, out_calibrated, "calibrated test split")
        cal.to_parquet(out_calibrated, index=False)
    history.to_csv(out_history, sep="\t", index=False) if len(history.columns) > 1 else Path(out_history).write_text("")
    Path(out_training).write_text(json.dumps(training, indent=2, default=str) + "\n")
    log.info("%s: pooled %d folds, %d out-of-fold test rows", experiment, len(predictions), len(test))
    return training
