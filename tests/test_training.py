"""The shared training loop, prediction tables and the spliceai_raw baseline."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
from helpers import TASK_L, TASK_SETTINGS, run_experiment, write_task
from torch import nn

import validsplice.config.registry as registry
import validsplice.training.loop as training
from validsplice.common.rule_io import UserError
from validsplice.training.datasets import crop_windows
from validsplice.training.predictions import HISTORY_COLUMNS, PREDICTION_COLUMNS, baseline_predictions


def test_gated_cnn_learns_a_motif_task(tmp_path):
    paths = write_task(tmp_path)
    info, files = run_experiment(paths, tmp_path, settings={"early_stopping": False})
    history = pd.read_csv(files["history_path"], sep="\t")
    assert list(history.columns) == HISTORY_COLUMNS
    assert len(history) == TASK_SETTINGS["epochs"] and info["stopped_epoch"] == TASK_SETTINGS["epochs"]
    assert history["train_loss"].iloc[-1] < 0.5 * history["train_loss"].iloc[0]
    pred = pd.read_parquet(files["predictions_path"])
    assert list(pred.columns) == PREDICTION_COLUMNS
    assert set(pred["label"]) == {"Splice-altering", "Normal", "Low-frequency", "Conflicting"}
    assert (pred["split"] == "test").all() and pred["scored"].all()
    assert len(pred) == len(pd.read_parquet(paths["test"]))
    headline = pred[pred["label"].isin(["Splice-altering", "Normal"])]
    auc = training.safe_roc_auc((headline["label"] == "Splice-altering").to_numpy(), headline["score"].to_numpy())
    assert auc > 0.9
    saved = json.loads(files["training_path"].read_text())
    for key in ("experiment", "model", "status", "stopped_epoch", "max_epochs", "best_epoch", "training_seconds",
                "device", "n_parameters", "threshold", "note", "config", "code_version"):
        assert key in saved
    assert saved["status"] == "trained" and saved["threshold"] is None
    assert saved["code_version"].startswith("validsplice")
    ckpt = torch.load(files["model_path"], weights_only=False)
    assert set(ckpt) >= {"state_dict", "model", "params", "config", "metrics", "code_version"}
    assert not list(files["model_path"].parent.glob(".model.pt.tmp*"))


def test_paired_model_trains_and_predicts_seed_columns(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    info, files = run_experiment(paths, tmp_path, model="gated_cnn_paired", settings={"epochs": 2})
    pred = pd.read_parquet(files["predictions_path"])
    assert pred[["pred_neither", "pred_acceptor", "pred_donor", "pred_max_abs_delta"]].notna().all().all()
    assert np.allclose(pred["pred_neither"], -(pred["pred_acceptor"] + pred["pred_donor"]), atol=1e-5)


# ---------------------------------------------------------------- hand-made models for loop behaviour
class ScalarModel(nn.Module):
    """score = w for every row; loss pulls w toward the row's seed target (train 1.0, val 0.3)."""
    target_form = "seed"
    note = "scalar test model"

    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(torch.zeros(()))
        self.frozen = nn.Parameter(torch.ones(()), requires_grad=False)

    def forward(self, batch):
        seed = self.w.expand(len(batch["ref"]), 3)
        return {"seed": seed, "score": seed[:, 0] * self.frozen}

    def loss(self, outputs, batch):
        return ((outputs["seed"][:, 1] - batch["target_seed"][:, 1]) ** 2).mean()


def shift_targets(paths, train_value=1.0, val_value=0.3):
    for name, value in (("train", train_value), ("val", val_value)):
        t = pd.read_parquet(paths[name])
        t["delta_acceptor"] = value
        t.to_parquet(paths[name])


def test_early_stopping_restores_best_weights(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    shift_targets(paths)
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: ScalarModel())
    states = {}
    info, files = run_experiment(
        paths, tmp_path, settings={"epochs": 30, "learning_rate": 0.05, "patience": 3, "early_stopping": True},
        on_epoch_end=lambda epoch, model, rec: states.setdefault(epoch, model.w.item()))
    history = pd.read_csv(files["history_path"], sep="\t")
    best = int(history["val_loss"].idxmin()) + 1
    assert 1 < best < info["stopped_epoch"] < 30  # val loss rose after the best epoch and training stopped
    assert history["val_loss"].iloc[best:].min() > history["val_loss"].iloc[best - 1]
    assert info["best_epoch"] == best
    restored = torch.load(files["model_path"], weights_only=False)["state_dict"]["w"].item()
    assert restored == states[best] != states[info["stopped_epoch"]]
    assert info["note"] == "scalar test model" and info["n_trainable_parameters"] == 1


