"""Validated targets: seed/profile forms, class handling, exclusions, balancing, file checks."""
import json

import numpy as np
import pandas as pd
import pytest

from validsplice.common.rule_io import UserError
from validsplice.training.targets import LABELLED_TABLES, TARGET_COLUMNS, build_targets, make_targets

D = 5
CLASSES = ["Splice-altering", "Normal", "Low-frequency", "Conflicting"]


def synthetic(n_per_gene=8, seed=0):
    """Variants in 8 genes (train g0-g3, val g4-g5, test g6-g7), scores with 1-2 gene rows each
    and random delta profiles (values outside [0, 1] on purpose: no softmax may touch them)."""
    rng = np.random.default_rng(seed)
    rows = []
    for g in range(8):
        split = "train" if g < 4 else "val" if g < 6 else "test"
        for k in range(n_per_gene):
            label = ["Splice-altering", "Normal", "Splice-altering", "Normal", "Normal",
                     "Low-frequency", "Conflicting", "Normal"][k % 8]
            rows.append({"variant_id": f"v{g}_{k}", "label": label, "gene": f"G{g}", "split": split,
                         "variant_type": "SNV", "indel_length": 0, "region": "intronic", "nearest_site": "donor"})
    variants = pd.DataFrame(rows)
    score_rows, profiles = [], []
    for vid, gene in zip(variants["variant_id"], variants["gene"]):
        # the variant's own gene first; "_2" variants also overlap another gene, OTHER
        for other in range(2 if vid.endswith("_2") else 1):
            p = rng.normal(0, 0.3, size=(2 * D + 1, 2)).astype(np.float16)
            score_rows.append({"variant_id": vid, "gene": "OTHER" if other else gene, "max_ds": float(np.abs(p).max()),
                               "status": "scored", "profile_row": len(profiles)})
            profiles.append(p)
    return variants, pd.DataFrame(score_rows), np.stack(profiles)


def run(variants, scores, profiles, **kw):
    kw.setdefault("distance", D)
    kw.setdefault("seed", 1)
    kw.setdefault("balance", False)
    return make_targets(variants, scores, profiles, **kw)


def test_seed_form_is_profile_value_at_argmax_without_softmax():
    variants, scores, profiles = synthetic()
    tables, out_profiles, _ = run(variants, scores, profiles)
    for table in tables.values():
        assert list(table.columns) == TARGET_COLUMNS
        sa = table[(table["label"] == "Splice-altering") & (table["profile_row"] >= 0)]
        assert len(sa) > 0
        for _, row in sa.iterrows():
            prof = out_profiles[row["profile_row"]]
            pos = np.abs(prof).max(axis=1).argmax()
            assert row["delta_acceptor"] == pytest.approx(prof[pos, 0])
            assert row["delta_donor"] == pytest.approx(prof[pos, 1])
            assert row["delta_neither"] == pytest.approx(-(prof[pos, 0] + prof[pos, 1]))
            assert row["target_max_abs_delta"] == pytest.approx(np.abs(prof).max())
    # the raw float16 base-model values are copied unchanged (negative values survive: no softmax)
    all_seeds = pd.concat(tables.values())[["delta_acceptor", "delta_donor"]].to_numpy()
    assert np.nanmin(all_seeds) < 0


def test_score_row_is_the_variants_own_gene_not_the_largest_max_ds():
    variants, scores, profiles = synthetic()
    vid = "v0_2"  # Splice-altering in G0, also overlapping OTHER; make OTHER's score the larger one
    other = (scores["variant_id"] == vid) & (scores["gene"] == "OTHER")
    profiles[scores.loc[other, "profile_row"].iloc[0]] = 0.9
    scores.loc[other, "max_ds"] = 0.9
    tables, out_profiles, _ = run(variants, scores, profiles)
    train = tables["train"].set_index("variant_id")
    own = scores[(scores["variant_id"] == vid) & (scores["gene"] == "G0")].iloc[0]
    assert own["max_ds"] < 0.9
    assert train.loc[vid, "spliceai_max_ds"] == pytest.approx(own["max_ds"])
    np.testing.assert_array_equal(out_profiles[train.loc[vid, "profile_row"]],
                                  profiles[own["profile_row"]].astype(np.float32))


