"""spliceai_features_gbm: features (masked and unmasked DS), weighting, early stopping on val only, learning."""
import json

import numpy as np
import pandas as pd
import pytest
from helpers import GBM_D as D
from helpers import GBM_KINDS as KINDS
from helpers import gbm_synthetic as synthetic
from sklearn.metrics import log_loss, roc_auc_score

import validsplice.training.gbm as gbm
from validsplice.common.errors import UserError
from validsplice.config import registry
from validsplice.config.prevalence import assumed_prevalence
from validsplice.config.settings import config_schema
from validsplice.config.workflow_config import check_config_keys
from validsplice.training.predictions import PREDICTION_COLUMNS
from validsplice.training.targets import make_targets


def features_of(variants, scores, profiles=None):
    return gbm.variant_features(variants, scores)


def test_features_take_masked_and_unmasked_ds_of_the_own_gene():
    variants, scores, profiles = synthetic(n=60)
    # an extra row of another gene for v5 with larger values must not be read
    other = scores[scores["variant_id"] == "v5"].assign(gene="OTHER", profile_row=59)
    for kind in KINDS:
        other[f"DS_{kind}_masked"] = other[f"DS_{kind}_unmasked"] = 0.99
    feats = features_of(variants, pd.concat([scores, other], ignore_index=True), profiles)
    scored = (scores["status"] == "scored").to_numpy()
    assert list(feats.columns) == gbm.FEATURES + [gbm.BASE_SCORE]
    # the offset's input: spliceai_raw's score (max DS of the own gene row; unscored: 0.0)
    np.testing.assert_allclose(feats[gbm.BASE_SCORE].to_numpy(), np.where(scored, scores["max_ds"], 0.0))
    for kind in KINDS:
        for setting in ("masked", "unmasked"):
            col = f"DS_{kind}_{setting}"
            np.testing.assert_allclose(feats[col].to_numpy()[scored], scores[col].to_numpy()[scored])
            assert feats[col].isna().to_numpy()[~scored].all()  # unscored gene row: missing, not 0
    assert (feats["DS_DL_masked"] != feats["DS_DL_unmasked"]).any()
    assert feats.loc[5, "DS_AG_masked"] != 0.99
    # distance along the transcript flips sign on the minus strand; side = site + region
    minus = variants["strand"] == "-"
    np.testing.assert_array_equal(feats["exon_distance_transcript"][minus], -variants["exon_distance"][minus])
    np.testing.assert_array_equal(feats["exon_distance_transcript"][~minus], variants["exon_distance"][~minus])
    row = variants.index[(variants["nearest_site"] == "donor") & (variants["region"] == "intronic")][0]
    assert feats.loc[row, "boundary_side"] == gbm.CATEGORIES["boundary_side"].index("donor_intronic")


def test_unknown_categories_are_missing_and_old_scores_are_refused():
    variants, scores, profiles = synthetic(n=30)
    variants.loc[0, ["region", "nearest_site", "strand"]] = ["intergenic", "", "."]
    variants.loc[1, "variant_type"] = "complex"
    feats = features_of(variants, scores, profiles)
    assert feats.loc[0, "region"] == gbm.CATEGORIES["region"].index("intergenic")
    assert np.isnan(feats.loc[0, ["nearest_site", "boundary_side", "strand"]].to_numpy(float)).all()
    assert np.isnan(feats.loc[1, "variant_type"])
    with pytest.raises(UserError, match="DS_AG_masked.*re-run score_shard"):
        features_of(variants, scores.drop(columns=["DS_AG_masked"]), profiles)


def labelled(variants, scores, profiles):
    """The targets stage's tables: train/val balanced, train_labelled/val_labelled all labelled rows."""
    tables, _, _ = make_targets(variants, scores, profiles, distance=D, seed=0, balance=True)
    return tables


def split_xy(feats, table):
    rows = table["window_row"].to_numpy()
    return feats.iloc[rows], (table["label"] == "Splice-altering").to_numpy(dtype=int)