def test_without_early_stopping_all_epochs_run_best_epoch_reported(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    shift_targets(paths)
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: ScalarModel())
    info, _ = run_experiment(paths, tmp_path, settings={"epochs": 8, "learning_rate": 0.05, "patience": 1,
                                                        "early_stopping": False})
    assert info["stopped_epoch"] == 8 and 1 <= info["best_epoch"] <= 8
    assert info["metrics"]["weights"] == "final epoch"


def test_same_seed_same_history(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    runs = []
    for _ in range(2):
        info, files = run_experiment(paths, tmp_path, settings={"epochs": 2, "hidden_dim": 8, "n_layers": 1})
        runs.append(pd.read_csv(files["history_path"], sep="\t").drop(columns="seconds"))
    pd.testing.assert_frame_equal(*runs)


def test_interrupted_run_leaves_no_model_file(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "model.pt").write_text("stale checkpoint from an earlier run")
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: ScalarModel())

    def crash(epoch, model, record):
        if epoch == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_experiment(paths, tmp_path, settings={"epochs": 5}, on_epoch_end=crash)
    assert not (tmp_path / "out" / "model.pt").exists()
    assert not list((tmp_path / "out").glob("*model.pt*"))


class GContentClassifier(nn.Module):
    """score = sigmoid(a * (G fraction of the alt window - 0.5)): a fixed ranking of the rows."""
    target_form = "binary"

    def __init__(self):
        super().__init__()
        self.a = nn.Parameter(torch.tensor(4.0))

    def forward(self, batch):
        logit = self.a * ((batch["alt"] == 2).float().mean(dim=1) - 0.5)
        return {"logit": logit, "score": torch.sigmoid(logit)}

    def loss(self, outputs, batch):
        return nn.functional.binary_cross_entropy_with_logits(outputs["logit"], batch["label"])


def test_binary_threshold_chosen_on_validation_not_test(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 2, 2))
    windows = dict(np.load(paths["windows"]))
    rng = np.random.default_rng(5)
    tables = {k: pd.read_parquet(paths[k]) for k in ("val", "test")}
    # G fraction separates the classes at 0.3 on val but at 0.7 on test
    for name, (neg, pos) in (("val", (0.2, 0.4)), ("test", (0.6, 0.8))):
        t = tables[name]
        for row, label in zip(t["window_row"], t["label"]):
            frac = pos if label == "Splice-altering" else neg
            windows["alt"][row] = np.where(rng.random(TASK_L) < frac, 2, 0)
    np.savez(paths["windows"], **windows)
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: GContentClassifier())
    info, files = run_experiment(paths, tmp_path, model="binary_cnn", settings={"epochs": 1, "learning_rate": 1e-9})
    model = GContentClassifier()
    model.load_state_dict(torch.load(files["model_path"], weights_only=False)["state_dict"])
    from validsplice.training.datasets import load_windows, make_split_data
    from validsplice.training.predictions import run_model
    w, profiles = load_windows(paths["windows"]), np.load(paths["profiles"])
    thresholds = {}
    for name in ("val", "test"):
        t = tables[name][tables[name]["label"].isin(["Splice-altering", "Normal"])]
        data = make_split_data(t, w, profiles)
        thresholds[name] = training.choose_threshold(run_model(model, data, 64, torch.device("cpu"))["score"],
                                                     data.label, "f1")
    assert info["threshold"] == pytest.approx(thresholds["val"])
    assert abs(thresholds["val"] - thresholds["test"]) > 0.1
    assert json.loads(files["training_path"].read_text())["threshold"] == pytest.approx(thresholds["val"])


def test_choose_threshold_rules():
    scores = np.array([0.1, 0.2, 0.35, 0.4, 0.8, 0.9])
    labels = np.array([0, 0, 0, 1, 1, 1])
    assert training.choose_threshold(scores, labels, "f1") == pytest.approx(0.4)
    assert training.choose_threshold(scores, labels, "youden") == pytest.approx(0.4)
    with pytest.raises(UserError, match="threshold_rule"):
        training.choose_threshold(scores, labels, "magic")


def test_threshold_reweighted_to_prevalence():
    # balanced validation with overlapping scores: the F1-best threshold depends on the class ratio
    rng = np.random.default_rng(0)
    labels = np.r_[np.ones(500), np.zeros(500)].astype(int)
    scores = np.r_[rng.normal(0.6, 0.15, 500), rng.normal(0.4, 0.15, 500)]
    balanced = training.choose_threshold(scores, labels, "f1")
    assert training.choose_threshold(scores, labels, "f1", prevalence=0.5) == pytest.approx(balanced)
    rare = training.choose_threshold(scores, labels, "f1", prevalence=0.1)
    assert rare > balanced + 0.1  # few positives: calling a variant needs a higher score
    # re-weighting equals F1 on an explicit unbalanced copy (every positive once, every negative 9 times)
    copy_scores, copy_labels = np.r_[scores[:500], np.tile(scores[500:], 9)], np.r_[labels[:500], np.zeros(4500, int)]
    assert rare == pytest.approx(training.choose_threshold(copy_scores, copy_labels, "f1"))
    # Youden's J does not depend on the class ratio
    assert training.choose_threshold(scores, labels, "youden", prevalence=0.1) == pytest.approx(
        training.choose_threshold(scores, labels, "youden"))


