"""Metrics: hand-computed values, edge cases, bootstrap, DeLong against a slow reference."""
import json
import math

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import average_precision_score, roc_auc_score

import validsplice.evaluation.cluster_bootstrap as CB
import validsplice.evaluation.evaluate as E
import validsplice.evaluation.metrics as M
from validsplice.common.rule_io import UserError
from validsplice.config.naming import NEGATIVE, POSITIVE

# pos 0.9, 0.5, 0.3 vs neg 0.5, 0.1, 0.3 (two ties across classes)
Y = np.array([1, 1, 0, 0, 1, 0])
S = np.array([0.9, 0.5, 0.5, 0.1, 0.3, 0.3])


def test_roc_auc_hand_computed_with_ties():
    # pairs won: 0.9 -> 3; 0.5 -> 2 + tie; 0.3 -> 1 + tie  => (3 + 2.5 + 1.5) / 9
    auc, reason = M.roc_auc(Y, S)
    assert reason is None
    assert auc == pytest.approx(7 / 9)


def test_average_precision_hand_computed_with_ties():
    # thresholds 0.9 (P=1, R=1/3), 0.5 (P=2/3, R=2/3), 0.3 (P=3/5, R=1), 0.1 (dR=0)
    ap, reason = M.average_precision(Y, S)
    assert reason is None
    assert ap == pytest.approx((1 + 2 / 3 + 3 / 5) / 3)


def test_ranking_metrics_match_sklearn_on_random_tied_data():
    rng = np.random.default_rng(3)
    for _ in range(20):
        y = rng.integers(0, 2, 60)
        y[:2] = [0, 1]
        s = np.round(rng.random(60), 1)  # many ties
        assert M.roc_auc(y, s)[0] == pytest.approx(roc_auc_score(y, s), abs=1e-12)
        assert M.average_precision(y, s)[0] == pytest.approx(average_precision_score(y, s), abs=1e-12)


def test_rates_and_cutoffs_hand_computed():
    est = CB.headline_metrics(Y, S, n_bootstrap=0, detection_threshold=0.1, cutoffs=(0.5,))
    assert est["detection_rate"].value == pytest.approx(1.0)  # 0.9, 0.5, 0.3 > 0.1
    assert est["fp_rate"].value == pytest.approx(2 / 3)  # 0.5, 0.3 > 0.1; 0.1 is not
    assert est["sensitivity@0.5"].value == pytest.approx(2 / 3)  # >= 0.5: 0.9, 0.5
    assert est["specificity@0.5"].value == pytest.approx(2 / 3)  # < 0.5: 0.1, 0.3
    assert est["pearson_r"].reason == "model has no delta prediction"
    assert math.isnan(est["pearson_r"].value)


def test_pearson_hand_computed_and_constant():
    r, reason = M.pearson_r([1, 2, 3], [1, 2, 4])
    assert reason is None
    assert r == pytest.approx(9 / math.sqrt(84))
    r, reason = M.pearson_r([0.2, 0.2, 0.2, 0.2], [1, 2, 3, 4])
    assert math.isnan(r) and "predicted" in reason and "constant" in reason
    r, reason = M.pearson_r([1.0], [2.0])
    assert math.isnan(r) and "fewer than 3" in reason


def test_single_class_and_empty_are_undefined_with_reason():
    auc, reason = M.roc_auc([1, 1, 1], [0.1, 0.5, 0.9])
    assert math.isnan(auc) and "single class" in reason
    ap, reason = M.average_precision([0, 0], [0.1, 0.5])
    assert math.isnan(ap) and "single class" in reason
    auc, reason = M.roc_auc([], [])
    assert math.isnan(auc) and reason
    est = CB.headline_metrics([1, 1, 1], [0.1, 0.5, 0.9], n_bootstrap=50)
    assert not est["roc_auc"].defined and est["roc_auc"].to_dict()["value"] is None
    assert math.isnan(est["fp_rate"].value) and "no variants" in est["fp_rate"].reason
    assert est["detection_rate"].value == pytest.approx(2 / 3)
    est = CB.headline_metrics([], [], n_bootstrap=50)
    assert all(not e.defined for e in est.values())


def test_constant_scores_give_half_auc_with_note():
    est = CB.headline_metrics([1, 0, 1, 0], [0.3] * 4, n_bootstrap=20)
    assert est["roc_auc"].value == pytest.approx(0.5)
    assert "all scores equal" in est["roc_auc"].reason


