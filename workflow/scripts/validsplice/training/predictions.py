"""Prediction tables in the shared format (docs/DESIGN.md "Predictions").

Every model, trained or not, writes the same columns so evaluation and the report treat
them alike: variant_id, label, split, score, pred_neither/acceptor/donor,
pred_max_abs_delta, target_max_abs_delta, and ``scored`` (False where the model could not
score the variant and the score is a fill-in 0.0; only the spliceai_raw baseline has such rows).
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..common.provenance import code_version
from ..config.naming import BASELINE
from .datasets import SplitData

log = logging.getLogger("validsplice.training.predictions")

PREDICTION_COLUMNS = ["variant_id", "label", "split", "score", "pred_neither", "pred_acceptor", "pred_donor",
                      "pred_max_abs_delta", "target_max_abs_delta", "scored"]
HISTORY_COLUMNS = ["epoch", "train_loss", "val_loss", "val_metric", "learning_rate", "seconds"]


def autocast(device: torch.device):
    """bf16 autocast on CUDA only (CPU autocast is slow and changes numerics for no gain)."""
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


@torch.no_grad()
def run_model(model, data: SplitData, batch_size: int, device: torch.device) -> dict[str, np.ndarray]:
    """Forward every row in table order; returns score, seed (n, 3) or NaN, max_abs (n,) or NaN."""
    model.eval()
    n = len(data)
    score = np.zeros(n, dtype=np.float64)
    seed = np.full((n, 3), np.nan)
    max_abs = np.full(n, np.nan)
    start = 0
    for batch in data.batches(batch_size, device):
        with autocast(device):
            out = model(batch)
        stop = start + len(batch["ref"])
        score[start:stop] = out["score"].float().cpu().numpy()
        if "seed" in out:
            seed[start:stop] = out["seed"].float().cpu().numpy()
        if "profile" in out:
            max_abs[start:stop] = out["profile"].float().abs().amax(dim=(1, 2)).cpu().numpy()
        elif "seed" in out:
            max_abs[start:stop] = out["seed"].float().abs().amax(dim=1).cpu().numpy()
        start = stop
    return {"score": score, "seed": seed, "max_abs": max_abs}


def prediction_table(table: pd.DataFrame, score, seed=None, max_abs=None, scored=None) -> pd.DataFrame:
    n = len(table)
    seed = np.full((n, 3), np.nan) if seed is None else np.asarray(seed, dtype=float)
    out = pd.DataFrame({
        "variant_id": table["variant_id"].to_numpy(),
        "label": table["label"].to_numpy(),
        "split": table["split"].to_numpy(),
        "score": np.asarray(score, dtype=float),
        "pred_neither": seed[:, 0],
        "pred_acceptor": seed[:, 1],
        "pred_donor": seed[:, 2],
        "pred_max_abs_delta": np.full(n, np.nan) if max_abs is None else np.asarray(max_abs, dtype=float),
        "target_max_abs_delta": table["target_max_abs_delta"].to_numpy(dtype=float),
        "scored": np.ones(n, dtype=bool) if scored is None else np.asarray(scored, dtype=bool),
    })
    return out[PREDICTION_COLUMNS]


def predict_split(model, data: SplitData, batch_size: int, device: torch.device) -> pd.DataFrame:
    out = run_model(model, data, batch_size, device)
    return prediction_table(data.table, out["score"], out["seed"], out["max_abs"])


def write_history(history: list[dict], path) -> None:
    pd.DataFrame(history, columns=HISTORY_COLUMNS).to_csv(path, sep="\t", index=False)


def spliceai_raw_table(targets: pd.DataFrame) -> pd.DataFrame:
    """Prediction table of the raw base-model score; unscored variants get 0.0 and ``scored`` False."""
    raw = targets["spliceai_max_ds"].to_numpy(dtype=float)
    scored = ~np.isnan(raw)
    score = np.where(scored, raw, 0.0)
    return prediction_table(targets, score, max_abs=score, scored=scored)


def with_base_model_score(targets: pd.DataFrame, variants: pd.DataFrame, scores: pd.DataFrame,
                          scores_path="scores.parquet") -> pd.DataFrame:
    """``targets`` with ``spliceai_max_ds`` replaced by another base model's max score of each variant's own
    gene (``targets.choose_score_rows``, as for the primary; NaN where that model did not score it)."""
    from .targets import choose_score_rows

    variants = variants.reset_index(drop=True)
    chosen = choose_score_rows(variants, scores, scores_path)
    by_id = pd.Series(chosen["spliceai_max_ds"].to_numpy(dtype=float), index=variants["variant_id"].astype(str))
    out = targets.copy()
    out["spliceai_max_ds"] = targets["variant_id"].astype(str).map(by_id).to_numpy(dtype=float)
    return out


def baseline_predictions(*, test_path, predictions_path, history_path, training_path, val_path=None,
                         val_predictions_path=None, experiment: str, scores_path=None,
                         variants_path=None, labelled_paths=(), calibration_rows_path=None) -> pd.DataFrame:
    """Baseline: the raw base-model score max(DS_AG, DS_AL, DS_DG, DS_DL) of the chosen gene row.

    Variants the base model skipped get score 0.0 (the original tool reports nothing for
    them, i.e. "no effect") and ``scored`` False, so evaluation can show their count.
    With ``val_path`` the validation split is scored the same way (val_predictions.parquet: the rows every
    experiment lists, on which ensembles align their members and choose thresholds). With ``labelled_paths``
    (train_labelled.parquet, val_labelled.parquet) and ``calibration_rows_path`` the raw score of every
    labelled non-test row (calibration_rows.parquet): what the raw row's calibrator is fitted on
    (``calibration.calibrate_experiment``; why train rows may be used there: its docstring). With
    ``scores_path`` (and ``variants_path``) the row of an additional base model (``pangolin_raw``): the same on
    that model's scores.parquet (Pangolin: the larger of its gain and loss) for the same rows.
    """
    test = pd.read_parquet(test_path)
    variants = scores = None
    if scores_path is not None:
        variants, scores = pd.read_parquet(variants_path), pd.read_parquet(scores_path)
        test = with_base_model_score(test, variants, scores, str(scores_path))
    if calibration_rows_path is not None:
        labelled = pd.concat([pd.read_parquet(path) for path in labelled_paths], ignore_index=True)
        if scores is not None:
            labelled = with_base_model_score(labelled, variants, scores, str(scores_path))
        Path(calibration_rows_path).parent.mkdir(parents=True, exist_ok=True)
        spliceai_raw_table(labelled).to_parquet(calibration_rows_path, index=False)
    table = spliceai_raw_table(test)
    scored = table["scored"].to_numpy()
    for path in (predictions_path, history_path, training_path):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(predictions_path, index=False)
    validation_counts = None
    if val_path is not None and val_predictions_path is not None:
        val = pd.read_parquet(val_path)
        if scores is not None:
            val = with_base_model_score(val, variants, scores, str(scores_path))
        spliceai_raw_table(val).to_parquet(val_predictions_path, index=False)
        validation_counts = {cls: int((val["label"] == cls).sum()) for cls in ("Splice-altering", "Normal")}
    write_history([], history_path)
    info = {"experiment": experiment, "model": BASELINE, "status": "no training",
            "stopped_epoch": None, "max_epochs": None, "best_epoch": None, "training_seconds": 0.0,
            "device": None, "n_parameters": 0, "threshold": None, "threshold_selection": None,
            # the targets of every trained model are the primary's own delta: no correlation with itself (an
            # additional base model's delta is another model's, so its correlation with the targets is shown)
            "score_scale": "delta", "target_is_own_output": scores_path is None, "reads_base_model_delta": False,
            "note": (f"raw base-model score{'' if scores_path is None else f' ({scores_path})'}; "
                     f"{int((~scored).sum())} of {len(test)} test variants unscored (score 0.0)"),
            "validation_counts": validation_counts,
            "config": {}, "code_version": code_version()}
    Path(training_path).write_text(json.dumps(info, indent=2) + "\n")
    log.info("%s: %d test variants, %d unscored", experiment, len(test), int((~scored).sum()))
    return table