def test_binary_threshold_assumes_the_training_prevalence_never_the_test_split(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 2, 2))
    # the labelled training data (before balancing) has 1 Splice-altering per 4 Normal
    summary = json.loads(paths["target_summary"].read_text())
    summary["per_split_before_balancing"]["train"] = {"Splice-altering": 20, "Normal": 80}
    summary["per_split_before_balancing"]["val"] = {"Splice-altering": 5, "Normal": 20}
    paths["target_summary"].write_text(json.dumps(summary))
    windows = dict(np.load(paths["windows"]))
    rng = np.random.default_rng(7)
    val = pd.read_parquet(paths["val"])
    for row, label in zip(val["window_row"], val["label"]):  # overlapping classes on validation
        windows["alt"][row] = np.where(rng.random(TASK_L) < (0.55 if label == "Splice-altering" else 0.45), 2, 0)
    np.savez(paths["windows"], **windows)
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: GContentClassifier())

    def threshold_with_test(test):
        test.to_parquet(paths["test"])
        info, files = run_experiment(paths, tmp_path, model="binary_cnn", settings={"epochs": 1, "learning_rate": 1e-9})
        return info, files

    info, files = threshold_with_test(pd.read_parquet(paths["test"]))
    from validsplice.training.datasets import load_windows, make_split_data
    from validsplice.training.predictions import run_model
    model = GContentClassifier()
    model.load_state_dict(torch.load(files["model_path"], weights_only=False)["state_dict"])
    data = make_split_data(val, load_windows(paths["windows"]), np.load(paths["profiles"]))
    val_scores = run_model(model, data, 64, torch.device("cpu"))["score"]
    expected = training.choose_threshold(val_scores, data.label, "f1", prevalence=0.2)
    assert expected != pytest.approx(training.choose_threshold(val_scores, data.label, "f1"))
    saved = json.loads(files["training_path"].read_text())
    assert saved["threshold"] == pytest.approx(expected)
    assert saved["score_scale"] == "probability" and saved["target_is_own_output"] is False
    sel = saved["threshold_selection"]
    assert sel["assumed_prevalence"] == pytest.approx(0.2)
    assert sel["validation_prevalence"] == pytest.approx(0.5) and sel["rule"] == "f1"
    assert "labelled training data" in sel["prevalence_source"]
    # unbalancing the test split changes nothing: its class ratio is not used any more
    test = pd.read_parquet(paths["test"])
    normal = test.index[test["label"] == "Normal"]
    info2, _ = threshold_with_test(test.drop(normal[3:]).reset_index(drop=True))
    assert info2["threshold"] == info["threshold"]


def test_select_threshold_takes_the_shared_prevalence():
    from validsplice.training.calibration import Prevalence
    scores, labels = np.array([0.1, 0.4, 0.35, 0.8]), np.array([0, 0, 1, 1])
    with pytest.raises(TypeError, match="assumed_prevalence"):
        training.select_threshold(scores, labels, pd.DataFrame({"label": []}), "f1")
    t, sel = training.select_threshold(scores, labels, Prevalence(None, "no counts"), "f1")
    assert sel["assumed_prevalence"] == 0.5 and "validation split's own ratio" in sel["prevalence_source"]