def test_weighted_metrics_equal_explicit_resample():
    """A bootstrap weight row must give the same AUC/AP as the explicitly repeated data."""
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 80)
    s = np.round(rng.random(80) + 0.3 * y, 2)
    w = np.bincount(rng.integers(0, 80, 80), minlength=80)
    auc, ap = M.weighted_ranking_metrics(s, y, w[None, :].astype(float))
    idx = np.repeat(np.arange(80), w)
    assert auc[0] == pytest.approx(roc_auc_score(y[idx], s[idx]), abs=1e-12)
    assert ap[0] == pytest.approx(average_precision_score(y[idx], s[idx]), abs=1e-12)


def _synthetic(n=600, seed=1):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.35).astype(int)
    s = np.clip(rng.normal(0.15 + 0.3 * y, 0.15), 0, 1)
    target = np.where(y == 1, rng.random(n), 0.0)
    pred = target + rng.normal(0, 0.2, n)
    return y, s, pred, target


def test_bootstrap_interval_contains_estimate_and_is_seeded():
    y, s, pred, target = _synthetic()
    a = CB.headline_metrics(y, s, pred, target, n_bootstrap=300, seed=7)
    b = CB.headline_metrics(y, s, pred, target, n_bootstrap=300, seed=7)
    c = CB.headline_metrics(y, s, pred, target, n_bootstrap=300, seed=8)
    for name in ("pearson_r", "roc_auc", "pr_auc", "detection_rate", "fp_rate", "sensitivity@0.5"):
        e = a[name]
        assert e.ci_low <= e.value <= e.ci_high, name
        assert e.ci_high - e.ci_low > 0, name
        assert (b[name].ci_low, b[name].ci_high) == (e.ci_low, e.ci_high), name
    assert (c["roc_auc"].ci_low, c["roc_auc"].ci_high) != (a["roc_auc"].ci_low, a["roc_auc"].ci_high)


def test_bootstrap_width_shrinks_with_sample_size():
    y, s, _, _ = _synthetic(200, seed=2)
    y2, s2, _, _ = _synthetic(3000, seed=2)
    small = CB.headline_metrics(y, s, n_bootstrap=200, seed=1)["roc_auc"]
    large = CB.headline_metrics(y2, s2, n_bootstrap=200, seed=1)["roc_auc"]
    assert (large.ci_high - large.ci_low) < (small.ci_high - small.ci_low)


# ----------------------------------------------------------------- DeLong
def _slow_delong(y, a, b):
    """Textbook DeLong: Mann-Whitney kernel psi over all pairs, explicit structural components."""
    y = np.asarray(y).astype(bool)
    aucs, v10s, v01s = [], [], []
    for s in (a, b):
        x, z = s[y], s[~y]
        psi = (x[:, None] > z[None, :]) + 0.5 * (x[:, None] == z[None, :])
        aucs.append(psi.mean())
        v10s.append(psi.mean(axis=1))
        v01s.append(psi.mean(axis=0))
    m, n = y.sum(), (~y).sum()
    s10, s01 = np.cov(np.vstack(v10s)), np.cov(np.vstack(v01s))
    cov = s10 / m + s01 / n
    var = cov[0, 0] + cov[1, 1] - 2 * cov[0, 1]
    from scipy.stats import norm

    z = (aucs[0] - aucs[1]) / math.sqrt(var)
    return aucs[0] - aucs[1], math.sqrt(var), 2 * norm.sf(abs(z))


def test_delong_matches_slow_reference_with_ties():
    rng = np.random.default_rng(5)
    y = (rng.random(150) < 0.4).astype(int)
    a = np.round(rng.normal(y * 0.8, 1.0), 1)
    b = np.round(a + rng.normal(0, 0.8, 150), 1)
    fast = M.delong_paired(y, a, b)
    diff, se, p = _slow_delong(y, a, b)
    assert fast["auc_a"] == pytest.approx(roc_auc_score(y, a))
    assert fast["difference"] == pytest.approx(diff, abs=1e-12)
    assert fast["p_value"] == pytest.approx(p, rel=1e-9)
    assert fast["ci_high"] - fast["ci_low"] == pytest.approx(2 * 1.959963984540054 * se, rel=1e-9)


