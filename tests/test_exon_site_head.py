"""Issue 19: exon_site_head, calibrated SpliceAI corrected by how much a variant moves its exon's splice sites as
each base model sees it (validsplice.training.offset_heads, validsplice.scoring.exon_sites)."""
import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import check_trained_head, write_gbm_task
from helpers import gbm_outputs as outputs
from helpers import gbm_synthetic as synthetic

import validsplice.training.gbm as gbm
from validsplice.common.errors import UserError
from validsplice.config import registry
from validsplice.scoring import exon_sites as es
from validsplice.training import offset_heads as heads


def site_table(variants, values, skipped=()):
    """An exon-site table as rule base_model_exon_sites writes it (only the columns the head reads are real)."""
    table = pd.DataFrame({"variant_id": variants["variant_id"], es.STATUS: es.COMPUTED})
    for column in es.SITE_COLUMNS:
        table[column] = 0.0
    table[es.SCORE] = values
    for row in skipped:
        table.loc[row, es.STATUS] = "skipped: no annotated gene"
        table.loc[row, es.SITE_COLUMNS] = np.nan
    return table


def with_sites(tmp_path, informative="pangolin", n=900, seed=0):
    """synthetic()'s variants and inputs, plus the exon-site tables of two base models: the ``informative`` one
    moves the sites of the Splice-altering variants SpliceAI misses (intronic, 1-2 bases from the boundary),
    the other's score is noise of the same scale. Row 5 has no exon site (skipped) in both."""
    variants, scores, profiles = synthetic(n=n, seed=seed)
    rng = np.random.default_rng(seed + 11)
    sa = (variants["label"] == "Splice-altering").to_numpy()
    missed = sa & (variants["exon_distance"].abs() <= 2).to_numpy()
    paths_of = {}
    for name in ("spliceai", "pangolin"):
        values = rng.exponential(0.01, n) + (0.2 * missed * rng.uniform(0.5, 1.0, n) if name == informative else 0)
        path = tmp_path / f"{name}.parquet"
        site_table(variants, values, skipped=[5]).to_parquet(path)
        paths_of[name] = path
    paths, tables, feats, calibrator = write_gbm_task(tmp_path, variants, scores, profiles)
    paths["exon_sites_paths"] = [paths_of["spliceai"], paths_of["pangolin"]]  # the primary first
    x = pd.concat([feats, heads.exon_site_inputs(variants, paths["exon_sites_paths"])], axis=1)
    return paths, tables, x, calibrator


def test_inputs_are_the_square_root_of_each_base_model_s_score_and_the_candidate_sets():
    variants = pd.DataFrame({"variant_id": ["a", "b", "c"]})
    assert heads.exon_site_input_sets(["spliceai_exon_site"]) == {"spliceai": ["spliceai_exon_site"]}
    assert heads.exon_site_input_sets(["spliceai_exon_site", "pangolin_exon_site"]) == {
        "spliceai": ["spliceai_exon_site"], "pangolin": ["pangolin_exon_site"],
        "all": ["spliceai_exon_site", "pangolin_exon_site"]}
    table = site_table(variants, [0.04, 0.25, 0.0], skipped=[2])
    shuffled = variants.iloc[::-1].reset_index(drop=True)
    inputs = es.exon_site_scores_of(shuffled, table)
    np.testing.assert_allclose(inputs.to_numpy(), [np.nan, 0.25, 0.04])  # by variant_id, NaN where skipped
    # the head's input: the square root above a floor that keeps float noise near 0 from being magnified
    np.testing.assert_allclose(heads.exon_site_transform([np.nan, 0.0, 0.25]), np.sqrt([np.nan, 1e-3, 0.251]))
    assert heads.exon_site_transform([1e-8])[0] - heads.exon_site_transform([0.0])[0] < 1e-6


