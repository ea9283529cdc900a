"""Several base models in one workflow run (issue 20): SpliceAI (the primary) and Pangolin end to end on
.test/config_two_base_models, and adding a third base model to a finished run.

Its own module (not test_workflow.py) so that a parallel test run (`make test`: pytest-xdist, one worker
per module) runs it beside the demo run instead of after it.
"""
from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
TWO_BASE_MODELS = ROOT / ".test" / "config_two_base_models" / "config.yaml"


@pytest.fixture(scope="module")
def two_base_models_run(tmp_path_factory, copy_workflow, run_snakemake, pangolin_model_dir):
    """.test/config_two_base_models (SpliceAI + Pangolin, spliceai_raw and one GBM) run end to end, as the
    working directory's config/config.yaml (so edit_config can change it); Pangolin's weights: the fixture."""
    work = copy_workflow(tmp_path_factory.mktemp("two_base_models"))
    shutil.copy(TWO_BASE_MODELS, work / "config" / "config.yaml")
    pangolin_model_dir(work / "resources" / "pangolin_fixture")
    proc = run_snakemake(work)
    (work / "run_output.txt").write_text(proc.stdout + proc.stderr)
    return work


@pytest.mark.slow
def test_two_base_models_each_get_rows_columns_and_gbm_features(two_base_models_run):
    work = two_base_models_run
    summary = pd.read_csv(work / "results/report/summary.tsv", sep="\t")
    assert list(summary["Experiment"]) == ["spliceai_raw", "pangolin_raw", "features_gbm", "paired_classifier",
                                           "spliceai_calibrated", "pangolin_calibrated"]
    rows = summary.set_index("Experiment")
    # the Δ columns stay relative to the one named baseline, the primary's raw row
    assert any(c.startswith("ΔROC-AUC vs spliceai_raw") for c in summary.columns)
    delta = next(c for c in summary.columns if c == "ΔROC-AUC vs spliceai_raw")
    assert rows.loc["pangolin_raw", delta] == pytest.approx(
        rows.loc["pangolin_raw", "ROC-AUC"] - rows.loc["spliceai_raw", "ROC-AUC"], abs=1e-3)  # TSV: 3 decimals
    assert rows.loc["pangolin_calibrated", "ROC-AUC"] == pytest.approx(rows.loc["pangolin_raw", "ROC-AUC"])
    assert rows.loc[["pangolin_calibrated"], ["Brier", "ECE"]].notna().all().all()
    # Pangolin's own cached scores, and its raw row is their max score of each test variant's own gene
    pangolin = pd.read_parquet(work / "results/scores/pangolin/scores.parquet")
    assert {"DS_GAIN", "DS_LOSS", "DP_GAIN", "DP_LOSS"} <= set(pangolin.columns)
    assert (pangolin["status"] == "scored").sum() > 50
    raw = pd.read_parquet(work / "results/models/pangolin_raw/predictions.parquet")
    variants = pd.read_parquet(work / "results/variants/variants.parquet").set_index("variant_id")
    scored = pangolin[pangolin["status"] == "scored"]
    own = scored[scored["gene"] == scored["variant_id"].map(variants["gene"])].drop_duplicates("variant_id")
    expected = raw["variant_id"].map(own.set_index("variant_id")["max_ds"]).fillna(0.0)
    assert raw["scored"].sum() > 0
    assert raw["score"].to_numpy() == pytest.approx(expected.to_numpy())
    assert not raw["score"].equals(pd.read_parquet(work / "results/models/spliceai_raw/predictions.parquet")["score"])
    # each model's score column in predictions.tsv
    per_variant = pd.read_csv(work / "results/report/predictions.tsv", sep="\t")
    assert any("pangolin_raw" in c for c in per_variant.columns), list(per_variant.columns)
    # the trees read both models' DS / DP; their offset is still spliceai_raw's calibrator
    training = json.loads((work / "results/models/features_gbm/training.json").read_text())
    assert {"DS_AG_masked", "pangolin_DS_GAIN", "pangolin_DS_LOSS"} <= set(training["features"])
    assert training["extra_base_models"] == ["pangolin"] and training["starts_from_base_model"] is True