def test_delong_known_cases():
    y = np.array([1, 1, 1, 0, 0, 0])
    s = np.array([0.9, 0.8, 0.4, 0.5, 0.2, 0.1])
    same = M.delong_paired(y, s, s.copy())
    assert same["difference"] == 0 and same["p_value"] == 1.0 and "identical" in same["reason"]
    # perfect vs reversed ranking: AUC 1 vs 0
    flip = M.delong_paired(y, y.astype(float), -y.astype(float))
    assert flip["auc_a"] == 1.0 and flip["auc_b"] == 0.0 and flip["difference"] == 1.0
    tiny = M.delong_paired([1, 0, 0], [0.3, 0.2, 0.1], [0.1, 0.2, 0.3])
    assert tiny["p_value"] is None and "at least 2" in tiny["reason"]


def test_midranks():
    assert M.midranks(np.array([3.0, 1.0, 3.0, 2.0])).tolist() == [3.5, 1.0, 3.5, 2.0]


# ----------------------------------------------------------------- one experiment
def _predictions(seed=0, n=400, delta=True):
    rng = np.random.default_rng(seed)
    labels = rng.choice(["Splice-altering", "Normal", "Low-frequency", "Conflicting"], n, p=[0.3, 0.5, 0.1, 0.1])
    sa = labels == "Splice-altering"
    target = np.where(sa, rng.random(n), 0.0)
    score = np.clip(rng.normal(0.1 + 0.4 * sa, 0.15), 0, 1)
    df = pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(n)], "label": labels, "split": "test", "score": score,
        "pred_neither": np.nan, "pred_acceptor": np.nan, "pred_donor": np.nan,
        "pred_max_abs_delta": score if delta else np.nan, "target_max_abs_delta": target,
        "scored": rng.random(n) > 0.05,
    })
    return df


def _targets(df):
    rng = np.random.default_rng(9)
    n = len(df)
    return pd.DataFrame({
        "variant_id": df["variant_id"], "label": df["label"], "split": "test",
        "variant_type": rng.choice(["SNV", "insertion", "deletion", "MNV"], n, p=[0.7, 0.1, 0.15, 0.05]),
        "region": rng.choice(["exonic", "intronic"], n), "nearest_site": rng.choice(["acceptor", "donor"], n),
    })


def test_other_classes_never_enter_headline():
    df = _predictions()
    # give the other classes extreme scores: headline values must not move
    extreme = df.copy()
    other = extreme["label"].isin(M.OTHER_CLASSES)
    extreme.loc[other, "score"] = 1.0
    head_only = df[~other]
    r_full = E.evaluate_predictions(extreme, n_bootstrap=50, seed=1)
    r_head = E.evaluate_predictions(head_only, n_bootstrap=50, seed=1)
    for name in ("roc_auc", "pr_auc", "detection_rate", "fp_rate", "pearson_r"):
        assert r_full["headline"][name] == r_head["headline"][name], name
    oc = r_full["other_classes"]
    assert oc["Low-frequency"]["n"] == int((df["label"] == "Low-frequency").sum())
    assert oc["Conflicting"]["share_above"]["0.5"] == 1.0
    assert r_head["other_classes"]["Conflicting"] == {"n": 0, "share_above": {"0.1": None, "0.2": None, "0.5": None}}