def test_normal_gets_zero_target():
    variants, scores, profiles = synthetic()
    tables, out_profiles, _ = run(variants, scores, profiles)
    for table in tables.values():
        normal = table[table["label"] == "Normal"]
        assert (normal[["delta_neither", "delta_acceptor", "delta_donor", "target_max_abs_delta"]] == 0).all().all()
        assert np.all(out_profiles[normal["profile_row"].to_numpy()] == 0)
        assert normal["spliceai_max_ds"].notna().all()  # the raw base-model score is still reported


def test_low_frequency_and_conflicting_only_in_test():
    variants, scores, profiles = synthetic()
    tables, _, summary = run(variants, scores, profiles)
    for name in ("train", "val"):
        assert set(tables[name]["label"]) == {"Splice-altering", "Normal"}
    test = tables["test"]
    assert set(test["label"]) == set(CLASSES)
    assert sorted(test["variant_id"]) == sorted(variants.loc[variants["split"] == "test", "variant_id"])
    lf = test[test["label"].isin(["Low-frequency", "Conflicting"])]
    assert lf["delta_acceptor"].isna().all() and (lf["profile_row"] == -1).all()
    assert any("Low-frequency" in r for r in summary["excluded"])


def test_nan_profile_excluded_with_reason():
    variants, scores, profiles = synthetic()
    bad = scores.loc[scores["variant_id"] == "v1_0", "profile_row"].iloc[0]
    profiles[bad, 3, 1] = np.nan
    tables, out_profiles, summary = run(variants, scores, profiles)
    assert "v1_0" not in set(tables["train"]["variant_id"])
    assert summary["excluded"]["NaN in the base-model delta profile"]["examples"] == ["v1_0"]
    assert not np.isnan(out_profiles).any()


def test_unscored_variants_are_excluded_from_training_whatever_their_class():
    """No base-model score (MNV, no gene, contig end...) must not mean Normal: both classes
    leave train/val and stay in test, flagged and without target; the counts are reported."""
    variants, scores, profiles = synthetic()
    # v0_0 Splice-altering, v0_1 Normal (train); v6_0 SA, v6_1 Normal (test)
    for vid in ("v0_0", "v0_1", "v6_0", "v6_1"):
        scores.loc[scores["variant_id"] == vid, ["status", "profile_row", "max_ds"]] = ["skipped: multi-base ref and alt", -1, np.nan]
    tables, _, summary = run(variants, scores, profiles)
    train_ids = set(tables["train"]["variant_id"])
    assert "v0_0" not in train_ids and "v0_1" not in train_ids
    assert tables["train"]["base_model_scored"].all() and tables["val"]["base_model_scored"].all()
    reason = "not scored by the base model (skipped: multi-base ref and alt)"
    assert summary["excluded"][reason]["n"] == 2
    assert summary["excluded"][reason]["per_class"] == {"Splice-altering": 1, "Normal": 1}
    assert summary["base_model_unscored"]["train"] == {"Splice-altering": 1, "Normal": 1}
    assert summary["base_model_unscored"]["test"] == {"Splice-altering": 1, "Normal": 1}
    test = tables["test"].set_index("variant_id")
    for vid in ("v6_0", "v6_1"):
        assert not test.loc[vid, "base_model_scored"] and test.loc[vid, "profile_row"] == -1
        assert np.isnan(test.loc[vid, "spliceai_max_ds"]) and np.isnan(test.loc[vid, "target_max_abs_delta"])
    assert test.loc["v6_3", "base_model_scored"] and test.loc["v6_3", "target_max_abs_delta"] == 0


