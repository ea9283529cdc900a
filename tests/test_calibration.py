"""Calibration (Platt on validation, prevalence-corrected), Brier/ECE, spliceai_calibrated and ensembles."""
import json

import numpy as np
import pandas as pd
import pytest
from scipy.special import expit, logit

import validsplice.evaluation.evaluate as E
import validsplice.training.calibration as C
import validsplice.training.ensemble as EN
from validsplice.common.rule_io import UserError
from validsplice.evaluation.cluster_bootstrap import calibration_metrics
from validsplice.evaluation.metrics import roc_auc
from validsplice.training.predictions import PREDICTION_COLUMNS

SA, NORMAL = "Splice-altering", "Normal"


def population(n=40_000, prevalence=0.2, seed=0):
    """Scores whose true P(SA | score) is known: SA ~ N(0.6, 0.15), Normal ~ N(0.3, 0.15)."""
    rng = np.random.default_rng(seed)
    y = rng.random(n) < prevalence
    x = np.where(y, rng.normal(0.6, 0.15, n), rng.normal(0.3, 0.15, n))
    # Bayes: log-likelihood ratio of the two normals plus the prior log-odds
    llr = ((x - 0.3) ** 2 - (x - 0.6) ** 2) / (2 * 0.15 ** 2)
    return x, y.astype(int), expit(llr + logit(prevalence))


def balanced_sample(x, y, n_per_class, seed=1):
    rng = np.random.default_rng(seed)
    keep = np.r_[rng.choice(np.flatnonzero(y == 1), n_per_class, replace=False),
                 rng.choice(np.flatnonzero(y == 0), n_per_class, replace=False)]
    return x[keep], y[keep]


def test_platt_on_balanced_validation_corrected_to_prevalence_recovers_true_probability():
    x, y, truth = population(prevalence=0.2)
    vx, vy = balanced_sample(x, y, 1500)
    cal = C.Calibrator.fit(vx, vy, 0.2)
    p = cal.apply(x)
    assert np.abs(p - truth).max() < 0.05
    assert p.mean() == pytest.approx(y.mean(), abs=0.01)
    # without the correction the probabilities are those of a 50 % prior: far too high here
    uncorrected = C.Calibrator.fit(vx, vy).apply(x)
    assert uncorrected.mean() > 0.3 and cal.validation["prevalence"] == pytest.approx(0.5)
    assert cal.intercept == pytest.approx(cal.intercept_at_validation_prevalence + logit(0.2) - logit(0.5))


def test_calibration_is_monotone_so_ranking_metrics_do_not_change():
    x, y, _ = population(n=3000)
    cal = C.Calibrator.fit(*balanced_sample(x, y, 300), 0.2)
    p = cal.apply(x)
    assert cal.slope > 0
    assert roc_auc(y, p)[0] == roc_auc(y, x)[0]
    assert (np.diff(p[np.argsort(x)]) >= 0).all()


def test_probability_scale_scores_are_calibrated_on_their_logit():
    # an already calibrated probability on a balanced split: Platt on logit(score) is the identity
    rng = np.random.default_rng(3)
    p_true = rng.uniform(0.02, 0.98, 20_000)
    y = (rng.random(p_true.size) < p_true).astype(int)
    cal = C.Calibrator.fit(p_true, y, y.mean(), score_scale="probability")
    assert cal.input == "logit(score)"
    assert cal.slope == pytest.approx(1.0, abs=0.08) and cal.intercept == pytest.approx(0.0, abs=0.08)
    assert np.isfinite(cal.apply([0.0, 1.0])).all()  # logit clipped at the ends


def test_separable_validation_gives_a_finite_slope_and_reversed_ranking_a_constant():
    scores = np.r_[np.linspace(0.5, 0.9, 20), np.linspace(0.0, 0.4, 20)]
    labels = np.r_[np.ones(20), np.zeros(20)].astype(int)
    cal = C.Calibrator.fit(scores, labels, 0.5)
    assert np.isfinite(cal.slope) and cal.slope > 0
    assert 0.9 < cal.apply([0.9])[0] < 1.0  # Platt's smoothed targets: never exactly 1
    backwards = C.Calibrator.fit(scores, 1 - labels, 0.3)
    assert backwards.slope == 0.0 and "slope 0" in backwards.note
    assert np.allclose(backwards.apply(scores), backwards.apply(scores)[0])


