"""The one training loop shared by every trainable model.

Models follow the interface in docs/DESIGN.md ("The model interface"); the loop knows
nothing about their insides: it asks ``parameter_groups(base_lr)`` for per-group learning
rates (frozen parts are left out), else trains every parameter with ``requires_grad``.

Reproducibility: python/numpy/torch are seeded and the batch order comes from a seeded
``torch.Generator``. Robustness: model.pt is written to a temporary name and renamed only
once training and checkpointing finished, so an interrupted run never leaves a file that
looks complete. Model choice is on validation only (early stopping, binary threshold).
"""
from __future__ import annotations

import copy
import json
import logging
import math
import random
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from sklearn.metrics import precision_recall_curve, roc_auc_score, roc_curve

from ..common.device import resolve_device
from ..common.errors import UserError
from ..common.files import write_atomically
from ..common.provenance import code_version
from ..config import registry
from ..config.prevalence import Prevalence, assumed_prevalence
from ..config.settings import as_dict
from .datasets import SplitData, load_windows, make_split_data
from .predictions import autocast, predict_split, write_history
from .targets import cap_rows

log = logging.getLogger("validsplice.training.loop")

# Which train/val tables an experiment reads (training_rows, schema's training.defaults): "balanced" =
# targets' train/val.parquet (balanced by sampling when targets.balance is true); "all_labelled" = every
# Splice-altering / Normal row with a target (train_labelled / val_labelled.parquet), for models that
# weight classes instead.


def seed_everything(seed: int) -> torch.Generator:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


def safe_roc_auc(labels: np.ndarray, scores: np.ndarray) -> float:
    labels = np.asarray(labels)
    if len(np.unique(labels)) < 2 or not np.all(np.isfinite(scores)):
        return float("nan")
    return float(roc_auc_score(labels, scores))


def prevalence_weights(labels: np.ndarray, prevalence: float | None) -> np.ndarray | None:
    """Sample weights that give ``labels`` (1 positive, 0 negative) the class ratio ``prevalence``.

    The validation split is balanced by sampling (``targets.balance_classes``), the test split
    is not; a threshold that maximises F1 on the balanced copy is tuned for the wrong class
    ratio. Weighting positives by prevalence / p_val and negatives by (1 - prevalence) / (1 - p_val)
    makes every count-based criterion behave as on an unbalanced copy with that prevalence.
    None when no re-weighting is asked for or possible (one class only).
    """
    labels = np.asarray(labels).astype(int)
    if prevalence is None or labels.size == 0:
        return None
    p_val = float(labels.mean())
    if not 0.0 < p_val < 1.0:
        return None
    prevalence = float(prevalence)
    if not 0.0 < prevalence < 1.0:
        raise ValueError(f"prevalence must lie strictly between 0 and 1, got {prevalence}")
    return np.where(labels == 1, prevalence / p_val, (1.0 - prevalence) / (1.0 - p_val))


def choose_threshold(scores: np.ndarray, labels: np.ndarray, rule: str,
                     prevalence: float | None = None) -> float:
    """Decision threshold (predict positive when score >= threshold) maximising F1 or Youden's J.

    Called on the validation split only; the test split never influences it, except through
    ``prevalence``: the share of positives the threshold is tuned for (the validation rows are
    re-weighted to it, ``prevalence_weights``; None = the validation split's own ratio).
    F1 depends on the class ratio; Youden's J does not (the weights leave it unchanged).
    """
    scores, labels = np.asarray(scores, dtype=float), np.asarray(labels).astype(int)
    if len(np.unique(labels)) < 2:
        return 0.5
    weights = prevalence_weights(labels, prevalence)
    if rule == "f1":
        precision, recall, thresholds = precision_recall_curve(labels, scores, sample_weight=weights)
        f1 = 2 * precision[:-1] * recall[:-1] / np.maximum(precision[:-1] + recall[:-1], 1e-12)
        return float(thresholds[int(np.argmax(f1))])
    if rule == "youden":
        fpr, tpr, thresholds = roc_curve(labels, scores, sample_weight=weights)
        finite = np.isfinite(thresholds)
        j = np.where(finite, tpr - fpr, -np.inf)
        return float(thresholds[int(np.argmax(j))])
    raise UserError(f"settings: threshold_rule {rule!r} unknown; use 'f1' or 'youden'.")