def test_evaluate_model_writes_metrics_and_breakdown(tmp_path):
    df = _predictions(0)
    base = _predictions(0)
    base["score"] = np.clip(base["score"] + np.random.default_rng(1).normal(0, 0.2, len(base)), 0, 1)
    paths = {k: tmp_path / f"{k}.parquet" for k in ("pred", "base", "targets")}
    df.drop(columns=["scored"]).to_parquet(paths["pred"])
    base.to_parquet(paths["base"])
    _targets(df).to_parquet(paths["targets"])
    training = tmp_path / "training.json"
    training.write_text(json.dumps({"experiment": "bin", "model": "binary_cnn", "status": "completed",
                                    "threshold": 0.37, "stopped_epoch": 4, "max_epochs": 8}))
    out = E.evaluate_model(str(paths["pred"]), str(paths["base"]), str(training), str(paths["targets"]),
                           str(tmp_path / "m.json"), str(tmp_path / "b.tsv"), experiment="bin",
                           n_bootstrap=100, seed=3)
    saved = json.loads((tmp_path / "m.json").read_text())
    assert saved["headline"]["roc_auc"]["value"] == pytest.approx(out["headline"]["roc_auc"]["value"])
    assert [c["cutoff"] for c in saved["cutoffs"]] == [0.2, 0.5, 0.8, 0.37]
    assert saved["cutoffs"][-1]["source"] == "validation threshold"
    vs = saved["vs_baseline"]
    assert vs["n_matched"] == int(df["label"].isin(["Splice-altering", "Normal"]).sum())
    assert vs["difference"] == pytest.approx(vs["auc_model"] - vs["auc_baseline"])
    assert 0 <= vs["p_value"] <= 1
    bd = pd.read_csv(tmp_path / "b.tsv", sep="\t")
    assert set(bd["factor"]) == {"region", "nearest_site", "variant_class", "label"}
    assert set(bd.loc[bd["factor"] == "variant_class", "level"]) == {"SNV", "indel", "MNV"}
    lab = bd[bd["factor"] == "label"].set_index("level")
    assert lab.loc["Conflicting", "n"] == int((df["label"] == "Conflicting").sum())
    region = bd[bd["factor"] == "region"]
    assert region["n"].sum() == vs["n_matched"]
    assert region["roc_auc"].between(0, 1).all()


def test_evaluate_baseline_against_itself(tmp_path):
    df = _predictions(2)
    p = tmp_path / "p.parquet"
    df.to_parquet(p)
    training = tmp_path / "t.json"
    training.write_text(json.dumps({"experiment": "spliceai_raw", "model": "spliceai_raw"}))
    out = E.evaluate_model(str(p), str(p), str(training), str(p), str(tmp_path / "m.json"),
                           str(tmp_path / "b.tsv"), experiment="spliceai_raw", n_bootstrap=20)
    assert out["vs_baseline"]["difference"] == 0 and out["vs_baseline"]["p_value"] == 1.0
    assert out["counts"]["unscored_by_base_model"]["Normal"] == int(((df.label == "Normal") & ~df.scored).sum())


def test_missing_column_and_bad_label_are_user_errors(tmp_path):
    df = _predictions(0)
    p = tmp_path / "p.parquet"
    df.drop(columns=["score"]).to_parquet(p)
    with pytest.raises(UserError, match="missing column"):
        E.load_predictions(p)
    df.loc[3, "label"] = "Pathogenic"
    df.to_parquet(p)
    with pytest.raises(UserError, match="row 4"):
        E.load_predictions(p)


def test_nan_scores_are_reported_not_silently_dropped(tmp_path):
    df = _predictions(0)
    df.loc[[1, 2], "score"] = np.nan
    p = tmp_path / "p.parquet"
    df.to_parquet(p)
    loaded, excluded = E.load_predictions(p)
    assert len(loaded) == len(df) - 2
    assert excluded == {"score is missing (NaN)": 2}


# ----------------------------------------------------------------- what a score means (issue 9, item 4)
def test_correlation_not_reported_when_the_target_is_the_models_output():
    df = _predictions(4)  # pred_max_abs_delta present: r would be computed
    own = E.evaluate_predictions(df, training={"model": "spliceai_raw", "target_is_own_output": True},
                                 n_bootstrap=20)
    other = E.evaluate_predictions(df, training={"model": "gated_cnn"}, n_bootstrap=20)
    r = own["headline"]["pearson_r"]
    assert r["value"] is None and r["ci_low"] is None and r["reason"] == "n/a (target is this model's output)"
    assert own["target_is_own_output"] is True and other["target_is_own_output"] is False
    assert other["headline"]["pearson_r"]["value"] is not None
    assert "agreement with the base model" in own["definitions"]["pearson_r"]