def test_fit_needs_both_classes_and_labels_can_be_class_names():
    with pytest.raises(UserError, match="Splice-altering and Normal"):
        C.Calibrator.fit([0.1, 0.2], [1, 1], 0.5)
    by_name = C.Calibrator.fit([0.1, 0.9, 0.2, 0.8], [NORMAL, SA, NORMAL, SA], 0.4)
    by_int = C.Calibrator.fit([0.1, 0.9, 0.2, 0.8], [0, 1, 0, 1], 0.4)
    assert by_name.to_dict() == by_int.to_dict()


def test_calibrator_json_round_trip_and_clear_errors(tmp_path):
    x, y, _ = population(n=2000)
    cal = C.Calibrator.fit(x, y, 0.25, prevalence_source="test")
    path = tmp_path / "calibrator.json"
    cal.save(path, experiment="e")
    loaded = C.Calibrator.load(path)
    np.testing.assert_array_equal(loaded.apply(x), cal.apply(x))
    assert C.Calibrator.from_dict(json.loads(json.dumps(cal.to_dict()))) == cal
    data = json.loads(path.read_text())
    assert data["experiment"] == "e" and data["method"] == "platt" and data["fitted_on"] == "validation split"
    del data["slope"]
    with pytest.raises(UserError, match="slope"):
        C.Calibrator.from_dict(data, where="x.json")
    with pytest.raises(UserError, match="calibrate_model"):
        C.Calibrator.load(tmp_path / "missing.json")


def test_assumed_prevalence_is_the_labelled_training_data_before_balancing():
    summary = {"per_split_before_balancing": {"train": {SA: 30, NORMAL: 120}, "val": {SA: 10, NORMAL: 40},
                                              "test": {SA: 90, NORMAL: 10}},
               "per_split": {"train": {SA: 30, NORMAL: 30}}}
    prev = C.assumed_prevalence(summary)
    assert prev.value == pytest.approx(40 / 200)  # test counts never enter
    assert "40 Splice-altering, 160 Normal" in prev.source
    assert C.assumed_prevalence({}).value is None


# ----------------------------------------------------------------- the rule: validation only
def experiment_files(tmp_path, seed=0, scale="delta"):
    rng = np.random.default_rng(seed)

    def table(n, split, prevalence):
        y = rng.random(n) < prevalence
        score = np.clip(np.where(y, rng.normal(0.5, 0.2, n), rng.normal(0.2, 0.2, n)), 0, 1)
        return pd.DataFrame({"variant_id": [f"{split}{i}" for i in range(n)], "label": np.where(y, SA, NORMAL),
                             "split": split, "score": score})

    val, test = table(200, "val", 0.5), table(300, "test", 0.3)
    paths = {"val_predictions": tmp_path / "val_predictions.parquet", "predictions": tmp_path / "predictions.parquet",
             "training": tmp_path / "training.json", "target_summary": tmp_path / "summary.json"}
    val.to_parquet(paths["val_predictions"])
    test.to_parquet(paths["predictions"])
    paths["training"].write_text(json.dumps({"score_scale": scale}))
    paths["target_summary"].write_text(json.dumps(
        {"per_split_before_balancing": {"train": {SA: 100, NORMAL: 300}, "val": {SA: 20, NORMAL: 80}}}))
    return paths, val, test


def run_calibrate(paths, out, experiment="e"):
    out.mkdir(exist_ok=True)
    C.calibrate_experiment(**paths, calibrator_path=out / "calibrator.json", calibrated_path=out / "calibrated.parquet",
                           experiment=experiment)
    return out / "calibrator.json", out / "calibrated.parquet"


def test_calibrator_never_sees_test_data(tmp_path):
    paths, val, test = experiment_files(tmp_path)
    cal_a, calibrated_a = run_calibrate(paths, tmp_path / "a")
    # change every test score and flip every test label: the fitted calibrator must not move
    changed = test.assign(score=1 - test["score"], label=np.where(test["label"] == SA, NORMAL, SA))
    changed.to_parquet(paths["predictions"])
    cal_b, calibrated_b = run_calibrate(paths, tmp_path / "b")
    assert cal_a.read_text() == cal_b.read_text()
    # the validation split does move it
    val.assign(score=val["score"] ** 2).to_parquet(paths["val_predictions"])
    cal_c, _ = run_calibrate(paths, tmp_path / "c")
    assert cal_c.read_text() != cal_a.read_text()
    # the calibrated table applies the validation-fitted map to the test scores
    table = pd.read_parquet(calibrated_b)
    assert list(table.columns) == C.CALIBRATED_COLUMNS
    np.testing.assert_allclose(table["p_sa"], C.Calibrator.load(cal_a).apply(changed["score"]))
    saved = json.loads(cal_a.read_text())
    assert saved["prevalence"] == pytest.approx(120 / 500)
    assert saved["validation"]["per_class"] == {SA: int((val["label"] == SA).sum()),
                                                NORMAL: int((val["label"] == NORMAL).sum())}