def select_threshold(val_scores: np.ndarray, val_labels: np.ndarray, prevalence: Prevalence,
                     rule: str) -> tuple[float, dict]:
    """The binary threshold, chosen on validation re-weighted to the assumed prevalence.

    ``prevalence`` comes from ``prevalence.assumed_prevalence`` (the labelled training data's
    Splice-altering share, the one definition shared with calibration); nothing of the test split
    is used. Returns the threshold and the record written to training.json.
    """
    if not isinstance(prevalence, Prevalence):
        raise TypeError("select_threshold takes prevalence.assumed_prevalence(target_summary), "
                        f"not {type(prevalence).__name__}")
    val_labels = np.asarray(val_labels).astype(int)
    val_prevalence = float(val_labels.mean()) if val_labels.size else None
    value, source = prevalence.value, prevalence.source
    if value is None:
        value, source = val_prevalence, f"validation split's own ratio ({prevalence.source})"
    threshold = choose_threshold(val_scores, val_labels, rule, prevalence=value)
    selection = {"rule": rule, "on": "validation split", "assumed_prevalence": value,
                 "prevalence_source": source, "validation_prevalence": val_prevalence,
                 "n_validation": int(val_labels.size)}
    log.info("decision threshold %.4f (%s on validation re-weighted to prevalence %s; %s)", threshold, rule,
             "n/a" if value is None else f"{value:.4f}", source)
    return threshold, selection


def optimizer_groups(model, base_lr: float) -> list[dict]:
    if hasattr(model, "parameter_groups"):
        groups = [{**g, "params": [p for p in g["params"] if p.requires_grad]}
                  for g in model.parameter_groups(base_lr)]
    else:
        groups = [{"params": [p for p in model.parameters() if p.requires_grad], "lr": base_lr}]
    groups = [g for g in groups if g["params"]]
    if not groups:
        raise UserError("The model has no trainable parameters (everything frozen); check trainable_blocks.")
    for g in groups:
        g.setdefault("lr", base_lr)
    return groups


@torch.no_grad()
def evaluate(model, data: SplitData, batch_size: int, device: torch.device) -> tuple[float, np.ndarray]:
    """Mean loss over the split (weighted by batch size) and the score of every row."""
    model.eval()
    total, scores = 0.0, []
    for batch in data.batches(batch_size, device):
        with autocast(device):
            out = model(batch)
            loss = model.loss(out, batch)
        total += float(loss) * len(batch["ref"])
        scores.append(out["score"].float().cpu().numpy())
    return total / max(len(data), 1), (np.concatenate(scores) if scores else np.zeros(0))


@dataclass
class FitResult:
    history: list[dict] = field(default_factory=list)
    best_epoch: int = 0
    stopped_epoch: int = 0
    best_val_loss: float = float("inf")
    best_val_metric: float = float("nan")
    restored_best: bool = False
    seconds: float = 0.0
    # a model that starts from the calibrated base model (models.offset): validation loss and ROC-AUC of the
    # offset alone (epoch 0), and whether any epoch's correction beat it; None for every other model
    offset_val_loss: float | None = None
    offset_val_metric: float | None = None
    beats_offset: bool | None = None


def starts_from_base_model(model) -> bool:
    """True for a model whose untrained output is calibrated SpliceAI (an active ``models.offset``)."""
    offset = getattr(model, "offset", None)
    return bool(getattr(offset, "is_active", False))


