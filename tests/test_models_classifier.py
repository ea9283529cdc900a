"""paired_cnn_classifier: BCE on the label, SpliceAI's delta as input, class weighting, auxiliary delta loss."""
import json

import numpy as np
import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from helpers import SMALL_CNN, B, L, P, make_batch, run_experiment, write_task
from sklearn.metrics import roc_auc_score

import validsplice.config.registry as registry
import validsplice.training.loop as training
from validsplice.common.errors import UserError
from validsplice.config.settings import config_schema
from validsplice.config.workflow_config import check_config_keys
from validsplice.training.calibration import Calibrator
from validsplice.training.datasets import SplitData


def build(**params):
    torch.manual_seed(0)
    return registry.build_model("paired_cnn_classifier", {**SMALL_CNN, **params}, window_length=L, profile_length=P)


def batch_with_base(seed=0):
    batch = make_batch(seed)
    batch["base_profile"] = torch.randn(B, P, 2, generator=torch.Generator().manual_seed(seed + 1)) * 0.2
    return batch


@torch.no_grad()
def test_forward_is_a_probability_and_reads_the_base_delta():
    model = build().eval()
    torch.nn.init.normal_(model.head[-1].weight)  # the correction starts at 0: give it something to say
    assert model.target_form == "binary" and registry.score_scale(model) == "probability"
    assert registry.reads_base_model_delta(model)
    batch = batch_with_base()
    out = model(batch)
    assert out["logit"].shape == out["score"].shape == (B,)
    assert torch.allclose(out["score"], torch.sigmoid(out["logit"]))
    assert "profile" not in out  # no auxiliary head when aux_delta_weight is 0
    other = dict(batch, base_profile=batch["base_profile"] * 3)
    assert not torch.allclose(model(other)["logit"], out["logit"])


@torch.no_grad()
def test_aux_delta_loss_switch():
    off, on = build(), build(aux_delta_weight=0.5)
    assert off.aux_head is None and on.aux_head is not None
    assert sum(p.numel() for p in on.parameters()) > sum(p.numel() for p in off.parameters())
    batch = batch_with_base()
    out = on.eval()(batch)
    assert out["profile"].shape == (B, P, 2) and out["profile"].abs().max() <= 1
    bce = F.binary_cross_entropy_with_logits(out["logit"], batch["label"])
    mse = F.mse_loss(out["profile"], batch["target_profile"])
    assert float(on.loss(out, batch)) == pytest.approx(float(bce + 0.5 * mse), rel=1e-6)
    out_off = off.eval()(batch)
    assert float(off.loss(out_off, batch)) == pytest.approx(
        float(F.binary_cross_entropy_with_logits(out_off["logit"], batch["label"])), rel=1e-6)
    with pytest.raises(UserError, match="aux_delta_weight"):
        build(aux_delta_weight=-1)


@torch.no_grad()
def test_class_weight_sets_pos_weight_from_training_counts():
    model = build(class_weight="balanced")
    model.set_class_balance(torch.tensor([1.0, 0, 0, 0]))
    assert float(model.pos_weight) == pytest.approx(3.0)
    assert float(model.state_dict()["pos_weight"]) == pytest.approx(3.0)  # saved with the weights
    batch = batch_with_base()
    out = model.eval()(batch)
    weighted = F.binary_cross_entropy_with_logits(out["logit"], batch["label"], pos_weight=torch.tensor(3.0))
    assert float(model.loss(out, batch)) == pytest.approx(float(weighted), rel=1e-6)
    unweighted = build()  # none by default: the base-model offset carries the prior
    unweighted.set_class_balance(torch.tensor([1.0, 0, 0, 0]))
    assert float(unweighted.pos_weight) == 1.0
    with pytest.raises(UserError, match="class_weight"):
        build(class_weight="downsample")