def test_balanced_weights_give_each_class_half():
    y = np.array([1] * 10 + [0] * 90)
    w = gbm.class_weights(y, "balanced")
    assert w[y == 1].sum() == pytest.approx(w[y == 0].sum()) == pytest.approx(50.0)
    np.testing.assert_array_equal(gbm.class_weights(y, "none"), np.ones(100))
    # values are checked at parse time, against the registry's schema of the model's settings
    config = {"experiments": {"trees": {"model": "spliceai_features_gbm", "class_weight": "downsample"}}}
    with pytest.raises(UserError, match=r"experiments\.trees\.class_weight"):
        check_config_keys(config, config_schema())


# the HistGradientBoosting path (base_offset false), class-weighted; the offset trees have their own tests below
SETTINGS = {"max_iter": 200, "learning_rate": 0.1, "patience": 10, "seed": 0, "base_offset": False,
            "class_weight": "balanced"}


def test_early_stopping_reads_the_given_validation_rows_only():
    variants, scores, profiles = synthetic()
    feats, tables = features_of(variants, scores), labelled(variants, scores, profiles)
    x_train, y_train = split_xy(feats, tables["train_labelled"])
    x_val, y_val = split_xy(feats, tables["val_labelled"])
    est, history, info = gbm.fit_gbm(x_train, y_train, x_val, y_val, SETTINGS)
    assert est.validation_fraction is None  # nothing carved out of train
    best = info["best_iteration"]
    assert best == int(history["val_loss"].idxmin()) + 1 == est.n_iter_
    assert info["stopped_iteration"] == len(history) < SETTINGS["max_iter"]
    # history's val loss is the class-weighted log loss of exactly these validation rows, and the refitted
    # model (best number of trees) reproduces it tree by tree: same trees as the grown one
    w_val = gbm.class_weights(y_val, "balanced")
    for i, proba in enumerate(est.staged_predict_proba(x_val)):
        assert log_loss(y_val, proba, sample_weight=w_val) == pytest.approx(history["val_loss"].iat[i], rel=1e-6)
    # validation decides: with shuffled validation labels the best number of trees changes
    rng = np.random.default_rng(1)
    _, _, noisy = gbm.fit_gbm(x_train, y_train, x_val, rng.permutation(y_val), SETTINGS)
    assert noisy["best_iteration"] < best
    # without early stopping every tree is kept
    _, history_all, all_info = gbm.fit_gbm(x_train, y_train, x_val, y_val, {**SETTINGS, "max_iter": 40,
                                                                             "early_stopping": False})
    assert all_info["best_iteration"] == all_info["stopped_iteration"] == len(history_all) == 40


def test_learns_what_spliceai_misses():
    variants, scores, profiles = synthetic(n=3000)
    feats, tables = features_of(variants, scores), labelled(variants, scores, profiles)
    est, _, _ = gbm.fit_gbm(*split_xy(feats, tables["train_labelled"]), *split_xy(feats, tables["val_labelled"]),
                            SETTINGS)
    test = tables["test"][tables["test"]["label"].isin(["Splice-altering", "Normal"])]
    x_test, y_test = split_xy(feats, test)
    p = est.predict_proba(x_test[gbm.FEATURES])[:, 1]
    auc_gbm = roc_auc_score(y_test, p)
    auc_ds = roc_auc_score(y_test, x_test["DS_DL_unmasked"].fillna(0.0))  # unscored: 0, as spliceai_raw
    assert auc_gbm > 0.85 and auc_gbm > auc_ds + 0.1
    # balanced weighting: probabilities are not pulled towards the majority class
    assert p[y_test == 1].mean() > 0.7


def run_rule(tmp_path, variants, scores, profiles, model_name=gbm.MODEL_NAME, name="gbm"):
    """train_gbm_experiment on the targets stage's tables of ``variants``; returns (info, tables, summary, out)."""
    tables, _, summary = make_targets(variants, scores, profiles, distance=D, seed=0, balance=True)
    tmp_path.mkdir(parents=True, exist_ok=True)
    paths = {"variants": tmp_path / "variants.parquet", "scores": tmp_path / "scores.parquet"}
    variants.to_parquet(paths["variants"])
    scores.to_parquet(paths["scores"])
    for table in ("train_labelled", "val_labelled", "val", "test"):
        paths[table] = tmp_path / f"{table}.parquet"
        tables[table].to_parquet(paths[table])
    paths["target_summary"] = tmp_path / "summary.json"
    paths["target_summary"].write_text(json.dumps(summary))
    out = tmp_path / "models" / name
    info = gbm.train_gbm_experiment(
        variants_path=paths["variants"], scores_path=paths["scores"], train_labelled_path=paths["train_labelled"],
        val_labelled_path=paths["val_labelled"], val_path=paths["val"], test_path=paths["test"],
        target_summary_path=paths["target_summary"], model_path=out / "model.joblib", history_path=out / "history.tsv",
        predictions_path=out / "predictions.parquet", val_predictions_path=out / "val_predictions.parquet",
        training_path=out / "training.json", experiment=name, settings={**SETTINGS, "epochs": 3, "hidden_dim": 8},
        threads=1, model_name=model_name)
    return info, tables, summary, out