def fit(model, train: SplitData, val: SplitData, settings, device: torch.device,
        generator: torch.Generator, on_epoch_end=None) -> FitResult:
    """Train with AdamW + one-cycle, gradient clipping, early stopping on validation loss.

    With early stopping the weights of the best epoch are restored; without it every epoch
    runs and the final weights are kept (the best epoch is still reported). A model that starts
    from the calibrated base model (``starts_from_base_model``) is evaluated before training too:
    that is epoch 0, the offset alone, so early stopping keeps the offset when no epoch's
    correction beats it on validation (how the correction's strength is chosen on validation), and
    ``beats_offset`` records whether one did.
    ``settings``: the experiment's settings object (``models.registry.model_settings``).
    ``on_epoch_end(epoch, model, record)`` is a hook for tests and callers.
    """
    epochs, batch_size = int(settings.epochs), int(settings.batch_size)
    if len(train) == 0 or len(val) == 0:
        raise UserError(f"No training ({len(train)}) or validation ({len(val)}) rows; check the targets.")
    model.to(device)
    groups = optimizer_groups(model, float(settings.learning_rate))
    optimizer = torch.optim.AdamW(groups, lr=float(settings.learning_rate), weight_decay=float(settings.weight_decay))
    steps_per_epoch = math.ceil(len(train) / batch_size)
    scheduler = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=[g["lr"] for g in groups], total_steps=max(epochs * steps_per_epoch, 1))
    trainable = [p for g in groups for p in g["params"]]
    clip = settings.grad_clip
    patience, min_delta = int(settings.patience), float(settings.min_delta)
    # OneCycle warms the learning rate up over its first 30 % of steps (pct_start): an epoch of the warm-up
    # that does not beat the best is not held against the model (issue 19: from the offset, the first epochs
    # at a 25x lower rate cannot beat epoch 0, and a patience of 3 stopped training before it had started)
    warmup_epochs = math.ceil(0.3 * epochs)
    progress_seconds = float(settings.progress_seconds)

    result, best_state, bad_epochs = FitResult(), None, 0
    t_start = time.perf_counter()
    if starts_from_base_model(model):
        offset_loss, offset_scores = evaluate(model, val, batch_size, device)
        result.offset_val_loss, result.offset_val_metric = offset_loss, safe_roc_auc(val.label, offset_scores)
        result.best_val_loss, result.best_val_metric, result.best_epoch = offset_loss, result.offset_val_metric, 0
        best_state = copy.deepcopy(model.state_dict())
        log.info("epoch 0 (the calibrated base-model offset alone): val loss %.5f, val ROC-AUC %.4f",
                 offset_loss, result.offset_val_metric)
    for epoch in range(1, epochs + 1):
        t_epoch = time.perf_counter()
        model.train()
        total, seen, last_note = 0.0, 0, t_epoch
        for step, batch in enumerate(train.batches(batch_size, device, generator), start=1):
            with autocast(device):
                loss = model.loss(model(batch), batch)
            if not torch.isfinite(loss):
                raise UserError(f"Training diverged at epoch {epoch}, step {step}: loss is {float(loss)}. "
                                "Lower learning_rate or grad_clip in the experiment's settings.")
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if clip:
                torch.nn.utils.clip_grad_norm_(trainable, float(clip))
            optimizer.step()
            scheduler.step()
            total += loss.item() * len(batch["ref"])
            seen += len(batch["ref"])
            if time.perf_counter() - last_note > progress_seconds:
                last_note = time.perf_counter()
                log.info("epoch %d: step %d/%d, train loss %.5f, %.0f s", epoch, step, steps_per_epoch,
                         total / seen, last_note - t_epoch)
        val_loss, val_scores = evaluate(model, val, batch_size, device)
        val_metric = safe_roc_auc(val.label, val_scores)
        seconds = time.perf_counter() - t_epoch
        record = {"epoch": epoch, "train_loss": total / max(seen, 1), "val_loss": val_loss,
                  "val_metric": val_metric, "learning_rate": optimizer.param_groups[0]["lr"], "seconds": seconds}
        result.history.append(record)
        result.stopped_epoch = epoch
        if val_loss < result.best_val_loss - min_delta:
            result.best_val_loss, result.best_val_metric, result.best_epoch = val_loss, val_metric, epoch
            best_state = copy.deepcopy(model.state_dict())
            bad_epochs = 0
        elif epoch > warmup_epochs:
            bad_epochs += 1
        eta = (time.perf_counter() - t_start) / epoch * (epochs - epoch)
        log.info("epoch %d/%d: train loss %.5f, val loss %.5f, val ROC-AUC %.4f, %.1f s, ETA %.0f s%s",
                 epoch, epochs, record["train_loss"], val_loss, val_metric, seconds, eta,
                 " (best)" if result.best_epoch == epoch else "")
        if on_epoch_end is not None:
            on_epoch_end(epoch, model, record)
        if settings.early_stopping and bad_epochs >= patience:
            log.info("early stopping after epoch %d (no val loss improvement > %g for %d epochs)",
                     epoch, min_delta, patience)
            break
    if settings.early_stopping and best_state is not None:
        model.load_state_dict(best_state)
        result.restored_best = True
        log.info("restored the weights of epoch %d (val loss %.5f)", result.best_epoch, result.best_val_loss)
    result.seconds = time.perf_counter() - t_start
    if result.offset_val_loss is not None:
        final = result.best_val_loss if result.restored_best else result.history[-1]["val_loss"]
        result.beats_offset = bool(final < result.offset_val_loss - min_delta)
        if not result.beats_offset:
            log.warning("no epoch beat the calibrated base-model offset on validation (val loss %.5f vs %.5f): "
                        "%s", final, result.offset_val_loss,
                        "the model IS calibrated SpliceAI" if result.restored_best else "final weights kept")
    return result