def test_probability_scores_are_called_at_the_validation_threshold(tmp_path):
    df = _predictions(5, delta=False)
    head = df[df["label"].isin(["Splice-altering", "Normal"])]
    sa, normal = head.loc[head.label == "Splice-altering", "score"], head.loc[head.label == "Normal", "score"]
    t = 0.37
    training = {"model": "binary_cnn", "score_scale": "probability", "threshold": t,
                "threshold_selection": {"rule": "f1", "assumed_prevalence": 0.3, "prevalence_source": "test split"}}
    prob = E.evaluate_predictions(df, training=training, n_bootstrap=50)
    assert prob["score_scale"] == "probability"
    assert prob["headline"]["detection_rate"]["value"] == pytest.approx((sa >= t).mean())
    assert prob["headline"]["fp_rate"]["value"] == pytest.approx((normal >= t).mean())
    lo, hi = prob["headline"]["fp_rate"]["ci_low"], prob["headline"]["fp_rate"]["ci_high"]
    assert lo <= prob["headline"]["fp_rate"]["value"] <= hi
    d = prob["definitions"]
    assert d["detection_threshold"] == t and d["detection_inclusive"] is True
    assert d["detection_threshold_source"] == "validation-chosen" and "0.300" in d["detection"]
    assert d["fixed_detection_threshold"] == 0.1
    # the same scores read as a delta use the fixed cut-off
    delta = E.evaluate_predictions(df, training={"model": "gated_cnn", "score_scale": "delta"}, n_bootstrap=0)
    assert delta["headline"]["detection_rate"]["value"] == pytest.approx((sa > 0.1).mean())
    assert delta["definitions"]["detection_threshold_source"] == "fixed delta cut-off"
    # a classifier without a threshold: undefined with a reason, never read at 0.1
    none = E.evaluate_predictions(df, training={"model": "x", "score_scale": "probability"}, n_bootstrap=20)
    assert none["headline"]["detection_rate"]["value"] is None
    assert "without a validation-chosen threshold" in none["headline"]["fp_rate"]["reason"]
    # the breakdown table uses the same threshold
    p, tr = tmp_path / "p.parquet", tmp_path / "t.json"
    df.to_parquet(p)
    tr.write_text(json.dumps(training))
    E.evaluate_model(str(p), str(p), str(tr), str(p), str(tmp_path / "m.json"), str(tmp_path / "b.tsv"),
                     experiment="bin", n_bootstrap=10)
    bd = pd.read_csv(tmp_path / "b.tsv", sep="\t").set_index(["factor", "level"])
    assert bd.loc[("label", "Splice-altering"), "detection_rate"] == pytest.approx((sa >= t).mean())
    assert json.loads((tmp_path / "m.json").read_text())["training"]["threshold_selection"]["assumed_prevalence"] == 0.3


# ----------------------------------------------------------------- gene-clustered data (issue 18)
def _clustered(rng, n_groups=40, size=15, sigma=1.0, mu=1.0):
    """Variants in groups sharing a random effect u_g; score = mu * y + u_g + noise; labels with a
    group-specific Splice-altering share. Returns y, score, group, and the AUC the estimator targets:
    pairs from two groups compare with variance 2 (sigma^2 + 1), pairs within a group with 2."""
    from scipy.stats import norm

    group = np.repeat(np.arange(n_groups), size)
    share = rng.beta(1.0, 1.5, n_groups)
    y = (rng.random(group.size) < share[group]).astype(np.int8)
    s = mu * y + rng.normal(0, sigma, n_groups)[group] + rng.normal(0, 1, group.size)
    pos = np.bincount(group, weights=y, minlength=n_groups)
    within = (pos * (size - pos)).sum() / (y.sum() * (y.size - y.sum()))
    truth = (1 - within) * norm.cdf(mu / np.sqrt(2 * (sigma**2 + 1))) + within * norm.cdf(mu / np.sqrt(2))
    return y, s, group, truth


def _group_pair_auc(y, s, group, counts):
    """ROC-AUC of each row of group ``counts`` (B, G) from one (G, G) matrix of pair wins: fast and exact."""
    n_groups = counts.shape[1]
    pos, neg = y == 1, y == 0
    wins = (s[pos][:, None] > s[neg][None, :]) + 0.5 * (s[pos][:, None] == s[neg][None, :])
    onehot = np.eye(n_groups)
    pair = onehot[group[pos]].T @ wins @ onehot[group[neg]]      # (G, G): wins of group g's positives over h's negatives
    n_pos = np.bincount(group[pos], minlength=n_groups)
    n_neg = np.bincount(group[neg], minlength=n_groups)
    return np.einsum("bg,gh,bh->b", counts, pair, counts) / ((counts @ n_pos) * (counts @ n_neg))