def test_rule_writes_shared_formats_and_trains_on_all_labelled_rows(tmp_path):
    variants, scores, profiles = synthetic()
    info, tables, summary, out = run_rule(tmp_path, variants, scores, profiles)
    labelled_train = variants[(variants["split"] == "train")].iloc[1:]  # row 0 of train is unscored
    # every labelled train row, not the balanced sample (which drops Normals)
    assert info["class_weighting"]["n_train"] == len(labelled_train) > len(tables["train"])
    assert "epochs" not in info["config"]  # network settings are not the trees' settings
    predictions = pd.read_parquet(out / "predictions.parquet")
    val_predictions = pd.read_parquet(out / "val_predictions.parquet")
    assert list(predictions.columns) == list(val_predictions.columns) == PREDICTION_COLUMNS
    assert predictions["variant_id"].tolist() == tables["test"]["variant_id"].tolist()
    assert val_predictions["variant_id"].tolist() == tables["val"]["variant_id"].tolist()
    assert predictions["score"].dropna().between(0, 1).all()
    training = json.loads((out / "training.json").read_text())
    assert training["score_scale"] == "probability" and 0 < training["threshold"] < 1
    # the threshold assumes the labelled training data's prevalence (the one definition), never the test split's
    assert training["threshold_selection"]["assumed_prevalence"] == pytest.approx(
        assumed_prevalence(summary).value)
    assert training["threshold_selection"]["n_validation"] == len(tables["val_labelled"])
    assert training["best_epoch"] <= training["stopped_epoch"]
    assert len(pd.read_csv(out / "history.tsv", sep="\t")) == training["stopped_epoch"]
    # the saved file alone rebuilds the model: same scores from the features
    bundle = gbm.load_model(out / "model.joblib")
    assert bundle["features"] == gbm.FEATURES and bundle["versions"]["scikit-learn"]
    feats = features_of(variants, scores)
    again = gbm.predict_scores(bundle, feats.iloc[tables["test"]["window_row"].to_numpy()])
    np.testing.assert_allclose(again, predictions["score"].to_numpy())


def test_test_row_without_base_model_score_gets_no_score(tmp_path):
    """The trees never saw a row without DS (train/val rows all have one): such a test row gets no score
    (NaN, scored False), not whatever branch held more training rows; it is counted in training.json."""
    variants, scores, profiles = synthetic()
    info, tables, _, out = run_rule(tmp_path, variants, scores, profiles)
    predictions = pd.read_parquet(out / "predictions.parquet").set_index("variant_id")
    unscored = tables["test"].loc[~tables["test"]["base_model_scored"].astype(bool), "variant_id"].tolist()
    assert len(unscored) == 1  # variant 0 of the test split: its gene's score row was skipped (missing DS)
    assert features_of(variants, scores).loc[variants["variant_id"] == unscored[0], "DS_AG_masked"].isna().all()
    assert np.isnan(predictions.loc[unscored[0], "score"]) and not predictions.loc[unscored[0], "scored"]
    others = predictions.drop(index=unscored)
    assert others["scored"].all() and np.isfinite(others["score"]).all()
    assert info["test_rows_without_base_model_score"] == 1 and "1 test row(s) without" in info["note"]
    # the calibrator keeps it missing: no P_SA for that row either
    from validsplice.training.calibration import Calibrator

    cal = Calibrator.fit(np.array([0.1, 0.9, 0.2, 0.8]), np.array([0, 1, 0, 1]), 0.3, score_scale="probability")
    assert np.isnan(cal.apply(predictions["score"].to_numpy())[predictions.index.get_loc(unscored[0])])