# ----------------------------------------------------------------- Brier and ECE
def test_brier_and_ece_known_values():
    y = np.array([1, 1, 0, 0])
    p = np.array([0.9, 0.7, 0.2, 0.05])
    out = calibration_metrics(y, p, n_bootstrap=0)
    assert out["brier"].value == pytest.approx(np.mean((p - y) ** 2))
    # bins [0.9,1): y 1 vs 0.9; [0.7,0.8): 1 vs 0.7; [0.2,0.3): 0 vs 0.2; [0,0.1): 0 vs 0.05; one variant a
    # bin has no sampling-variance term: ECE = sqrt(mean of squared gaps); the plug-in L1 ECE is kept
    assert out["ece"].value == pytest.approx(np.sqrt((0.1**2 + 0.3**2 + 0.2**2 + 0.05**2) / 4))
    assert out["ece"].extra["plug_in_l1"] == pytest.approx((0.1 + 0.3 + 0.2 + 0.05) / 4)
    # two variants in one bin: gap 0.5 - 0.55, minus the share's sampling variance 0.5 * 0.5 / (2 - 1)
    both = calibration_metrics([1, 0], [0.52, 0.58], n_bootstrap=0)
    assert both["ece"].extra["squared_debiased"] == pytest.approx(0.05**2 - 0.25)
    assert both["ece"].value == 0.0  # no miscalibration detectable beyond sampling noise
    assert calibration_metrics([1], [1.0], n_bootstrap=0)["ece"].value == 0.0  # p = 1 is in the last bin


def test_calibration_bootstrap_matches_explicit_resamples():
    rng = np.random.default_rng(0)
    y = (rng.random(300) < 0.3).astype(int)
    p = np.clip(0.3 + 0.4 * (y - 0.3) + rng.normal(0, 0.15, 300), 0, 1)
    out = calibration_metrics(y, p, n_bootstrap=400, seed=5)
    assert out["brier"].ci_low < out["brier"].value < out["brier"].ci_high
    assert out["ece"].ci_low < out["ece"].ci_high
    # the same stratified resamples drawn one at a time, each variant repeated, give the same interval:
    # the basic interval of the debiased square, anchored at the sample's plug-in square, then rooted
    from validsplice.evaluation.cluster_bootstrap import _multinomial_blocks, calibration_bins

    def squared(yy, pp):
        bins = calibration_bins(pp)
        plug, debiased = 0.0, 0.0
        for b in np.unique(bins):
            yb, pb = yy[bins == b], pp[bins == b]
            gap2 = (yb.mean() - pb.mean()) ** 2
            var = yb.mean() * (1 - yb.mean()) / (yb.size - 1) if yb.size > 1 else 0.0
            plug += yb.size / yy.size * gap2
            debiased += yb.size / yy.size * (gap2 - var)
        return debiased, plug

    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    r = np.random.default_rng(5)
    boot = []
    for w_pos, w_neg in zip(_multinomial_blocks(r, pos.size, 400, 400), _multinomial_blocks(r, neg.size, 400, 400)):
        for wp, wn in zip(w_pos, w_neg):
            idx = np.r_[np.repeat(pos, wp.astype(int)), np.repeat(neg, wn.astype(int))]
            boot.append(squared(y[idx], p[idx])[0])
    t, s = squared(y, p)
    assert out["ece"].extra["squared_debiased"] == pytest.approx(t)
    lo, hi = t - (np.percentile(boot, 97.5) - s), t - (np.percentile(boot, 2.5) - s)
    assert out["ece"].ci_low == pytest.approx(np.sqrt(max(lo, 0)))
    assert out["ece"].ci_high == pytest.approx(np.sqrt(max(hi, 0)))