@pytest.mark.parametrize("aux", [0.0, 1.0])
def test_trains_on_the_label_through_the_shared_loop(tmp_path, aux):
    paths = write_task(tmp_path)
    info, files = run_experiment(paths, tmp_path, model="paired_cnn_classifier",
                                 settings={"aux_delta_weight": aux, "epochs": 8, "base_offset": False})
    pred = pd.read_parquet(files["predictions_path"])
    headline = pred[pred["label"].isin(["Splice-altering", "Normal"])]
    auc = training.safe_roc_auc((headline["label"] == "Splice-altering").to_numpy(), headline["score"].to_numpy())
    assert auc > 0.9
    saved = json.loads(files["training_path"].read_text())
    assert saved["score_scale"] == "probability" and saved["threshold"] is not None
    assert saved["best_epoch"] <= saved["stopped_epoch"]
    assert "pos_weight 1" in saved["note"]  # the targets' train table is balanced here
    assert ("auxiliary delta loss weight 1" in saved["note"]) == (aux > 0)
    assert pred["pred_max_abs_delta"].notna().all() == (aux > 0)  # the aux head's predicted delta
    # model.pt alone rebuilds the network (aux head, pos_weight) with a strict state-dict load
    ckpt = torch.load(files["model_path"], weights_only=False)
    rebuilt = registry.build_model(ckpt["model"], ckpt["params"], window_length=ckpt["config"]["window_length"],
                                   profile_length=ckpt["config"]["profile_length"])
    rebuilt.load_state_dict(ckpt["state_dict"])
    assert (rebuilt.aux_head is not None) == (aux > 0) and float(rebuilt.pos_weight) == 1.0


def test_all_labelled_rows_weighted_instead_of_discarding_normals(tmp_path):
    """training_rows all_labelled: the loop reads every labelled row (1 Splice-altering in 4) and the
    classifier weighs Splice-altering by n_Normal / n_Splice-altering = 3 instead of dropping Normals."""
    paths = write_task(tmp_path, n_genes=(4, 2, 2), sa_every=4)
    seen = {}
    info, files = run_experiment(paths, tmp_path, model="paired_cnn_classifier",
                                 settings={"training_rows": "all_labelled", "epochs": 1, "class_weight": "balanced",
                                           "base_offset": False},
                                 on_epoch_end=lambda epoch, model, record: seen.update(pos_weight=float(model.pos_weight)))
    labelled = pd.read_parquet(paths["train_labelled"])
    assert len(labelled) > len(pd.read_parquet(paths["train"]))  # the balanced table dropped Normals
    assert seen["pos_weight"] == pytest.approx((labelled["label"] == "Normal").sum()
                                               / (labelled["label"] == "Splice-altering").sum()) == pytest.approx(3.0)
    saved = json.loads(files["training_path"].read_text())
    assert saved["config"]["training_rows"] == "all_labelled" and "pos_weight 3" in saved["note"]
    assert saved["threshold_selection"]["n_validation"] == len(pd.read_parquet(paths["val_labelled"]))
    # val_predictions.parquet still lists val.parquet's rows, as every experiment's (ensembles align on them)
    val, val_labelled = pd.read_parquet(paths["val"]), pd.read_parquet(paths["val_labelled"])
    assert len(val_labelled) > len(val)
    assert pd.read_parquet(files["val_predictions_path"])["variant_id"].tolist() == val["variant_id"].tolist()
    # values are checked at parse time (schema's training.defaults)
    config = {"experiments": {"clf": {"model": "paired_cnn_classifier", "training_rows": "some"}}}
    with pytest.raises(UserError, match=r"experiments\.clf\.training_rows"):
        check_config_keys(config, config_schema())


# ---------------------------------------------------------------- issue 19: the offset and learning from the profile
CALIBRATOR = Calibrator(slope=9.0, intercept=-2.5)  # a spliceai_raw-like calibrator: P = expit(9 * DS - 2.5)