def test_position_only_gbm_reads_no_base_model_score(tmp_path):
    """The control row: same trees, position features only; scores every row, DS cannot change it."""
    assert registry.MODELS["position_only_gbm"].trainer == registry.MODELS[gbm.MODEL_NAME].trainer
    assert "position_only_gbm" in registry.FEATURE_MODELS and gbm.MODEL_NAME in registry.FEATURE_MODELS
    assert not set(gbm.POSITION_FEATURES) & set(gbm.SCORE_FEATURES)
    assert {"variant_type", "indel_length", "exon_distance", "boundary_side", "region", "strand"} <= set(
        gbm.POSITION_FEATURES)
    variants, scores, profiles = synthetic()
    info, tables, _, out = run_rule(tmp_path / "a", variants, scores, profiles, "position_only_gbm", "pos")
    assert info["features"] == gbm.POSITION_FEATURES and info["reads_base_model_delta"] is False
    assert info["model"] == "position_only_gbm" and info["test_rows_without_base_model_score"] == 0
    predictions = pd.read_parquet(out / "predictions.parquet")
    assert predictions["scored"].all() and np.isfinite(predictions["score"]).all()  # the unscored row too
    bundle = gbm.load_model(out / "model.joblib")
    assert bundle["model"] == "position_only_gbm" and bundle["features"] == gbm.POSITION_FEATURES
    # other DS values (same rows scored) give the same model and predictions
    shuffled = scores.copy()
    for column in gbm.SCORE_FEATURES:
        shuffled[column] = np.random.default_rng(3).permutation(shuffled[column].to_numpy())
    _, _, _, out2 = run_rule(tmp_path / "b", variants, shuffled, profiles, "position_only_gbm", "pos")
    np.testing.assert_array_equal(pd.read_parquet(out2 / "predictions.parquet")["score"], predictions["score"])
    # it still learns from where the variants sit (the synthetic "missed" donor variants)
    test = predictions[predictions["label"].isin(["Splice-altering", "Normal"])]
    assert roc_auc_score(test["label"] == "Splice-altering", test["score"]) > 0.6
# ---------------------------------------------------------------- issue 19: trees started from calibrated SpliceAI
def calibrated_spliceai(feats, table):
    """spliceai_raw's calibrator as calibrate_model fits it: Platt on the validation rows' max DS."""
    from validsplice.training.calibration import Calibrator

    x, y = split_xy(feats, table)
    return Calibrator.fit(x[gbm.BASE_SCORE].to_numpy(), y, score_scale="delta")


OFFSET_SETTINGS = {"max_iter": 60, "learning_rate": 0.1, "seed": 0, "offset_grid": 2}



def rule_paths(paths: dict, out) -> dict:
    """train_gbm_experiment's input tables (``paths``) and output files (in the folder ``out``)."""
    return dict(variants_path=paths["variants"], scores_path=paths["scores"],
                train_labelled_path=paths["train_labelled"], val_labelled_path=paths["val_labelled"],
                val_path=paths["val"], test_path=paths["test"], model_path=out / "model.joblib",
                history_path=out / "history.tsv", predictions_path=out / "predictions.parquet",
                val_predictions_path=out / "val_predictions.parquet", training_path=out / "training.json")

def test_offset_trees_start_from_calibrated_spliceai():
    """No tree: P_SA = calibrated SpliceAI's to 1e-6; shuffled train labels: no grid point beats the offset on
    validation, so the model IS the offset and says so."""
    from sklearn.ensemble import GradientBoostingClassifier

    variants, scores, profiles = synthetic(n=800)
    feats, tables = features_of(variants, scores), labelled(variants, scores, profiles)
    calibrator = calibrated_spliceai(feats, tables["val_labelled"])
    x_train, y_train = split_xy(feats, tables["train_labelled"])
    x_val, y_val = split_xy(feats, tables["val_labelled"])
    expected = calibrator.apply(x_val[gbm.BASE_SCORE].to_numpy())
    init = gbm.CalibratedBaseScore(calibrator.slope, calibrator.intercept, column=len(gbm.FEATURES))
    untrained = GradientBoostingClassifier(init=init, n_estimators=1, learning_rate=0.0).fit(
        gbm.tree_matrix(x_train, gbm.FEATURES), y_train)
    np.testing.assert_allclose(untrained.predict_proba(gbm.tree_matrix(x_val, gbm.FEATURES))[:, 1], expected,
                               atol=1e-6, rtol=0)
    noise = np.random.default_rng(0).permutation(y_train)
    est, history, info = gbm.fit_offset_gbm(x_train, noise, x_val, y_val, OFFSET_SETTINGS, calibrator)
    assert info["beats_offset"] is False and info["best_iteration"] == 0
    assert info["offset_val_loss"] == pytest.approx(log_loss(y_val, expected))
    bundle = {"estimator": est, "features": gbm.FEATURES, "base_offset": True}
    np.testing.assert_allclose(gbm.predict_scores(bundle, x_val), expected, atol=1e-6, rtol=0)
    with pytest.raises(UserError, match=gbm.BASE_SCORE):
        gbm.predict_scores(bundle, x_val[gbm.FEATURES])