def test_a_perfectly_calibrated_model_gets_an_ece_interval_containing_0():
    """Seeded simulation (issue 18): y ~ Bernoulli(p). The plug-in ECE is positive for every sample
    (its interval would exclude 0); the debiased estimate's interval reaches 0 in most seeds, and a
    miscalibrated model's does not."""
    contains, plug_in = [], []
    for seed in range(40):
        rng = np.random.default_rng(seed)
        p = rng.beta(1.2, 2.0, 600)
        y = (rng.random(600) < p).astype(int)
        e = calibration_metrics(y, p, n_bootstrap=300, seed=seed)["ece"]
        contains.append(e.ci_low == 0.0)
        plug_in.append(e.extra.get("plug_in_l1"))
    assert np.mean(contains) >= 0.8
    assert min(plug_in) > 0.01  # the plug-in (old) estimate: clearly above 0 even for a perfect model
    rng = np.random.default_rng(99)
    p = rng.beta(1.2, 2.0, 600)
    y = (rng.random(600) < np.clip(p + 0.15, 0, 1)).astype(int)   # under-predicts by 0.15
    off = calibration_metrics(y, p, n_bootstrap=300, seed=0)["ece"]
    assert off.ci_low > 0.05 and off.value == pytest.approx(0.15, abs=0.04)


def test_distinct_scores_keep_distinct_probabilities():
    """Scores beyond 1e-6 of 0 or 1 were clipped into one logit, tying their P(SA) (issue 18)."""
    rng = np.random.default_rng(2)
    y = (rng.random(400) < 0.5).astype(int)
    val = np.clip(0.5 + 0.3 * (y - 0.5) + rng.normal(0, 0.2, 400), 0.001, 0.999)
    cal = C.Calibrator.fit(val, y, 0.3, score_scale="probability")
    test = np.array([0.0, 1e-9, 2e-9, 1e-7, 0.3, 1 - 1e-7, 1 - 1e-8, 1 - 1e-9, 1.0])
    p_sa = cal.apply(test)
    assert np.all(np.diff(p_sa) > 0) and np.isfinite(p_sa).all()
    assert np.isnan(cal.apply([np.nan]))[0]
    delta = C.Calibrator.fit(val, y, 0.3, score_scale="delta")
    assert np.all(np.diff(delta.apply(np.array([0.0, 1e-9, 0.5, 0.5 + 1e-9]))) > 0)
    # a flat calibrator (slope 0) gives one probability to every score
    flat = C.Calibrator.fit(np.full(400, 0.5), y, 0.3, score_scale="probability")
    assert flat.slope == 0 and np.ptp(flat.apply(test)) == 0


def test_evaluation_reports_brier_and_ece_of_the_calibrated_probability():
    x, y, _ = population(n=600, seed=4)
    df = pd.DataFrame({"variant_id": [f"v{i}" for i in range(600)], "label": np.where(y, SA, NORMAL), "score": x})
    calibrated = df.assign(p_sa=expit(3 * x - 1)).iloc[5:]  # 5 variants without a probability
    result = E.evaluate_predictions(df, training={"model": "m"}, experiment="m", n_bootstrap=50,
                                    calibrated=calibrated)
    brier = result["headline"]["brier"]
    kept = df.iloc[5:]
    expected = np.mean((expit(3 * kept["score"] - 1) - (kept["label"] == SA)) ** 2)
    assert brier["value"] == pytest.approx(expected) and brier["n"] == 595
    assert brier["n_without_probability"] == 5 and result["headline"]["ece"]["ci_low"] is not None
    assert "10 equal-width bins" in result["definitions"]["ece"]
    assert brier["reason"] is None
    flat = E.evaluate_predictions(df, training={"model": "m"}, experiment="m", n_bootstrap=0,
                                  calibrated=df.assign(p_sa=0.3))
    assert flat["headline"]["brier"]["value"] is not None and "slope is 0" in flat["headline"]["ece"]["reason"]
    raw = E.evaluate_predictions(df, training={"model": "spliceai_raw"}, experiment="spliceai_raw", n_bootstrap=0)
    assert raw["headline"]["brier"]["value"] is None and "spliceai_calibrated" in raw["headline"]["brier"]["reason"]