@torch.no_grad()
def test_untrained_model_is_calibrated_spliceai():
    """Before any training, P_SA = calibrated SpliceAI's (the correction starts at exactly 0), whatever the sequence
    and profile say; without the calibrator (or with base_offset false) the offset is 0."""
    model = build()
    batch = batch_with_base()
    batch["base_score"] = torch.tensor([0.0, 0.01, 0.08, 0.4, 0.97], dtype=torch.float64)
    assert torch.allclose(model.eval()(batch)["logit"], torch.zeros(B))  # no calibrator yet: from 0
    model.set_base_calibrator(CALIBRATOR)
    expected = CALIBRATOR.apply(batch["base_score"].numpy())
    np.testing.assert_allclose(model.eval()(batch)["score"].numpy(), expected, atol=1e-6, rtol=0)
    other = dict(batch, base_profile=batch["base_profile"] * 3, ref=batch["alt"])
    np.testing.assert_allclose(model(other)["score"].numpy(), expected, atol=1e-6, rtol=0)
    # the offset travels in the state dict: a rebuilt model starts from the same calibrated SpliceAI
    rebuilt = build()
    rebuilt.load_state_dict(model.state_dict())
    np.testing.assert_allclose(rebuilt.eval()(batch)["score"].numpy(), expected, atol=1e-6, rtol=0)
    off = build(base_offset=False)
    off.set_base_calibrator(CALIBRATOR)
    assert torch.allclose(off.eval()(batch)["logit"], torch.zeros(B))