def test_offset_trees_correct_what_spliceai_misses():
    variants, scores, profiles = synthetic(n=3000)
    feats, tables = features_of(variants, scores), labelled(variants, scores, profiles)
    calibrator = calibrated_spliceai(feats, tables["val_labelled"])
    est, history, info = gbm.fit_offset_gbm(*split_xy(feats, tables["train_labelled"]),
                                            *split_xy(feats, tables["val_labelled"]), OFFSET_SETTINGS, calibrator)
    assert info["beats_offset"] is True and info["best_val_loss"] < info["offset_val_loss"]
    assert len(info["grid"]) == 2 and info["chosen"] in [{k: g[k] for k in ("learning_rate", "min_samples_leaf")}
                                                         for g in info["grid"]]
    test = tables["test"][tables["test"]["label"].isin(["Splice-altering", "Normal"])]
    x_test, y_test = split_xy(feats, test)
    p = gbm.predict_scores({"estimator": est, "features": gbm.FEATURES, "base_offset": True}, x_test)
    scored = np.isfinite(p)  # a row without a base-model score gets no P_SA (issue 18)
    assert scored.mean() > 0.95
    assert roc_auc_score(y_test[scored], p[scored]) > roc_auc_score(y_test[scored], x_test[gbm.BASE_SCORE][scored]) + 0.1


def test_rule_starts_from_the_baseline_calibrator_and_records_the_flag(tmp_path):
    variants, scores, profiles = synthetic(n=600)
    tables = labelled(variants, scores, profiles)
    paths = {"variants": tmp_path / "variants.parquet", "scores": tmp_path / "scores.parquet"}
    variants.to_parquet(paths["variants"])
    scores.to_parquet(paths["scores"])
    for name in ("train_labelled", "val_labelled", "val", "test"):
        paths[name] = tmp_path / f"{name}.parquet"
        tables[name].to_parquet(paths[name])
    feats = features_of(variants, scores)
    calibrator = calibrated_spliceai(feats, tables["val_labelled"])
    calibrator.save(tmp_path / "calibrator.json", experiment="spliceai_raw", score_scale="delta")
    out = tmp_path / "models" / "gbm"
    kwargs = dict(rule_paths(paths, out), experiment="gbm",
                  settings={**OFFSET_SETTINGS, "max_iter": 20, "offset_grid": 1}, threads=1)
    with pytest.raises(UserError, match="base_offset"):
        gbm.train_gbm_experiment(**kwargs)
    gbm.train_gbm_experiment(**kwargs, base_calibrator_path=tmp_path / "calibrator.json")
    training = json.loads((out / "training.json").read_text())
    assert training["starts_from_base_model"] is True and isinstance(training["beats_offset"], bool)
    assert training["metrics"]["offset_val_loss"] > 0 and "calibrated SpliceAI" in training["note"]
    bundle = gbm.load_model(out / "model.joblib")
    again = gbm.predict_scores(bundle, feats.iloc[tables["test"]["window_row"].to_numpy()])
    np.testing.assert_allclose(again, pd.read_parquet(out / "predictions.parquet")["score"].to_numpy())