def test_nan_base_profile_excludes_normal_too():
    variants, scores, profiles = synthetic()
    for vid in ("v1_0", "v1_1"):  # Splice-altering and Normal
        profiles[scores.loc[scores["variant_id"] == vid, "profile_row"].iloc[0], 2, 0] = np.nan
    tables, _, summary = run(variants, scores, profiles)
    assert not {"v1_0", "v1_1"} & set(tables["train"]["variant_id"])
    assert summary["excluded"]["NaN in the base-model delta profile"]["per_class"] == {"Splice-altering": 1, "Normal": 1}


def test_split_is_carried_through_grouped_by_gene():
    variants, scores, profiles = synthetic()
    tables, _, summary = run(variants, scores, profiles, balance=True)
    assert not set(tables["train"]["gene"]) & set(tables["val"]["gene"])
    assert summary["genes_in_train_and_val"] == 0
    orig = variants.set_index("variant_id")["split"]
    for name, table in tables.items():
        split = LABELLED_TABLES.get(name, name)
        assert (table["split"] == split).all()
        assert (table["variant_id"].map(orig) == split).all()
        assert (variants["variant_id"].to_numpy()[table["window_row"]] == table["variant_id"].to_numpy()).all()


def test_balanced_sampling_equal_counts_and_reproducible():
    variants, scores, profiles = synthetic()
    a, _, summary = run(variants, scores, profiles, balance=True, seed=3)
    b, _, _ = run(variants, scores, profiles, balance=True, seed=3)
    c, _, _ = run(variants, scores, profiles, balance=True, seed=4)
    for name in ("train", "val"):
        counts = a[name]["label"].value_counts()
        assert counts["Splice-altering"] == counts["Normal"]
        assert summary["per_split_before_balancing"][name]["Normal"] > counts["Normal"]
        pd.testing.assert_frame_equal(a[name], b[name])
    assert list(a["train"]["variant_id"]) != list(c["train"]["variant_id"])
    # test stays untouched and unbalanced
    assert len(a["test"]) == int((variants["split"] == "test").sum())


def test_labelled_tables_keep_every_labelled_row_with_the_same_targets():
    """train_labelled / val_labelled: every Splice-altering / Normal row with a target, before balancing
    and capping (models that weight classes read them); targets identical to the balanced tables'."""
    variants, scores, profiles = synthetic()
    tables, out_profiles, summary = run(variants, scores, profiles, balance=True, max_train_samples=4)
    for name, split in LABELLED_TABLES.items():
        full, sampled = tables[name], tables[split]
        assert full["label"].value_counts().to_dict() == summary["per_split_before_balancing"][split]
        assert len(full) > len(sampled) and set(sampled["variant_id"]) < set(full["variant_id"])
        assert full["base_model_scored"].all() and (full["profile_row"] >= 0).all()
        same = full.set_index("variant_id").loc[sampled["variant_id"]]
        np.testing.assert_array_equal(out_profiles[same["profile_row"].to_numpy()],
                                      out_profiles[sampled["profile_row"].to_numpy()])
        pd.testing.assert_frame_equal(same.reset_index().drop(columns="profile_row"),
                                      sampled.drop(columns="profile_row"), check_dtype=False)


def test_max_train_samples_caps_train_only():
    variants, scores, profiles = synthetic()
    tables, _, _ = run(variants, scores, profiles, balance=True, max_train_samples=6)
    assert len(tables["train"]) == 6
    assert tables["train"]["label"].value_counts().to_dict() == {"Splice-altering": 3, "Normal": 3}


def test_empty_training_class_names_class_and_split():
    variants, scores, profiles = synthetic()
    variants.loc[(variants["split"] == "val") & (variants["label"] == "Splice-altering"), "label"] = "Conflicting"
    with pytest.raises(UserError, match=r"Splice-altering.*val split"):
        run(variants, scores, profiles)


def test_score_rows_for_unknown_variants_name_the_ids():
    variants, scores, profiles = synthetic()
    scores.loc[0, "variant_id"] = "ghost_1"
    with pytest.raises(UserError, match="ghost_1"):
        run(variants, scores, profiles)