def test_the_head_starts_as_calibrated_spliceai_and_chooses_the_base_model_that_carries_the_signal(tmp_path):
    paths, tables, x, calibrator = with_sites(tmp_path, informative="pangolin")
    columns = ["spliceai_exon_site", "pangolin_exon_site"]
    # before training (w = b = 0): P_SA is calibrated SpliceAI's to 1e-6, the row without exon sites included
    untrained = heads.OffsetLogisticHead(calibrator, heads.fit_projection(x[columns].to_numpy(), 0, columns))
    np.testing.assert_allclose(untrained.predict_proba(x)[:, 1], calibrator.apply(x[gbm.BASE_SCORE].to_numpy()),
                               atol=1e-6, rtol=0)
    info = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "head"), experiment="head", threads=1,
                                    model_name="exon_site_head", settings={"seed": 0})
    assert info["beats_offset"] is True and info["starts_from_base_model"] is True
    assert info["exon_site_inputs"] == {"spliceai": ["spliceai_exon_site"], "pangolin": ["pangolin_exon_site"],
                                        "all": columns}
    assert info["inputs_chosen"] == "pangolin"  # chosen on validation + inner folds, not on the test rows
    assert {g["inputs"] for g in info["offset_grid"]} == {"spliceai", "pangolin", "all"}
    assert info["variants_without_exon_sites"] == 1
    # its test predictions, the gain over calibrated SpliceAI and the row without inputs (row 5)
    check_trained_head(tmp_path / "head", tables, x, calibrator)


def test_the_choice_follows_the_signal_to_the_other_base_model(tmp_path):
    paths, *_ = with_sites(tmp_path, informative="spliceai")
    info = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "head"), experiment="head", threads=1,
                                    model_name="exon_site_head", settings={"seed": 0})
    # the informative model's score alone, or with the noise one (never the noise alone)
    assert info["beats_offset"] is True and info["inputs_chosen"] in ("spliceai", "all")
    noise_alone = min((g for g in info["offset_grid"] if g["inputs"] == "pangolin"), key=lambda g: g["selection_loss"])
    assert info["offset_grid_chosen"]["selection_loss"] < noise_alone["selection_loss"]


def test_one_base_model_and_the_missing_scores_error(tmp_path):
    paths, *_ = with_sites(tmp_path)
    one = {**paths, "exon_sites_paths": paths["exon_sites_paths"][:1]}
    info = gbm.train_gbm_experiment(**one, **outputs(tmp_path / "one"), experiment="one", threads=1,
                                    model_name="exon_site_head", settings={"seed": 0, "penalties": [10.0]})
    assert info["exon_site_inputs"] == {"spliceai": ["spliceai_exon_site"]}
    assert [g["inputs"] for g in info["offset_grid"]] == ["spliceai"]
    with pytest.raises(UserError, match="base_model_exon_sites"):
        gbm.train_gbm_experiment(**{**paths, "exon_sites_paths": []}, **outputs(tmp_path / "x"), experiment="x",
                                 threads=1, model_name="exon_site_head")
    with pytest.raises(UserError, match="re-run base_model_exon_sites"):
        es.exon_site_scores_of(pd.DataFrame({"variant_id": ["new"]}), pd.read_parquet(paths["exon_sites_paths"][0]))


def test_registry_entry():
    entry = registry.MODELS["exon_site_head"]
    assert entry.reads_exon_sites and entry.base_offset and not entry.gpu and "exon_site_head" in registry.FEATURE_MODELS
    assert not any(e.reads_exon_sites for n, e in registry.MODELS.items() if n != "exon_site_head")
    with pytest.raises(UserError, match="embedding_components"):  # the embeddings' key is not the site head's
        registry.model_settings("exon_site_head", {"embedding_components": 4})


# ------------------------------------------------------------------ the DAG
def test_the_exon_site_rule_runs_once_per_base_model_only_when_an_experiment_reads_them(tmp_path, copy_workflow,
                                                                                        run_snakemake, planned_jobs):
    work = copy_workflow(tmp_path)
    plain = planned_jobs(run_snakemake(work, "-n"))
    assert "base_model_exon_sites" not in plain and "train_exon_site_head" not in plain
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    config["experiments"]["sites"] = {"model": "exon_site_head"}
    (work / "mine.yaml").write_text(yaml.safe_dump(config))
    out = run_snakemake(work, "-n", "--configfile", "mine.yaml")
    jobs = planned_jobs(out)
    assert jobs["base_model_exon_sites"] == 1 and jobs["train_exon_site_head"] == 1
    assert "results/scores/exon_sites/spliceai.parquet" in out.stdout + out.stderr
    # a model folder (predict computes the exon-site scores too), applied to the external set like every experiment
    assert jobs["model_manifest"] == plain["model_manifest"] + 1
    assert jobs["evaluate_external"] == plain["evaluate_external"] + 1
    # every other rule runs as often as before, plus the experiment's own calibration and evaluation jobs
    same = {r for r in plain if r not in ("calibrate_model", "evaluate_model", "model_manifest", "evaluate_external",
                                          "all")}
    assert {r: jobs[r] for r in same} == {r: plain[r] for r in same}