def test_cluster_bootstrap_matches_explicit_group_resampling():
    """headline_metrics' cluster interval is the percentile interval of AUCs over resampled whole groups."""
    rng = np.random.default_rng(3)
    y, s, group, _ = _clustered(rng, n_groups=25, size=8)
    est = CB.headline_metrics(y, s, groups=group.astype(str), n_bootstrap=200, seed=11, cutoffs=())["roc_auc"]
    resampler = CB.ClusterResampler(group.astype(str), y)
    counts = next(resampler.group_count_blocks(200, 11, 200))
    # whole groups move together, and both classes are present in every resample
    w = next(resampler.blocks(200, 11, 200))
    assert (w == counts[:, group]).all() and ((w @ y) > 0).all() and ((w @ (1 - y)) > 0).all()
    aucs = _group_pair_auc(y, s, group, counts)
    assert (est.ci_low, est.ci_high) == pytest.approx(tuple(np.percentile(aucs, [2.5, 97.5])), abs=1e-12)
    assert est.n_groups == 25


def test_cluster_interval_covers_the_true_auc_and_the_variant_level_one_does_not():
    """Seeded simulation (issue 18): 40 genes of 15 variants sharing a random effect. Over 300 data
    sets the cluster bootstrap covers the true AUC ~95% of the time; resampling variants (the old
    interval) covers it clearly less often, because it treats 600 correlated variants as independent."""
    rng = np.random.default_rng(20240518)
    hits = {"cluster": 0, "variant": 0}
    reps, n_boot = 300, 400
    for rep in range(reps):
        y, s, group, truth = _clustered(rng)
        for name, keys in (("cluster", group), ("variant", None)):
            counts = next(CB.ClusterResampler(keys, y).group_count_blocks(n_boot, rep, n_boot))
            # groups: AUC from the (G, G) pair-win matrix; variants: the weighted AUC (one sort)
            aucs = _group_pair_auc(y, s, group, counts) if keys is not None else \
                M.weighted_ranking_metrics(s, y, counts)[0]
            lo, hi = np.percentile(aucs, [2.5, 97.5])
            hits[name] += lo <= truth <= hi
    cluster, variant = hits["cluster"] / reps, hits["variant"] / reps
    print(f"coverage of the true ROC-AUC over {reps} data sets: cluster {cluster:.3f}, variant-level {variant:.3f}")
    assert 0.88 <= cluster <= 0.99
    assert variant <= cluster - 0.1


def test_one_variant_per_group_is_the_class_stratified_bootstrap():
    """Singleton groups: the same draws as the old stratified bootstrap (same seed), and other seeds
    agree up to Monte Carlo error."""
    y, s, _, _ = _synthetic(800, seed=4)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    rng = np.random.default_rng(9)   # the old scheme: each class resampled from itself
    w = np.zeros((500, y.size))
    w[:, pos] = next(CB._multinomial_blocks(rng, pos.size, 500, 500))
    w[:, neg] = next(CB._multinomial_blocks(rng, neg.size, 500, 500))
    old = np.percentile(M.weighted_ranking_metrics(s, y, w)[0], [2.5, 97.5])
    singletons = CB.headline_metrics(y, s, groups=[f"v{i}" for i in range(y.size)], n_bootstrap=500, seed=9)
    assert (singletons["roc_auc"].ci_low, singletons["roc_auc"].ci_high) == pytest.approx(tuple(old), abs=1e-12)
    assert singletons["roc_auc"].n_groups == y.size
    other = CB.headline_metrics(y, s, n_bootstrap=2000, seed=1)["roc_auc"]
    width = old[1] - old[0]
    assert abs(other.ci_low - old[0]) < 0.1 * width and abs(other.ci_high - old[1]) < 0.1 * width