# ------------------------------------------------------------------ several base models (issue 20)
def pangolin_scores(variants, seed=1):
    """A Pangolin scores table (scoring.pangolin.shards' columns) of the same variants: the own gene's row,
    plus a row of another gene with larger values that must not be read; variant v3's gene unscored."""
    rng = np.random.default_rng(seed)
    n = len(variants)
    own = pd.DataFrame({"variant_id": variants["variant_id"], "gene": variants["gene"], "strand": variants["strand"],
                        "status": "scored", "profile_row": -1, "DS_GAIN": rng.uniform(0, 0.5, n),
                        "DS_LOSS": rng.uniform(0, 0.5, n), "DP_GAIN": rng.integers(-D, D + 1, n),
                        "DP_LOSS": rng.integers(-D, D + 1, n)})
    own.loc[3, ["status", "DS_GAIN", "DS_LOSS", "DP_GAIN", "DP_LOSS"]] = ["skipped: no gene", np.nan, np.nan, 0, 0]
    other = own.iloc[:5].assign(gene="OTHER", DS_GAIN=0.99, DS_LOSS=0.99, status="scored")
    table = pd.concat([own, other], ignore_index=True)
    table["max_ds"] = table[["DS_GAIN", "DS_LOSS"]].max(axis=1)
    return table


def test_features_of_adds_each_additional_base_model_prefixed_to_score_reading_models_only():
    assert gbm.features_of(gbm.MODEL_NAME, ["pangolin"]) == gbm.FEATURES + [
        "pangolin_DS_GAIN", "pangolin_DS_LOSS", "pangolin_DP_GAIN", "pangolin_DP_LOSS"]
    assert gbm.features_of(gbm.MODEL_NAME, ["openspliceai"])[-12:] == [f"openspliceai_{c}" for c in gbm.SCORE_FEATURES]
    # the position-only control never reads a base-model score, of any model
    assert gbm.features_of(gbm.POSITION_ONLY, ["pangolin"]) == gbm.POSITION_FEATURES
    with pytest.raises(UserError, match="not a base model"):
        gbm.base_model_features("spliceai2")


def test_registry_score_reading_flag_agrees_with_the_feature_sets():
    for name in registry.FEATURE_MODELS:
        assert registry.MODELS[name].reads_scores == gbm.reads_base_model_scores(gbm.features_of(name)), name
    assert registry.SCORE_READING_FEATURE_MODELS == (gbm.MODEL_NAME,)


def test_additional_base_model_features_are_its_own_gene_row():
    variants, scores, _ = synthetic(n=40)
    extra = pangolin_scores(variants)
    feats = gbm.variant_features(variants, scores, extra_scores={"pangolin": extra})
    assert list(feats.columns) == gbm.features_of(gbm.MODEL_NAME, ["pangolin"]) + [gbm.BASE_SCORE]
    own = extra.iloc[:len(variants)]
    keep = np.arange(len(variants)) != 3
    np.testing.assert_allclose(feats["pangolin_DS_GAIN"].to_numpy()[keep], own["DS_GAIN"].to_numpy()[keep])
    np.testing.assert_allclose(feats["pangolin_DP_LOSS"].to_numpy()[keep], own["DP_LOSS"].to_numpy(float)[keep])
    assert feats.loc[3, ["pangolin_DS_GAIN", "pangolin_DS_LOSS"]].isna().all()  # its gene unscored: missing
    assert (feats["pangolin_DS_GAIN"] != 0.99).all()  # never the other gene's row
    # the primary's columns and the offset's input are unchanged by the extra model
    plain = gbm.variant_features(variants, scores)
    pd.testing.assert_frame_equal(feats[plain.columns], plain)
    with pytest.raises(UserError, match="pangolin scores lack column.*DS_LOSS"):
        gbm.variant_features(variants, scores, extra_scores={"pangolin": extra.drop(columns=["DS_LOSS"])})