# ----------------------------------------------------------------- spliceai_calibrated and ensembles
def member_folder(root, name, seed, strength):
    """A member experiment's folder: predictions, val_predictions, calibrator.json, training.json."""
    rng = np.random.default_rng(seed)
    folder = root / name
    folder.mkdir(parents=True)
    for split, n in (("val", 120), ("test", 200)):
        label = np.where(np.arange(n) % 3 == 0, SA, NORMAL) if split == "test" else np.where(np.arange(n) % 2, SA, NORMAL)
        score = np.clip(strength * (label == SA) + rng.normal(0.2, 0.15, n), 0, 1)
        ids = [f"{split}{i}" for i in range(n)]
        order = rng.permutation(n)  # members list the variants in different orders
        table = pd.DataFrame({"variant_id": ids, "label": label, "split": split, "score": score,
                              "target_max_abs_delta": np.nan, "scored": True}).iloc[order]
        table.to_parquet(folder / ("val_predictions.parquet" if split == "val" else "predictions.parquet"))
    (folder / "training.json").write_text(json.dumps({"score_scale": "delta"}))
    summary = root / "summary.json"
    summary.write_text(json.dumps({"per_split_before_balancing": {"train": {SA: 50, NORMAL: 150},
                                                                  "val": {SA: 10, NORMAL: 30}}}))
    C.calibrate_experiment(val_predictions=folder / "val_predictions.parquet", predictions=folder / "predictions.parquet",
                           training=folder / "training.json", target_summary=summary,
                           calibrator_path=folder / "calibrator.json", calibrated_path=folder / "calibrated.parquet",
                           experiment=name)
    return folder


def run_combine(root, experiment, members):
    out = root / experiment
    files = {f"out_{k}": out / f"{k}.{e}" for k, e in (("predictions", "parquet"), ("val_predictions", "parquet"),
                                                        ("calibrated", "parquet"), ("training", "json"),
                                                        ("history", "tsv"))}
    info = EN.combine_calibrated(
        members=members, calibrators=[root / m / "calibrator.json" for m in members],
        val_predictions=[root / m / "val_predictions.parquet" for m in members],
        predictions=[root / m / "predictions.parquet" for m in members], target_summary=root / "summary.json",
        experiment=experiment, **files)
    return info, files


def test_spliceai_calibrated_keeps_the_raw_ranking(tmp_path):
    raw = member_folder(tmp_path, "spliceai_raw", 0, 0.3)
    info, files = run_combine(tmp_path, "spliceai_calibrated", ["spliceai_raw"])
    pred = pd.read_parquet(files["out_predictions"])
    base = pd.read_parquet(raw / "predictions.parquet").set_index("variant_id").loc[pred["variant_id"]]
    assert list(pred.columns) == PREDICTION_COLUMNS
    y = (pred["label"] == SA).to_numpy()
    assert roc_auc(y, pred["score"])[0] == roc_auc(y, base["score"])[0]
    calibrated = pd.read_parquet(raw / "calibrated.parquet").set_index("variant_id").loc[pred["variant_id"]]
    np.testing.assert_allclose(pred["score"], calibrated["p_sa"])
    own = pd.read_parquet(files["out_calibrated"])
    np.testing.assert_allclose(own["p_sa"], own["score"])
    assert info["model"] == "spliceai_calibrated" and info["score_scale"] == "probability"
    assert info["threshold"] is not None and info["threshold_selection"]["assumed_prevalence"] == pytest.approx(0.25)


def test_ensemble_averages_calibrated_probabilities(tmp_path):
    for name, seed, strength in (("a", 1, 0.3), ("b", 2, 0.5)):
        member_folder(tmp_path, name, seed, strength)
    b_test = pd.read_parquet(tmp_path / "b" / "predictions.parquet")
    b_test.loc[b_test["variant_id"] == "test7", "scored"] = False  # b could not score one variant
    b_test.to_parquet(tmp_path / "b" / "predictions.parquet")
    info, files = run_combine(tmp_path, "ab", ["a", "b"])
    pred = pd.read_parquet(files["out_predictions"]).set_index("variant_id")
    assert not pred.loc["test7", "scored"] and pred["scored"].sum() == len(pred) - 1
    p = [pd.read_parquet(tmp_path / m / "calibrated.parquet").set_index("variant_id")["p_sa"] for m in "ab"]
    expected = (p[0] + p[1]).loc[pred.index] / 2
    np.testing.assert_allclose(pred["score"], expected)
    val = pd.read_parquet(files["out_val_predictions"])
    assert len(val) == 120 and (val["split"] == "val").all()
    assert info["model"] == "ensemble" and info["members"] == ["a", "b"] and "mean calibrated" in info["note"]
    # members listing different variants is a clear error, not a silent inner join
    t = pd.read_parquet(tmp_path / "b" / "predictions.parquet")
    t.iloc[1:].to_parquet(tmp_path / "b" / "predictions.parquet")
    with pytest.raises(UserError, match="different variants"):
        run_combine(tmp_path, "ab2", ["a", "b"])