@pytest.mark.slow
def test_paired_classifier_reads_both_base_models_profiles(two_base_models_run, run_snakemake):
    """Issue 20 §3: the classifier's base profile holds SpliceAI's and Pangolin's delta profiles (4 channels);
    Pangolin's shards write its [gain, loss] profiles, aligned to the variant rows; the manifest lists both
    (predict with them: tests/test_predict_vcf.py, not run here to keep this module short)."""
    work = two_base_models_run
    training = json.loads((work / "results/models/paired_classifier/training.json").read_text())
    assert training["base_model_profiles"] == ["spliceai", "pangolin"], training
    assert training["extra_base_models"] == ["pangolin"] and training["profile_channels"] == 4
    assert training["starts_from_base_model"] is True
    pangolin = pd.read_parquet(work / "results/scores/pangolin/scores.parquet")
    profiles = np.load(work / "results/scores/pangolin/delta_profiles.npy")
    scored = pangolin["status"] == "scored"
    assert (pangolin.loc[scored, "profile_row"].to_numpy() == np.arange(int(scored.sum()))).all()
    assert profiles.shape == (int(scored.sum()), 101, 2)
    # each row's DS_GAIN / DS_LOSS is its profile's largest gain / loss (the masked tracks: the same numbers)
    rows = pangolin[scored]
    gain = np.nanmax(profiles[:, :, 0].astype(float), axis=1).clip(min=0)
    loss = np.nanmax(-profiles[:, :, 1].astype(float), axis=1).clip(min=0)
    assert gain == pytest.approx(rows["DS_GAIN"].to_numpy(), abs=2e-3)  # float16 profiles
    assert loss == pytest.approx(rows["DS_LOSS"].to_numpy(), abs=2e-3)
    variants = pd.read_parquet(work / "results/variants/variants.parquet")
    aligned = np.load(work / "results/scores/pangolin/base_profiles.npy")
    assert aligned.shape == (len(variants), 101, 2) and np.abs(aligned).max() > 0
    run_snakemake(work, "results/models/paired_classifier/model.json")  # the model_manifest rule
    manifest = json.loads((work / "results/models/paired_classifier/model.json").read_text())
    assert manifest["base_model_profiles"] == ["spliceai", "pangolin"]
    assert [e["name"] for e in manifest["base_models"]] == ["pangolin"] and manifest["base_models"][0]["weights"]


@pytest.mark.slow
def test_adding_a_base_model_to_a_finished_run_scores_only_that_model(two_base_models_run, edit_config):
    """A third base model (OpenSpliceAI, the committed rs10 checkpoint) added to the finished two-model run:
    its own shards, its rows and what reads its scores (the GBM, the report) run; SpliceAI's and Pangolin's
    scoring and the targets do not."""
    fixture = ROOT / "tests" / "data" / "openspliceai" / "mane_rs10"
    proc, jobs = edit_config(two_base_models_run, "base_models:\n",
                             f"base_models:\n  openspliceai:\n    openspliceai_dir: {fixture}\n    shards: 2\n")
    assert jobs.get("score_shard_openspliceai") == 2, jobs
    assert jobs.get("gather_base_model_scores") == 1 and jobs.get("baseline_predictions") == 1, jobs
    assert jobs.get("combine_calibrated") == 1 and jobs.get("train_spliceai_features_gbm") == 1, jobs
    # the classifier reads every base model's profile: OpenSpliceAI's aligned ones, then its retraining
    assert jobs.get("align_base_model_profiles") == 1 and jobs.get("train_paired_cnn_classifier") == 1, jobs
    for untouched in ("score_shard", "gather_scores", "score_shard_pangolin", "build_targets", "normalize_variants"):
        assert untouched not in jobs, jobs
    assert "results/scores/openspliceai/shards/1.parquet" in proc.stdout + proc.stderr