def save_checkpoint_atomic(payload: dict, path) -> None:
    """torch.save to a temporary file in the same folder, then rename (atomic on POSIX)."""
    write_atomically(path, lambda tmp: torch.save(payload, tmp))


def _read_table(path, name) -> pd.DataFrame:
    table = pd.read_parquet(path)
    required = ["variant_id", "label", "split", "window_row", "profile_row", "indel_length",
                "delta_neither", "delta_acceptor", "delta_donor", "target_max_abs_delta"]
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise UserError(f"{path}: {name} table lacks column(s) {', '.join(missing)}; re-run build_targets.")
    return table


def read_target_summary(path) -> dict:
    if path is None:
        return {}
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read the targets summary ({exc}); re-run build_targets.") from None


def validation_counts(table: pd.DataFrame) -> dict:
    """Class counts of the validation rows the experiment used (balanced or all labelled), recorded in training.json."""
    return {cls: int((table["label"] == cls).sum()) for cls in ("Splice-altering", "Normal")}


def set_base_offset(model, calibrator_path, experiment: str) -> None:
    """Switch on the model's base-model offset with the baseline's calibrator (spliceai_raw's calibrator.json)."""
    from .calibration import Calibrator

    if calibrator_path is None:
        raise UserError(f"experiment {experiment!r}: base_offset is true but no base-model calibrator was given "
                        "(results/models/spliceai_raw/calibrator.json, from calibrate_model); set base_offset: false "
                        "to start from 0.")
    model.set_base_calibrator(Calibrator.load(calibrator_path))


def offset_metrics(result: FitResult) -> dict:
    """training.json's record of the offset: its validation loss / ROC-AUC and whether training beat it."""
    if result.offset_val_loss is None:
        return {}
    return {"offset_val_loss": result.offset_val_loss, "offset_val_roc_auc": result.offset_val_metric,
            "beats_offset": result.beats_offset}


def extra_profile_models(model_name: str, experiment: str, profile_base_models, extra_profiles_paths
                         ) -> tuple[list[str], list[str]]:
    """(every base model whose profile the model reads, primary first; the additional ones), checked against
    the aligned profile files given ([] and [] for a model that reads the primary's profile only)."""
    names = [str(n) for n in profile_base_models or []]
    paths = list(extra_profiles_paths or [])
    if names and not registry.MODELS[model_name].reads_profiles:
        raise UserError(f"experiment {experiment!r}: model {model_name!r} reads the primary base model's profile "
                        f"only, not those of {', '.join(names[1:]) or names[0]}.")
    if len(names[1:]) != len(paths):
        raise UserError(f"experiment {experiment!r}: {len(names[1:])} additional base model(s) "
                        f"({', '.join(names[1:]) or 'none'}) but {len(paths)} aligned profile file(s).")
    return names, names[1:]