def test_paired_bootstrap_p_value_is_calibrated_under_the_null_and_small_for_a_real_difference():
    """Two models with the same true AUC on clustered data: p roughly uniform. A real gap: p small.
    The same resampled groups serve both models (the pairing)."""
    rng = np.random.default_rng(7)
    null_p = []
    for rep in range(150):
        y, _, group, _ = _clustered(rng, n_groups=30, size=10)
        latent = y + rng.normal(0, 1.0, 30)[group]
        a = latent + rng.normal(0, 1, y.size)
        b = latent + rng.normal(0, 1, y.size)   # exchangeable with a: same true AUC
        r = CB.paired_difference(*[CB.ranking_statistics(x, y)[0] for x in (a, b)],
                                CB.ClusterResampler(group, y), n_bootstrap=200, seed=rep)
        null_p.append(r["p_value"])
    null_p = np.array(null_p)
    print(f"null p-values: share < 0.05 = {np.mean(null_p < 0.05):.3f}, mean = {null_p.mean():.3f}")
    assert 0.01 <= np.mean(null_p < 0.05) <= 0.10
    assert 0.4 <= null_p.mean() <= 0.6 and 0.15 <= np.mean(null_p < 0.25) <= 0.35
    y, _, group, _ = _clustered(rng, n_groups=40, size=15)
    latent = y + rng.normal(0, 0.5, 40)[group]
    good, poor = latent + rng.normal(0, 0.3, y.size), latent + rng.normal(0, 2.0, y.size)
    r = CB.paired_difference(*[CB.ranking_statistics(x, y)[0] for x in (good, poor)],
                            CB.ClusterResampler(group, y), n_bootstrap=500, seed=0)
    assert r["difference"] > 0 and r["p_value"] < 0.01 and r["ci_low"] > 0
    same = CB.paired_difference(*[CB.ranking_statistics(x, y)[0] for x in (good, good.copy())],
                               CB.ClusterResampler(group, y), n_bootstrap=100, seed=0)
    assert same["difference"] == 0 and same["p_value"] == 1.0


def test_holm_against_a_hand_computed_example():
    # sorted p: 0.01, 0.02, 0.03, 0.04 (m = 4) -> 0.04, 0.06, 0.06 (monotone), 0.06; NaN is not counted
    p = [0.03, 0.01, np.nan, 0.04, 0.02]
    assert CB.holm(p)[[1, 4, 0, 3]] == pytest.approx([0.04, 0.06, 0.06, 0.06])
    assert np.isnan(CB.holm(p)[2])
    assert CB.holm([0.5, 0.6]) == pytest.approx([1.0, 1.0])   # capped at 1
    assert CB.holm([]).size == 0


def test_evaluation_resamples_the_split_gene_groups(tmp_path):
    """metrics.json: intervals from gene groups of the variant table (genes joined by overlap), the
    paired comparison vs the baseline with ΔROC-AUC and ΔPR-AUC, DeLong labelled as assuming
    independent variants, and the number of test gene groups."""
    rng = np.random.default_rng(5)
    y, s, group, _ = _clustered(rng, n_groups=12, size=10)
    ids = [f"v{i}" for i in range(y.size)]
    labels = np.where(y == 1, POSITIVE, NEGATIVE)
    genes = np.array([f"G{g}" for g in group], dtype=object)
    overlaps = genes.copy()
    overlaps[group == 1] = "G1;G0"   # G1 overlaps G0: one group, as in the split
    variants = pd.DataFrame({"variant_id": ids, "gene": genes, "genes": overlaps, "split": "test"})
    model = pd.DataFrame({"variant_id": ids, "label": labels, "score": s, "split": "test"})
    base = model.assign(score=s + rng.normal(0, 1, y.size))
    paths = {}
    for name, frame in (("model", model), ("base", base), ("variants", variants)):
        paths[name] = tmp_path / f"{name}.parquet"
        frame.to_parquet(paths[name])
    (tmp_path / "training.json").write_text(json.dumps({"experiment": "m"}))
    result = E.evaluate_model(str(paths["model"]), str(paths["base"]), str(tmp_path / "training.json"),
                              str(paths["model"]), str(tmp_path / "metrics.json"), str(tmp_path / "b.tsv"),
                              experiment="m", n_bootstrap=200, variants=str(paths["variants"]))
    assert result["counts"]["gene_groups"] == 11 and result["bootstrap"]["n_groups"] == 11
    assert "gene_groups" in result["bootstrap"]["groups_from"]
    assert result["headline"]["roc_auc"]["n_groups"] == 11
    vs = result["vs_baseline"]
    assert vs["n_groups"] == 11 and vs["delong"]["assumes"] == "independent variants"
    for key in ("roc_auc", "pr_auc"):
        assert vs[key]["ci_low"] <= vs[key]["difference"] <= vs[key]["ci_high"] and 0 < vs[key]["p_value"] <= 1
    # without a variant table every variant is its own group, and the report says so
    flat = E.evaluate_predictions(model, baseline=base, n_bootstrap=20)
    assert flat["counts"]["gene_groups"] == y.size and flat["bootstrap"]["groups_from"].startswith("none")