def test_window_order_mismatch_names_the_ids():
    variants, scores, profiles = synthetic()
    ids = variants["variant_id"].to_numpy().copy()
    ids[[3, 4]] = ids[[4, 3]]
    with pytest.raises(UserError, match="v0_3"):
        run(variants, scores, profiles, window_ids=ids)


def test_profiles_wider_than_distance_are_cropped_narrower_rejected():
    variants, scores, profiles = synthetic()
    tables, out_profiles, _ = run(variants, scores, profiles, distance=2)
    assert out_profiles.shape[1:] == (5, 2)
    with pytest.raises(UserError, match="distance"):
        run(variants, scores, profiles, distance=D + 1)


def test_build_targets_files(tmp_path):
    variants, scores, profiles = synthetic()
    variants.to_parquet(tmp_path / "variants.parquet")
    scores.to_parquet(tmp_path / "scores.parquet")
    np.save(tmp_path / "delta.npy", profiles)
    np.savez(tmp_path / "windows.npz", ref=np.zeros((len(variants), 21), np.uint8),
             alt=np.zeros((len(variants), 21), np.uint8), variant_id=variants["variant_id"].to_numpy().astype(str))
    out = {k: tmp_path / "targets" / f"{k}.parquet"
           for k in ("train", "val", "test", "train_labelled", "val_labelled")}
    build_targets(variants_path=tmp_path / "variants.parquet", windows_path=tmp_path / "windows.npz",
                  scores_path=tmp_path / "scores.parquet", profiles_path=tmp_path / "delta.npy",
                  train_path=out["train"], val_path=out["val"], test_path=out["test"],
                  train_labelled_path=out["train_labelled"], val_labelled_path=out["val_labelled"],
                  out_profiles_path=tmp_path / "targets" / "profiles.npy",
                  summary_path=tmp_path / "targets" / "summary.json", seed=0, balance=True, distance=D)
    summary = json.loads((tmp_path / "targets" / "summary.json").read_text())
    saved = np.load(tmp_path / "targets" / "profiles.npy")
    assert saved.dtype == np.float32 and saved.shape[1:] == (2 * D + 1, 2)
    rows = np.concatenate([pd.read_parquet(p)["profile_row"].to_numpy() for p in out.values()])
    rows = rows[rows >= 0]
    assert sorted(rows) == list(range(len(saved)))
    assert summary["per_split"]["train"]["Splice-altering"] == summary["per_split"]["train"]["Normal"]
    assert set(summary["target_ranges"]) == {"train", "val", "test", "train_labelled", "val_labelled"}


def test_profile_targets_follow_the_window_orientation_on_minus_strand():
    """Windows of minus-strand variants are reverse-complemented, so their profile targets are
    reversed along positions (base-model profiles are in genomic order)."""
    variants, scores, profiles = synthetic()
    variants["strand"] = np.where(variants["gene"].isin(["G0", "G1"]), "-", "+")
    tables, out_profiles, _ = run(variants, scores, profiles)
    train = tables["train"].set_index("variant_id")
    for vid, reversed_ in [("v0_0", True), ("v2_0", False)]:
        base = profiles[scores.loc[scores["variant_id"] == vid, "profile_row"].iloc[0]].astype(np.float32)
        expected = base[::-1] if reversed_ else base
        np.testing.assert_array_equal(out_profiles[train.loc[vid, "profile_row"]], expected)
        # the seed form does not depend on orientation
        assert train.loc[vid, "target_max_abs_delta"] == pytest.approx(np.abs(base).max())