def test_ensemble_config_checked_at_parse_time():
    exps = ["spliceai_raw", "cnn", "hyena"]
    assert EN.check_ensembles({"both": ["cnn", "hyena"], "with_sai": ["cnn", "spliceai_calibrated"]}, exps)
    with pytest.raises(ValueError, match=r"unknown experiment\(s\) 'cnnn'"):
        EN.check_ensembles({"e": ["cnn", "cnnn"]}, exps)
    with pytest.raises(ValueError, match="is an ensemble"):
        EN.check_ensembles({"e1": ["cnn", "hyena"], "e2": ["e1", "cnn"]}, exps)
    with pytest.raises(ValueError, match="already an experiment"):
        EN.check_ensembles({"cnn": ["cnn", "hyena"]}, exps)
    with pytest.raises(ValueError, match="at least two"):
        EN.check_ensembles({"e": ["spliceai_raw", "spliceai_calibrated"]}, exps)
    assert EN.check_ensembles(None, exps) == {}


def test_the_ece_estimate_lies_inside_its_cluster_interval():
    """Two large gene groups, as in the demo's test split (it showed 0.000 [0.095, 0.142]): resampling
    two groups adds little variance, so the independent-variant debiasing over-corrects; the estimate
    is corrected by the bias its resamples show and never falls outside its own interval."""
    for seed in range(30):
        rng = np.random.default_rng(seed)
        groups = np.repeat(np.arange(2), 34)
        p = rng.beta(2, 2, groups.size)
        y = (rng.random(groups.size) < p).astype(int)
        e = calibration_metrics(y, p, groups=groups, n_bootstrap=200, seed=seed)["ece"]
        assert e.ci_low - 1e-12 <= e.value <= e.ci_high + 1e-12, (seed, e.value, e.ci_low, e.ci_high)


# ----------------------------------------------------------------- a raw base-model row: train + validation
def raw_row_files(tmp_path, seed=3):
    """targets tables of one split: train_labelled / val_labelled (every labelled row, prevalence 0.2), val (a
    balanced sample of val_labelled, as build_targets writes it) and test, with the base model's max DS."""
    rng = np.random.default_rng(seed)

    def table(n, split, prevalence=0.2):
        y = rng.random(n) < prevalence
        ds = np.clip(np.where(y, rng.normal(0.3, 0.2, n), rng.normal(0.05, 0.1, n)), 0, 1)
        return pd.DataFrame({"variant_id": [f"{split}{i}" for i in range(n)], "label": np.where(y, SA, NORMAL),
                             "split": split, "spliceai_max_ds": ds, "target_max_abs_delta": ds})

    tables = {"train_labelled": table(400, "train"), "val_labelled": table(40, "val"), "test": table(200, "test")}
    val = tables["val_labelled"]
    n = int((val["label"] == SA).sum())
    tables["val"] = pd.concat([val[val["label"] == SA], val[val["label"] == NORMAL].head(n)])
    paths = {name: tmp_path / f"{name}.parquet" for name in tables}
    for name, t in tables.items():
        t.to_parquet(paths[name])
    labelled = pd.concat([tables["train_labelled"], tables["val_labelled"]])
    summary = tmp_path / "summary.json"
    summary.write_text(json.dumps({"per_split_before_balancing": {
        s: {SA: int((labelled[labelled["split"] == s]["label"] == SA).sum()),
            NORMAL: int((labelled[labelled["split"] == s]["label"] == NORMAL).sum())} for s in ("train", "val")}}))
    return paths, tables, summary


