"""paired_cnn_classifier: BCE on the label, SpliceAI's delta as input, class weighting, auxiliary delta loss."""
import json

import pandas as pd
import pytest
import torch
import torch.nn.functional as F
from test_models_cnn import SMALL as SMALL_NET
from test_models_cnn import B, L, P, make_batch
from test_training import run_experiment, write_task

import validsplice.config.registry as registry
import validsplice.training.loop as training
from validsplice.common.errors import UserError
from validsplice.config.settings import config_schema
from validsplice.config.workflow_config import check_config_keys


def build(**params):
    torch.manual_seed(0)
    return registry.build_model("paired_cnn_classifier", {**SMALL_NET, **params}, window_length=L, profile_length=P)


def batch_with_base(seed=0):
    batch = make_batch(seed)
    batch["base_profile"] = torch.randn(B, P, 2, generator=torch.Generator().manual_seed(seed + 1)) * 0.2
    return batch


@torch.no_grad()
def test_forward_is_a_probability_and_reads_the_base_delta():
    model = build().eval()
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
    model = build()
    model.set_class_balance(torch.tensor([1.0, 0, 0, 0]))
    assert float(model.pos_weight) == pytest.approx(3.0)
    assert float(model.state_dict()["pos_weight"]) == pytest.approx(3.0)  # saved with the weights
    batch = batch_with_base()
    out = model.eval()(batch)
    weighted = F.binary_cross_entropy_with_logits(out["logit"], batch["label"], pos_weight=torch.tensor(3.0))
    assert float(model.loss(out, batch)) == pytest.approx(float(weighted), rel=1e-6)
    unweighted = build(class_weight="none")
    unweighted.set_class_balance(torch.tensor([1.0, 0, 0, 0]))
    assert float(unweighted.pos_weight) == 1.0
    with pytest.raises(UserError, match="class_weight"):
        build(class_weight="downsample")


@pytest.mark.parametrize("aux", [0.0, 1.0])
def test_trains_on_the_label_through_the_shared_loop(tmp_path, aux):
    paths = write_task(tmp_path)
    info, files = run_experiment(paths, tmp_path, model="paired_cnn_classifier",
                                 settings={"aux_delta_weight": aux, "epochs": 8})
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
                                 settings={"training_rows": "all_labelled", "epochs": 1},
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