def stack_profiles(base_profiles, base_profiles_path, names: list[str], paths) -> np.ndarray:
    """The primary's base profiles with each additional model's (align_base_model_profiles) as channels after
    them: (n_windows, 2D+1, 2 x (1 + len(names))) float32; the files must share rows and length."""
    if base_profiles is None:
        raise UserError("the additional base models' profiles need the primary's base_profiles.npy (build_targets).")
    arrays = [np.asarray(base_profiles, dtype=np.float32)]
    for name, path in zip(names, paths):
        extra = np.load(path, mmap_mode="r")
        if extra.shape != base_profiles.shape:
            raise UserError(f"{path}: {name}'s aligned profiles have shape {extra.shape} but {base_profiles_path} "
                            f"has {base_profiles.shape} (rows = the variant table's, ±base_model.distance); re-run "
                            "align_base_model_profiles and build_targets.")
        arrays.append(np.asarray(extra, dtype=np.float32))
    return np.concatenate(arrays, axis=2)


def train_experiment(*, train_path, val_path, test_path, profiles_path, windows_path,
                     model_path, history_path, predictions_path, training_path, base_profiles_path=None,
                     train_labelled_path=None, val_labelled_path=None,
                     val_predictions_path=None, target_summary_path=None, base_calibrator_path=None,
                     experiment: str, model_name: str, settings: dict | None = None,
                     threads: int | None = None, on_epoch_end=None,
                     profile_base_models=(), extra_profiles_paths=()) -> dict:
    """Train one experiment and write model.pt, history.tsv, predictions.parquet (test),
    val_predictions.parquet (the rows of val.parquet, for calibration) and training.json.

    ``settings``: the keys the experiment sets (general training keys and the model's own);
    the rest take their defaults (``validsplice.config.settings``); an unknown key is a UserError.
    ``target_summary_path`` (results/targets/summary.json) gives the assumed prevalence of a
    probability model's threshold; without it the validation split's own ratio is used.
    ``base_calibrator_path`` (results/models/spliceai_raw/calibrator.json): the calibrated base model a
    classifier with ``base_offset`` starts from (``models.offset``); required by such a model.
    ``profile_base_models`` (a ``reads_profiles`` model: the primary's name, then config base_models') and
    ``extra_profiles_paths`` (the additional ones' aligned profiles, align_base_model_profiles, same order):
    their channels follow the primary's in the model's base profile; recorded in training.json.
    """
    if not registry.check_model_name(model_name, where=f"experiment {experiment!r}").trained:
        raise UserError(f"experiment {experiment!r}: model {model_name!r} is not trained; use baseline_predictions.")
    config = registry.model_settings(model_name, settings, where=f"experiment {experiment!r}")
    # val_predictions.parquet lists the rows of val.parquet for every experiment, whatever rows it trained
    # on: calibration-based rows (ensembles) align their members' validation predictions variant by variant.
    shared_val_path = val_path
    if config.training_rows == "all_labelled":
        if train_labelled_path is None or val_labelled_path is None:
            raise UserError(f"experiment {experiment!r}: training_rows all_labelled needs train_labelled.parquet "
                            "and val_labelled.parquet from build_targets.")
        train_path, val_path = train_labelled_path, val_labelled_path
    model_path = Path(model_path)
    if model_path.exists():
        model_path.unlink()  # a stale checkpoint must not survive a failed rerun
    if threads:
        torch.set_num_threads(int(threads))
    generator = seed_everything(int(config.seed))
    device = torch.device(resolve_device(config.device, where="training setting device"))

    tables = {name: _read_table(p, name) for name, p in (("train", train_path), ("val", val_path), ("test", test_path))}
    if config.max_train_samples is not None:
        before = len(tables["train"])
        tables["train"] = cap_rows(tables["train"], int(config.max_train_samples), np.random.default_rng(int(config.seed)))
        log.info("max_train_samples %s: %d -> %d training rows", config.max_train_samples, before,
                 len(tables["train"]))
    windows = load_windows(windows_path)
    profiles = np.load(profiles_path, mmap_mode="r")
    window_length = int(config.window_length or windows["ref"].shape[1])
    profile_length = int(profiles.shape[1])
    base_profiles = None if base_profiles_path is None else np.load(base_profiles_path, mmap_mode="r")
    profile_base_models, extra_base_models = extra_profile_models(model_name, experiment, profile_base_models,
                                                                  extra_profiles_paths)
    if extra_base_models:
        base_profiles = stack_profiles(base_profiles, base_profiles_path, extra_base_models, extra_profiles_paths)
    profile_channels = 2 if base_profiles is None else int(base_profiles.shape[2])
    data = {name: make_split_data(t, windows, profiles, window_length, str(p), str(windows_path), base_profiles)
            for (name, t), p in zip(tables.items(), (train_path, val_path, test_path))}
    shared_val = data["val"]
    if val_predictions_path is not None and str(shared_val_path) != str(val_path):
        shared_val = make_split_data(_read_table(shared_val_path, "val"), windows, profiles, window_length,
                                     str(shared_val_path), str(windows_path), base_profiles)
    del windows

    model = registry.build_model(model_name, config, window_length=window_length, profile_length=profile_length,
                                 profile_channels=profile_channels)
    if hasattr(model, "set_class_balance"):  # class weighting from the training table's class counts
        model.set_class_balance(data["train"].label)
    if getattr(config, "base_offset", False):
        set_base_offset(model, base_calibrator_path, experiment)
    n_params = sum(p.numel() for p in model.parameters())
    n_trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    log.info("%s (%s): %d parameters (%d trainable), window %d, profile %d, device %s; train %d, val %d, test %d",
             experiment, model_name, n_params, n_trainable, window_length, profile_length, device,
             len(data["train"]), len(data["val"]), len(data["test"]))

    result = fit(model, data["train"], data["val"], config, device, generator, on_epoch_end=on_epoch_end)

    scale = registry.score_scale(model)
    threshold, threshold_selection = None, None
    val_predictions = predict_split(model, data["val"], int(config.batch_size), device)
    if scale == "probability":  # a classifier: called at a threshold chosen on validation
        prevalence = assumed_prevalence(read_target_summary(target_summary_path))
        threshold, threshold_selection = select_threshold(val_predictions["score"].to_numpy(), data["val"].label,
                                                          prevalence, config.threshold_rule)

    metrics = {"best_val_loss": result.best_val_loss, "best_val_roc_auc": result.best_val_metric,
               "best_epoch": result.best_epoch, "stopped_epoch": result.stopped_epoch,
               "weights": "best epoch" if result.restored_best else "final epoch", "threshold": threshold,
               **offset_metrics(result)}
    version = code_version()
    config = as_dict(config)
    # which base models' profiles the network reads, in channel order (the checkpoint rebuilds from it)
    profile_info = ({"profile_channels": profile_channels, "base_model_profiles": profile_base_models}
                    if profile_base_models else {})
    save_checkpoint_atomic({"state_dict": model.state_dict(), "model": model_name, "params": config,
                            # the resolved lengths last: the settings' window_length may be None ("use the stored")
                            "config": {**config, "experiment": experiment, "window_length": window_length,
                                       "profile_length": profile_length, **profile_info},
                            "metrics": metrics, "code_version": version}, model_path)

    predictions = predict_split(model, data["test"], int(config["batch_size"]), device)
    Path(predictions_path).parent.mkdir(parents=True, exist_ok=True)
    predictions.to_parquet(predictions_path, index=False)
    if val_predictions_path is not None:
        if shared_val is not data["val"]:
            val_predictions = predict_split(model, shared_val, int(config["batch_size"]), device)
        val_predictions.to_parquet(val_predictions_path, index=False)
    write_history(result.history, history_path)
    info = {
        "experiment": experiment, "model": model_name, "status": "trained",
        "stopped_epoch": result.stopped_epoch, "max_epochs": int(config["epochs"]), "best_epoch": result.best_epoch,
        "training_seconds": round(result.seconds, 3), "device": str(device), "n_parameters": int(n_params),
        "n_trainable_parameters": int(n_trainable), "threshold": threshold,
        "threshold_selection": threshold_selection, "score_scale": scale, "target_is_own_output": False,
        "reads_base_model_delta": registry.reads_base_model_delta(model), "note": getattr(model, "note", None),
        "validation_counts": validation_counts(tables["val"]),
        "starts_from_base_model": result.offset_val_loss is not None, "beats_offset": result.beats_offset,
        "extra_base_models": extra_base_models, **profile_info,
        "metrics": metrics, "config": {**config, "window_length": window_length, "profile_length": profile_length},
        "code_version": version,
    }
    Path(training_path).write_text(json.dumps(info, indent=2, default=str) + "\n")
    log.info("wrote %s (%d test predictions)", predictions_path, len(predictions))
    return info