def run_raw_row(paths, summary, out):
    from validsplice.training.predictions import baseline_predictions

    out.mkdir(exist_ok=True)
    baseline_predictions(test_path=paths["test"], val_path=paths["val"], experiment="spliceai_raw",
                         predictions_path=out / "predictions.parquet", val_predictions_path=out / "val_predictions.parquet",
                         history_path=out / "history.tsv", training_path=out / "training.json",
                         labelled_paths=[paths["train_labelled"], paths["val_labelled"]],
                         calibration_rows_path=out / "calibration_rows.parquet")
    C.calibrate_experiment(val_predictions=out / "val_predictions.parquet", predictions=out / "predictions.parquet",
                           training=out / "training.json", target_summary=summary,
                           calibrator_path=out / "calibrator.json", calibrated_path=out / "calibrated.parquet",
                           experiment="spliceai_raw", calibration_rows=out / "calibration_rows.parquet")
    return C.Calibrator.load(out / "calibrator.json")


def test_raw_row_calibrator_is_fitted_on_every_labelled_train_and_validation_row(tmp_path):
    """The base model never saw the labels: its calibrator (spliceai_calibrated and the offset the label-trained
    models start from) uses all labelled non-test rows, not the small balanced validation sample."""
    paths, tables, summary = raw_row_files(tmp_path)
    cal = run_raw_row(paths, summary, tmp_path / "raw")
    labelled = pd.concat([tables["train_labelled"], tables["val_labelled"]])
    expected = C.Calibrator.fit(labelled["spliceai_max_ds"], labelled["label"],
                                C.read_prevalence(summary).value)
    assert cal.validation["n"] == len(labelled) == 440
    assert cal.slope == pytest.approx(expected.slope) and cal.intercept == pytest.approx(expected.intercept)
    assert cal.fitted_on == C.FITTED_ON_LABELLED and "train + validation" in C.describe(cal)
    # the rows hold the prevalence's own ratio: no prior shift is needed
    assert cal.intercept == pytest.approx(cal.intercept_at_validation_prevalence)
    only_val = C.Calibrator.fit(tables["val"]["spliceai_max_ds"], tables["val"]["label"], C.read_prevalence(summary).value)
    assert abs(cal.slope - only_val.slope) > 1e-3  # not what main fitted (the balanced validation sample)
    # the train rows move it; the test rows do not
    train = tables["train_labelled"]
    train.assign(spliceai_max_ds=train["spliceai_max_ds"] ** 2).to_parquet(paths["train_labelled"])
    assert run_raw_row(paths, summary, tmp_path / "moved").slope != pytest.approx(cal.slope)
    tables["train_labelled"].to_parquet(paths["train_labelled"])
    test = tables["test"]
    test.assign(spliceai_max_ds=1 - test["spliceai_max_ds"]).to_parquet(paths["test"])
    assert run_raw_row(paths, summary, tmp_path / "same").to_dict() == cal.to_dict()
    # the validation predictions still list val.parquet's rows (ensemble members align on them)
    val_pred = pd.read_parquet(tmp_path / "raw" / "val_predictions.parquet")
    assert list(val_pred["variant_id"]) == list(tables["val"]["variant_id"])


def test_spliceai_calibrated_says_where_its_calibrator_was_fitted_and_test_rows_are_refused(tmp_path):
    paths, tables, summary = raw_row_files(tmp_path)
    root = tmp_path / "models"
    root.mkdir()
    run_raw_row(paths, summary, root / "spliceai_raw")
    summary.rename(root / "summary.json")
    info, files = run_combine(root, "spliceai_calibrated", ["spliceai_raw"])
    assert "fitted on train + validation" in info["note"]
    np.testing.assert_allclose(pd.read_parquet(files["out_predictions"])["score"],
                               pd.read_parquet(root / "spliceai_raw" / "calibrated.parquet")["p_sa"])
    rows = root / "spliceai_raw" / "calibration_rows.parquet"
    pd.concat([pd.read_parquet(rows), pd.read_parquet(root / "spliceai_raw" / "predictions.parquet")]).to_parquet(rows)
    with pytest.raises(UserError, match="test row"):
        C.calibrate_experiment(val_predictions=root / "spliceai_raw" / "val_predictions.parquet",
                               predictions=root / "spliceai_raw" / "predictions.parquet",
                               training=root / "spliceai_raw" / "training.json", target_summary=root / "summary.json",
                               calibrator_path=tmp_path / "c.json", calibrated_path=tmp_path / "c.parquet",
                               experiment="spliceai_raw", calibration_rows=rows)