def ds_task(n, rng, length=41, distance=5, real=15):
    """Labels are a noisy function of the base profile's DS (a spike of 10^U(-3, 0) at a random position and
    channel, random sign; P(SA) = expit(3 (log10 DS + 1.2))); windows are mostly N (a reporter construct)."""
    width = 2 * distance + 1
    ds = 10 ** rng.uniform(-3, 0, n)
    profile = rng.normal(0, 0.002, (n, width, 2)).astype(np.float32)
    profile[np.arange(n), rng.integers(0, width, n), rng.integers(0, 2, n)] = rng.choice([-1, 1], n) * ds
    label = (rng.random(n) < 1 / (1 + np.exp(-3 * (np.log10(ds) + 1.2)))).astype(np.float32)
    ref = np.full((n, length), 4, dtype=np.uint8)
    lo = length // 2 - real // 2
    ref[:, lo: lo + real] = rng.integers(0, 4, (n, real))
    alt = ref.copy()
    alt[:, length // 2] = (ref[:, length // 2] + 1) % 4
    table = pd.DataFrame({"variant_id": [f"v{i}" for i in range(n)],
                          "label": np.where(label == 1, "Splice-altering", "Normal")})
    data = SplitData(table=table, ref=ref, alt=alt, indel_length=np.zeros(n, np.float32), label=label,
                     target_seed=np.zeros((n, 3), np.float32), target_profile=np.zeros((n, width, 2), np.float32),
                     base_profile=profile)
    return data, np.abs(profile).max(axis=(1, 2))


def test_learns_the_label_from_the_profile_ds():
    """issue 19: on real labels the classifier's loss stayed flat (val ROC-AUC 0.45 where DS alone gives 0.77).
    Here, from no offset and the class-weighted loss it used then, it reaches 95 % of DS's own ROC-AUC."""
    rng = np.random.default_rng(0)
    (train, _), (val, _), (test, test_ds) = (ds_task(n, rng) for n in (600, 200, 400))
    settings = registry.model_settings("paired_cnn_classifier", {
        "hidden_dim": 8, "n_layers": 1, "kernel_size": 3, "dropout": 0.0, "window_length": 41, "batch_size": 32,
        "learning_rate": 3e-3, "epochs": 6, "patience": 6, "seed": 0, "base_offset": False,
        "class_weight": "balanced"})
    generator = training.seed_everything(0)
    model = registry.build_model("paired_cnn_classifier", settings, window_length=41, profile_length=11)
    model.set_class_balance(train.label)
    training.fit(model, train, val, settings, torch.device("cpu"), generator)
    _, scores = training.evaluate(model, test, 128, torch.device("cpu"))
    auc_ds = roc_auc_score(test.label, test_ds)
    assert auc_ds > 0.85
    assert roc_auc_score(test.label, scores) >= 0.95 * auc_ds


def write_calibrator(tmp_path, calibrator=CALIBRATOR):
    path = tmp_path / "spliceai_raw_calibrator.json"
    calibrator.save(path, experiment="spliceai_raw", score_scale="delta")
    return path


@pytest.mark.parametrize("case", ["noise", "learnable"])
def test_starts_from_the_offset_and_says_whether_it_beat_it(tmp_path, case):
    """Epoch 0 is the offset alone. Train labels shuffled (noise): no epoch beats it on validation, the offset is
    kept (the predictions ARE calibrated SpliceAI) and training.json says so ("beat" = a validation loss lower by
    more than min_delta, as early stopping reads it). An uninformative offset (slope 0)
    with a learnable motif: the correction beats it."""
    paths = write_task(tmp_path, n_genes=(4, 2, 2))
    calibrator = CALIBRATOR if case == "noise" else Calibrator(slope=0.0, intercept=0.0)
    if case == "noise":
        train = pd.read_parquet(paths["train"])
        train["label"] = np.random.default_rng(1).permutation(train["label"].to_numpy())
        train.to_parquet(paths["train"])
    info, files = run_experiment(paths, tmp_path, model="paired_cnn_classifier",
                                 settings={"epochs": 4 if case == "noise" else 8, "patience": 8, "min_delta": 1e-3},
                                 base_calibrator_path=write_calibrator(tmp_path, calibrator))
    saved = json.loads(files["training_path"].read_text())
    assert saved["starts_from_base_model"] is True
    assert saved["beats_offset"] is (case == "learnable")
    assert saved["metrics"]["offset_val_loss"] > 0 and "calibrated SpliceAI" in saved["note"]
    pred = pd.read_parquet(files["predictions_path"])
    test = pd.read_parquet(paths["test"])
    expected = calibrator.apply(np.nan_to_num(test["spliceai_max_ds"].to_numpy(dtype=float)))
    if case == "noise":
        assert saved["best_epoch"] == 0
        np.testing.assert_allclose(pred["score"].to_numpy(), expected, atol=1e-6, rtol=0)
    else:
        assert saved["best_epoch"] > 0 and not np.allclose(pred["score"].to_numpy(), expected, atol=1e-3)


def test_base_offset_needs_the_calibrator(tmp_path):
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    with pytest.raises(UserError, match="spliceai_raw/calibrator.json"):
        run_experiment(paths, tmp_path, model="paired_cnn_classifier", settings={"epochs": 1})


# ---------------------------------------------------------------- issue 20 §3: every base model's delta profile
@torch.no_grad()
def test_extra_base_models_profiles_are_extra_channels_and_the_offset_stays_the_primarys():
    """With two additional base models the profile has 6 channels (2 per model): the first layer reads all six,
    each changes the output once the head speaks, and before training P_SA is still calibrated primary's."""
    torch.manual_seed(0)
    model = registry.build_model("paired_cnn_classifier", SMALL_CNN, window_length=L, profile_length=P,
                                 profile_channels=6)
    hidden = int(model.band[0].out_channels)
    assert model.band[0].in_channels == 3 * hidden + 6 + 1  # features, 3 x (2 channels), indel
    assert model.head[0].in_features == 5 * hidden + 4 * 3  # the 4 DS-like summaries of each base model
    batch = batch_with_base()
    batch["base_profile"] = torch.randn(B, P, 6, generator=torch.Generator().manual_seed(3)) * 0.2
    batch["base_score"] = torch.tensor([0.0, 0.01, 0.08, 0.4, 0.97], dtype=torch.float64)
    model.set_base_calibrator(CALIBRATOR)
    expected = CALIBRATOR.apply(batch["base_score"].numpy())
    np.testing.assert_allclose(model.eval()(batch)["score"].numpy(), expected, atol=1e-6, rtol=0)
    torch.nn.init.normal_(model.head[-1].weight)  # the correction speaks: every model's channels matter
    out = model(batch)["logit"]
    for channel in (0, 2, 4):
        other = batch["base_profile"].clone()
        other[:, :, channel] *= 5
        assert not torch.allclose(model(dict(batch, base_profile=other))["logit"], out), channel
    with pytest.raises(UserError, match="2 channels but the model reads 6"):
        model(dict(batch, base_profile=batch["base_profile"][:, :, :2]))
    with pytest.raises(UserError, match="2 per base model"):
        registry.build_model("paired_cnn_classifier", SMALL_CNN, window_length=L, profile_length=P, profile_channels=3)
    with pytest.raises(UserError, match="primary base model's profile only"):
        registry.build_model("gated_cnn_paired", SMALL_CNN, window_length=L, profile_length=P, profile_channels=4)


def test_primary_only_classifier_is_built_as_before():
    """Without additional base models the layers, so the seeded initial weights, are those of before (2 channels)."""
    torch.manual_seed(0)
    default = registry.build_model("paired_cnn_classifier", SMALL_CNN, window_length=L, profile_length=P)
    torch.manual_seed(0)
    explicit = registry.build_model("paired_cnn_classifier", SMALL_CNN, window_length=L, profile_length=P,
                                    profile_channels=2)
    hidden = int(default.band[0].out_channels)
    assert default.band[0].in_channels == 3 * hidden + 3 and default.head[0].in_features == 5 * hidden + 4
    for (name, a), (_, b) in zip(default.state_dict().items(), explicit.state_dict().items()):
        assert torch.equal(a, b), name


def test_training_reads_the_aligned_extra_profiles_and_records_them(tmp_path):
    """train_experiment stacks an additional base model's aligned profiles after the primary's, records which
    base models' profiles the model reads, and a wrong shape is a clear error."""
    paths = write_task(tmp_path, n_genes=(2, 1, 1))
    n_windows, length = len(np.load(paths["windows"])["variant_id"]), np.load(paths["profiles"]).shape[1]
    base = np.random.default_rng(1).normal(size=(n_windows, length, 2)).astype(np.float32) * 0.1
    paths["base_profiles"] = tmp_path / "base_profiles.npy"
    np.save(paths["base_profiles"], base)
    extra = tmp_path / "pangolin_base_profiles.npy"
    np.save(extra, np.random.default_rng(0).normal(size=base.shape).astype(np.float32) * 0.1)
    info, files = run_experiment(paths, tmp_path, model="paired_cnn_classifier",
                                 settings={"epochs": 1, "base_offset": False},
                                 base_profiles_path=paths["base_profiles"],
                                 profile_base_models=["spliceai", "pangolin"], extra_profiles_paths=[extra])
    saved = json.loads(files["training_path"].read_text())
    assert saved["base_model_profiles"] == ["spliceai", "pangolin"] and saved["extra_base_models"] == ["pangolin"]
    assert saved["profile_channels"] == 4
    checkpoint = torch.load(files["model_path"], weights_only=True)
    assert checkpoint["config"]["profile_channels"] == 4
    assert checkpoint["state_dict"]["band.0.weight"].shape[1] == 3 * SMALL_CNN["hidden_dim"] + 4 + 1
    np.save(extra, np.zeros((len(base) - 1, *base.shape[1:]), np.float32))
    with pytest.raises(UserError, match="pangolin's aligned profiles have shape"):
        run_experiment(paths, tmp_path, model="paired_cnn_classifier", settings={"epochs": 1, "base_offset": False},
                       base_profiles_path=paths["base_profiles"], profile_base_models=["spliceai", "pangolin"],
                       extra_profiles_paths=[extra])
    with pytest.raises(UserError, match="reads the primary base model's profile only"):
        run_experiment(paths, tmp_path, model="gated_cnn", settings={"epochs": 1},
                       base_profiles_path=paths["base_profiles"], profile_base_models=["spliceai", "pangolin"],
                       extra_profiles_paths=[extra])