def test_validation_predictions_written_for_calibration(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    info, files = run_experiment(paths, tmp_path, settings={"epochs": 1, "hidden_dim": 8, "n_layers": 1})
    val_pred = pd.read_parquet(files["val_predictions_path"])
    val = pd.read_parquet(paths["val"])
    assert list(val_pred.columns) == PREDICTION_COLUMNS
    assert val_pred["variant_id"].tolist() == val["variant_id"].tolist() and (val_pred["split"] == "val").all()
    assert np.isfinite(val_pred["score"]).all()
    counts = {c: int((val["label"] == c).sum()) for c in ("Splice-altering", "Normal")}
    assert json.loads(files["training_path"].read_text())["validation_counts"] == counts


def test_delta_models_record_their_score_scale(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    info, files = run_experiment(paths, tmp_path, settings={"epochs": 1, "hidden_dim": 8, "n_layers": 1})
    saved = json.loads(files["training_path"].read_text())
    assert saved["score_scale"] == "delta" and saved["threshold"] is None and saved["threshold_selection"] is None
    assert saved["target_is_own_output"] is False and saved["reads_base_model_delta"] is False
    from validsplice.models.gated_cnn import PairedDeltaProfilePredictor
    settings = registry.model_settings("gated_cnn_paired", {"use_base_model": True, "hidden_dim": 8, "n_layers": 1})
    assert registry.reads_base_model_delta(PairedDeltaProfilePredictor(settings, 41, 11))
    assert registry.score_scale(registry.build_model("binary_cnn", {"hidden_dim": 8, "n_layers": 1},
                                                     window_length=41, profile_length=11)) == "probability"


def test_crop_windows_centred_and_too_long_rejected():
    codes = np.arange(11, dtype=np.uint8)[None, :]
    cropped = crop_windows(codes, 5)
    assert cropped.tolist() == [[3, 4, 5, 6, 7]] and cropped[0, 5 // 2] == codes[0, 11 // 2]
    with pytest.raises(UserError, match="window_length 13"):
        crop_windows(codes, 13)


def test_unknown_model_lists_known_models(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    with pytest.raises(UserError, match="gated_cnn_paired"):
        run_experiment(paths, tmp_path, model="transformer_xl")


def test_max_train_samples_caps_training_rows(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    seen = []
    real_fit = training.fit
    monkeypatch.setattr(training, "fit", lambda model, train, *a, **k: seen.append(len(train)) or real_fit(model, train, *a, **k))
    run_experiment(paths, tmp_path, settings={"epochs": 1, "max_train_samples": 10, "hidden_dim": 8, "n_layers": 1})
    assert seen == [10]


def test_spliceai_raw_predictions(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    test = pd.read_parquet(paths["test"])
    test.loc[0, "spliceai_max_ds"] = np.nan
    test.to_parquet(paths["test"])
    out = {k: tmp_path / "raw" / f for k, f in (("predictions_path", "predictions.parquet"),
                                               ("history_path", "history.tsv"), ("training_path", "training.json"))}
    baseline_predictions(test_path=paths["test"], val_path=paths["val"], experiment="spliceai_raw",
                         val_predictions_path=tmp_path / "raw" / "val_predictions.parquet", **out)
    pred = pd.read_parquet(out["predictions_path"])
    val = pd.read_parquet(paths["val"])
    val_pred = pd.read_parquet(tmp_path / "raw" / "val_predictions.parquet")
    np.testing.assert_allclose(val_pred["score"], val["spliceai_max_ds"])
    assert json.loads(out["training_path"].read_text())["validation_counts"]["Normal"] == int(
        (val["label"] == "Normal").sum())
    assert list(pred.columns) == PREDICTION_COLUMNS and len(pred) == len(test)
    assert pred.loc[0, "score"] == 0.0 and not pred.loc[0, "scored"]
    assert pred["scored"].iloc[1:].all()
    np.testing.assert_allclose(pred["score"].iloc[1:], test["spliceai_max_ds"].iloc[1:])
    assert pred["pred_donor"].isna().all()
    assert list(pd.read_csv(out["history_path"], sep="\t").columns) == HISTORY_COLUMNS
    info = json.loads(out["training_path"].read_text())
    assert info["status"] == "no training" and info["model"] == "spliceai_raw"
    # its prediction is the targets' source: evaluation must not correlate it with itself
    assert info["target_is_own_output"] is True and info["score_scale"] == "delta"


class GroupedModel(ScalarModel):
    """HyenaDNA-like: a frozen backbone, an encoder group at a lower learning rate, a head."""

    def __init__(self):
        super().__init__()
        self.backbone = nn.Linear(3, 3)
        self.backbone.requires_grad_(False)
        self.encoder = nn.Parameter(torch.zeros(()))
        self.seen_lrs = None

    def forward(self, batch):
        out = super().forward(batch)
        out["seed"] = out["seed"] + self.encoder + 0 * self.backbone.weight.sum()
        return out

    def parameter_groups(self, base_lr):
        return [{"params": self.backbone.parameters(), "lr": base_lr},  # frozen: loop must skip it
                {"params": iter([self.encoder]), "lr": base_lr * 0.1},
                {"params": iter([self.w]), "lr": base_lr}]


def test_parameter_groups_frozen_parts_untouched(tmp_path, monkeypatch):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    shift_targets(paths)
    model = GroupedModel()
    frozen_before = model.backbone.weight.detach().clone()
    monkeypatch.setattr(registry, "build_model", lambda *a, **k: model)
    run_experiment(paths, tmp_path, settings={"epochs": 3, "learning_rate": 0.05})
    assert torch.equal(model.backbone.weight, frozen_before)
    assert model.w.item() != 0 and model.encoder.item() != 0
    assert abs(model.encoder.item()) < abs(model.w.item())  # lower learning rate moved it less