# ---------------------------------------------------------------- issue 20 §3: an additional base model's profiles
def test_align_base_model_profiles_rows_orientation_crop_and_errors(tmp_path):
    """An additional model's profiles as model input: one per variant row (its own gene's, not OTHER's), minus
    strand reversed, cropped from its wider ±D to the primary's, zeros for a gene it did not score; a narrower
    model or stale files are clear errors naming the keys."""
    from validsplice.training.targets import align_base_model_profiles

    variants, scores, _ = synthetic()
    variants["strand"] = np.where(variants["gene"] == "G0", "-", "+")
    wide = np.random.default_rng(5).normal(0, 0.3, size=(len(scores), 2 * (D + 2) + 1, 2)).astype(np.float16)
    scores.loc[scores["variant_id"] == "v1_0", ["status", "profile_row"]] = ["skipped: no gene", -1]
    keep = scores["profile_row"] >= 0
    wide = wide[scores.loc[keep, "profile_row"].to_numpy()]
    scores.loc[keep, "profile_row"] = np.arange(int(keep.sum()))
    paths = {"variants_path": tmp_path / "variants.parquet", "scores_path": tmp_path / "scores.parquet",
             "profiles_path": tmp_path / "delta_profiles.npy", "out_path": tmp_path / "base_profiles.npy"}
    variants.to_parquet(paths["variants_path"])
    scores.to_parquet(paths["scores_path"])
    np.save(paths["profiles_path"], wide)
    out = align_base_model_profiles(**paths, name="pangolin", distance=D, extra_distance=D + 2)
    assert out.shape == (len(variants), 2 * D + 1, 2) and out.dtype == np.float32
    np.testing.assert_array_equal(np.load(paths["out_path"]), out)
    own = scores[scores["gene"] != "OTHER"].set_index("variant_id")["profile_row"]
    for vid, reversed_ in (("v0_2", True), ("v2_2", False), ("v3_1", False)):
        row = variants.index[variants["variant_id"] == vid][0]
        expected = wide[own[vid], 2:-2].astype(np.float32)
        np.testing.assert_array_equal(out[row], expected[::-1] if reversed_ else expected)
    assert not out[variants.index[variants["variant_id"] == "v1_0"][0]].any()
    with pytest.raises(UserError, match=r"base_models.pangolin.distance 3 is below base_model.distance 5"):
        align_base_model_profiles(**paths, name="pangolin", distance=D, extra_distance=3)
    np.save(paths["profiles_path"], wide[:-1])
    with pytest.raises(UserError, match="different runs"):
        align_base_model_profiles(**paths, name="pangolin", distance=D, extra_distance=D + 2)


def test_profile_distances_checked_at_parse_time_only_for_a_profile_reader():
    from validsplice.config.workflow_config import check_profile_distances

    config = {"base_model": {"distance": 50}}
    extra = {"pangolin": {"distance": 20}}
    check_profile_distances(config, extra, [])  # no classifier: Pangolin's distance is its own business
    check_profile_distances(config, {"pangolin": {"distance": 80}}, ["paired_classifier"])
    with pytest.raises(UserError, match=r"base_models.pangolin.distance 20 is below base_model.distance 50.*"
                                        r"'paired_classifier'"):
        check_profile_distances(config, extra, ["paired_classifier"])


def test_pangolin_profile_is_the_masked_gain_loss_tracks_around_the_variant():
    """Pangolin's profile channels: [gain, loss] at pos-d .. pos+d (a deletion's longer track cut, a track cut
    short at a contig end NaN-padded); pangolin_rows numbers scored rows' profile_row in that order."""
    from validsplice.scoring.pangolin.score import PangolinResult, gain_loss_profile
    from validsplice.scoring.pangolin.shards import pangolin_profiles

    gain, loss = np.arange(13, dtype=float), -np.arange(13, dtype=float)  # 2d + len(ref) = 13: d 5, a 3-base REF
    prof = gain_loss_profile(gain, loss, 5)
    assert prof.shape == (11, 2) and prof[0].tolist() == [0, 0] and prof[10].tolist() == [10, -10]
    short = gain_loss_profile(gain[:7], loss[:7], 5)
    assert np.isnan(short[7:]).all() and short[6].tolist() == [6, -6]
    results = [PangolinResult(profiles=[prof, prof * 2]), PangolinResult(status="skipped: no gene"),
               PangolinResult(profiles=[prof * 3])]
    stacked = pangolin_profiles(results, 5)
    assert stacked.shape == (3, 11, 2) and stacked.dtype == np.float16
    assert stacked[2, 10, 0] == 30