def test_rule_trains_on_the_additional_base_model_features(tmp_path):
    variants, scores, profiles = synthetic(n=600)
    tables = labelled(variants, scores, profiles)
    paths = {"variants": tmp_path / "variants.parquet", "scores": tmp_path / "scores.parquet",
             "pangolin": tmp_path / "pangolin.parquet"}
    variants.to_parquet(paths["variants"])
    scores.to_parquet(paths["scores"])
    pangolin_scores(variants).to_parquet(paths["pangolin"])
    for name in ("train_labelled", "val_labelled", "val", "test"):
        paths[name] = tmp_path / f"{name}.parquet"
        tables[name].to_parquet(paths[name])
    out = tmp_path / "models" / "gbm"
    kwargs = dict(rule_paths(paths, out), experiment="gbm",
                  settings={**OFFSET_SETTINGS, "max_iter": 10, "offset_grid": 1}, threads=1)
    # the offset stays the primary's calibrated logit (spliceai_raw's calibrator)
    calibrated_spliceai(features_of(variants, scores), tables["val_labelled"]).save(
        tmp_path / "calibrator.json", experiment="spliceai_raw", score_scale="delta")
    kwargs["base_calibrator_path"] = tmp_path / "calibrator.json"
    with pytest.raises(UserError, match="1 additional base model.*but 0 scores file"):
        gbm.train_gbm_experiment(**kwargs, extra_base_models=["pangolin"])
    gbm.train_gbm_experiment(**kwargs, extra_base_models=["pangolin"], extra_scores_paths=[paths["pangolin"]])
    assert json.loads((out / "training.json").read_text())["starts_from_base_model"] is True
    training = json.loads((out / "training.json").read_text())
    assert training["extra_base_models"] == ["pangolin"] and "pangolin_DS_GAIN" in training["features"]
    assert "and pangolin's" in training["note"]
    assert "pangolin_DP_LOSS" in gbm.load_model(out / "model.joblib")["features"]


# ------------------------------------------------------------------ issue 19: selection by inner group k-fold
def test_inner_fold_losses_score_every_training_row_once_by_trees_grown_without_its_gene():
    rng = np.random.default_rng(0)
    n = 120
    groups = np.repeat([f"g{i}" for i in range(12)], 10)
    y = (rng.random(n) < 0.3).astype(int)
    w = rng.uniform(0.5, 2.0, n)
    a = np.column_stack([np.arange(n), rng.random(n)])  # column 0: the row number, to see what each fit got
    fits = []

    class Constant:
        def fit(self, x, y_fit, sample_weight=None):
            fits.append(set(x[:, 0].astype(int)))
            return self

        def staged_predict_proba(self, x):
            for _ in range(3):  # three "trees", each predicting 0.5
                yield np.full((len(x), 2), 0.5)

    sums, k = gbm.inner_fold_losses(Constant, a, y, w, groups, 4, seed=0)
    assert k == 4 and len(fits) == 4
    # each row held out exactly once: the loss sums are log(2) times all the weight, at every number of trees
    np.testing.assert_allclose(sums, np.full(3, np.log(2) * w.sum()))
    for fitted in fits:
        held = set(range(n)) - fitted
        assert not set(groups[list(held)]) & set(groups[list(fitted)])  # no gene on both sides
    # too few groups of a class for two folds: no inner cross-validation
    assert gbm.inner_fold_losses(Constant, a, np.r_[1, np.zeros(n - 1, int)], w, groups, 4, seed=0) == (None, 0)


def test_selection_folds_choose_on_validation_plus_out_of_fold_training_rows():
    variants, scores, profiles = synthetic(n=800)
    feats, tables = features_of(variants, scores), labelled(variants, scores, profiles)
    calibrator = calibrated_spliceai(feats, tables["val_labelled"])
    x_train, y_train = split_xy(feats, tables["train_labelled"])
    x_val, y_val = split_xy(feats, tables["val_labelled"])
    genes = tables["train_labelled"]["gene"].to_numpy()
    settings = {**OFFSET_SETTINGS, "max_iter": 30}
    _, _, plain = gbm.fit_offset_gbm(x_train, y_train, x_val, y_val, settings, calibrator, groups=genes)
    assert plain["selection"] == "validation"  # selection_folds 0 (the default): as before
    _, _, inner = gbm.fit_offset_gbm(x_train, y_train, x_val, y_val, {**settings, "selection_folds": 3}, calibrator,
                                     groups=genes)
    assert inner["selection"].startswith("validation + 3-fold group cross-validation")
    # the kept point is the one with the lowest selection loss, and that loss covers the training rows too
    losses = [p["selection_loss"] for p in inner["grid"]]
    if inner["beats_offset"]:
        assert inner["best_val_loss"] == pytest.approx(min(losses))
        assert min(losses) < inner["offset_selection_loss"]
    else:
        assert min(losses) >= inner["offset_selection_loss"]
    assert [p["selection_loss"] for p in inner["grid"]] != [p["val_loss"] for p in inner["grid"]]
