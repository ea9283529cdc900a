"""Issue 19: the base model's embeddings as features: the cache rule, the trees' feature set, embedding_head."""

import numpy as np
import pandas as pd
import pytest
import torch
import yaml
from helpers import check_trained_head, tiny_nets, write_gbm_task
from helpers import gbm_outputs as outputs
from helpers import gbm_synthetic as synthetic

import validsplice.training.gbm as gbm
from validsplice.common.errors import UserError
from validsplice.config import registry
from validsplice.scoring import embeddings as emb
from validsplice.training import offset_heads as eh


# ------------------------------------------------------------------ the cache (rule base_model_embeddings)
def test_embedding_table_covers_every_variant_and_counts_why_one_has_none(tmp_path, monkeypatch, caplog):
    import pysam

    nets = tiny_nets()
    monkeypatch.setattr("validsplice.scoring.weights.load_ensemble", lambda *a, **k: nets)
    seq = "".join(np.random.default_rng(0).choice(list("ACGT"), 60))
    fasta = tmp_path / "ref.fa"
    fasta.write_text(f">c1\n{seq}\n")
    pysam.faidx(str(fasta))
    rows = [("snv", 20, seq[19], "A" if seq[19] != "A" else "C", "+"),
            ("snv_minus", 30, seq[29], "G" if seq[29] != "G" else "T", "-"),
            ("mnv", 40, seq[39:41], "".join("A" if b != "A" else "C" for b in seq[39:41]), "+"),
            ("deletion", 10, seq[9:12], seq[9], "+"),
            ("mismatch", 50, "A" if seq[49] != "A" else "C", "G", "+"),
            ("other_contig", 5, "A", "G", "+")]
    variants = pd.DataFrame(rows, columns=["variant_id", "pos", "ref", "alt", "strand"]).assign(chrom="c1")
    variants.loc[5, "chrom"] = "c9"
    variants.to_parquet(tmp_path / "variants.parquet")
    with caplog.at_level("INFO"):
        table = emb.embedding_table(tmp_path / "variants.parquet", fasta, tmp_path / "emb.parquet", flank=3,
                                    batch_size=2, device="cpu")
    again = pd.read_parquet(tmp_path / "emb.parquet")
    assert list(again["variant_id"]) == list(variants["variant_id"])  # one row per variant, in order
    assert list(again.columns) == ["variant_id", emb.STATUS, *emb.feature_names(6)]
    status = dict(zip(again["variant_id"], again[emb.STATUS]))
    assert [status[v] for v in ("snv", "snv_minus", "mnv")] == [emb.COMPUTED] * 3
    assert "indel" in status["deletion"] and "differs" in status["mismatch"] and "contig" in status["other_contig"]
    values = again[emb.feature_names(6)].to_numpy()
    assert np.isfinite(values[:3]).all() and np.isnan(values[3:]).all()  # never dropped: NaN with a reason
    assert "3 computed" in caplog.text and "1 skipped: indel" in caplog.text
    # the first network only (NETWORKS): channels of different networks do not correspond
    codes = {"A": 0, "C": 1, "G": 2, "T": 3}
    half = (nets[0].context + 7) // 2
    window = [codes.get(b, 4) for b in ("N" * half + seq + "N" * half)[20 - 1:20 - 1 + 2 * half + 1]]
    alt = list(window)
    alt[half] = codes[rows[0][3]]

    def one_hot(c):
        eye = torch.cat([torch.eye(4), torch.zeros(1, 4)])
        return eye[torch.tensor(c)].T[None]

    expected = emb.variant_embeddings(nets[:1], one_hot(window), one_hot(alt), 3)[0]
    np.testing.assert_allclose(values[0], expected, rtol=1e-5, atol=1e-6)
    assert not np.allclose(values[0], emb.variant_embeddings(nets, one_hot(window), one_hot(alt), 3)[0])
    # the reader: by variant_id, and a variant the cache lacks is a UserError
    np.testing.assert_array_equal(emb.embeddings_of(variants.iloc[::-1], again).to_numpy(), values[::-1])
    with pytest.raises(UserError, match="re-run base_model_embeddings"):
        emb.embeddings_of(pd.DataFrame({"variant_id": ["new"]}), again)
    assert table.shape == again.shape


# ------------------------------------------------------------------ registry
def test_which_experiments_read_the_embeddings():
    assert registry.experiment_reads_embeddings("embedding_head", {})
    assert registry.experiment_reads_embeddings("spliceai_features_gbm", {"features": "base+embeddings"})
    assert not registry.experiment_reads_embeddings("spliceai_features_gbm", {"features": "base"})
    assert not registry.experiment_reads_embeddings("spliceai_features_gbm", {})
    assert not registry.experiment_reads_embeddings("gated_cnn", {"features": "base+embeddings"})
    assert registry.MODELS["embedding_head"].base_offset and "embedding_head" in registry.FEATURE_MODELS
    with pytest.raises(UserError, match="features"):
        registry.model_settings("spliceai_features_gbm", {"featurez": "base"})


# ------------------------------------------------------------------ synthetic task with a signal in the embeddings
def with_embeddings(n=900, seed=0, signal=True):
    """synthetic()'s variants plus a 96-column embeddings table; with ``signal`` two channels carry the part of
    the label SpliceAI misses (``missed``: intronic donor variants 1-2 bases from the boundary)."""
    variants, scores, profiles = synthetic(n=n, seed=seed)
    rng = np.random.default_rng(seed + 7)
    values = rng.normal(size=(n, 96))
    if signal:
        sa = (variants["label"] == "Splice-altering").to_numpy()
        missed = sa & (variants["exon_distance"].abs() <= 2).to_numpy()
        values[:, 3] += 2.5 * missed
        values[:, 40] -= 2.0 * missed
    values[5] = np.nan  # an indel: no embeddings
    table = pd.DataFrame(values.astype(np.float32), columns=emb.feature_names())
    table.insert(0, emb.STATUS, emb.COMPUTED)
    table.loc[5, emb.STATUS] = "skipped: indel (embeddings take same-length alleles: SNVs, MNVs)"
    table.insert(0, "variant_id", variants["variant_id"])
    return variants, scores, profiles, table


def write_inputs(tmp_path, variants, scores, profiles, table):
    paths, tables, feats, calibrator = write_gbm_task(tmp_path, variants, scores, profiles)
    paths["embeddings_path"] = tmp_path / "embeddings.parquet"
    table.to_parquet(paths["embeddings_path"])
    return paths, tables, feats, calibrator


def test_embedding_head_starts_as_calibrated_spliceai_and_learns_the_embeddings_signal(tmp_path):
    variants, scores, profiles, table = with_embeddings()
    paths, tables, feats, calibrator = write_inputs(tmp_path, variants, scores, profiles, table)
    x = pd.concat([feats, emb.embeddings_of(variants, table)], axis=1)
    names = emb.feature_names()
    # before training (w = b = 0): P_SA is calibrated SpliceAI's to 1e-6, rows without embeddings included
    projection = eh.fit_projection(x[names].to_numpy(), 0, names)
    untrained = eh.OffsetLogisticHead(calibrator, projection)
    np.testing.assert_allclose(untrained.predict_proba(x)[:, 1], calibrator.apply(x[gbm.BASE_SCORE].to_numpy()),
                               atol=1e-6, rtol=0)
    info = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "head"), experiment="head", threads=1,
                                    model_name="embedding_head", settings={"seed": 0})
    assert info["beats_offset"] is True and info["starts_from_base_model"] is True
    assert info["metrics"]["best_val_loss"] < info["metrics"]["offset_selection_loss"]
    assert "4-fold group cross-validation" in info["selection"] and info["variants_without_embeddings"] == 1
    # its test predictions, the gain over calibrated SpliceAI and the row without inputs (row 5)
    check_trained_head(tmp_path / "head", tables, x, calibrator)


def test_embedding_head_without_signal_keeps_the_offset_or_a_heavy_penalty(tmp_path):
    variants, scores, profiles, table = with_embeddings(signal=False)
    paths, *_ = write_inputs(tmp_path, variants, scores, profiles, table)
    info = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "head"), experiment="head", threads=1,
                                    model_name="embedding_head", settings={"seed": 0, "penalties": [1e4, 1.0]})
    # 96 columns of noise: never the light penalty
    assert not info["beats_offset"] or info["offset_grid_chosen"]["penalty"] == 1e4


def test_trees_read_projected_embeddings_only_with_features_base_plus_embeddings(tmp_path):
    variants, scores, profiles, table = with_embeddings()
    paths, tables, feats, _ = write_inputs(tmp_path, variants, scores, profiles, table)
    settings = {"max_iter": 30, "learning_rate": 0.1, "seed": 0, "offset_grid": 1, "embedding_components": 4}
    info = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "emb"), experiment="emb", threads=1,
                                    settings={**settings, "features": "base+embeddings"})
    assert info["features"][-4:] == ["emb_pc_1", "emb_pc_2", "emb_pc_3", "emb_pc_4"] and info["reads_embeddings"]
    bundle = gbm.load_model(tmp_path / "emb" / "model.joblib")
    projection = bundle["embedding_projection"]
    # fitted on the training rows only: their projected columns are centred
    train_rows = tables["train_labelled"]["window_row"].to_numpy()
    x = pd.concat([feats, emb.embeddings_of(variants, table)], axis=1)
    projected = eh.project(x, projection)
    assert np.abs(np.nanmean(projected.to_numpy()[train_rows], axis=0)).max() < 1e-6
    # prediction projects the raw columns itself (the joblib bundle carries the projection)
    test_rows = tables["test"]["window_row"].to_numpy()
    np.testing.assert_allclose(gbm.predict_scores(bundle, x.iloc[test_rows]),
                               pd.read_parquet(tmp_path / "emb" / "predictions.parquet")["score"].to_numpy())
    # default features (base): the embeddings are not read, even when given
    base = gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "base"), experiment="base", threads=1,
                                    settings=settings)
    assert not any(f.startswith("emb_") for f in base["features"]) and base["reads_embeddings"] is False
    # reading them without the cache, or from the position-only control, is a UserError
    with pytest.raises(UserError, match="base_model_embeddings"):
        gbm.train_gbm_experiment(**{**paths, "embeddings_path": None}, **outputs(tmp_path / "x"), experiment="x",
                                 threads=1, settings={**settings, "features": "base+embeddings"})
    with pytest.raises(UserError, match="control"):
        gbm.train_gbm_experiment(**paths, **outputs(tmp_path / "y"), experiment="y", threads=1,
                                 model_name="position_only_gbm", settings={**settings, "features": "base+embeddings"})


# ------------------------------------------------------------------ the DAG
def test_the_embeddings_rule_runs_only_when_an_experiment_reads_them(tmp_path, copy_workflow, run_snakemake,
                                                                     planned_jobs):
    work = copy_workflow(tmp_path)
    plain = planned_jobs(run_snakemake(work, "-n"))
    assert "base_model_embeddings" not in plain and "train_embedding_head" not in plain
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    config["experiments"]["head"] = {"model": "embedding_head"}
    config["experiments"]["gbm_emb"] = {"model": "spliceai_features_gbm", "features": "base+embeddings"}
    (work / "mine.yaml").write_text(yaml.safe_dump(config))
    jobs = planned_jobs(run_snakemake(work, "-n", "--configfile", "mine.yaml"))
    assert jobs["base_model_embeddings"] == 1 and jobs["train_embedding_head"] == 1
    assert jobs["train_spliceai_features_gbm"] == plain["train_spliceai_features_gbm"] + 1
    # every other rule runs as often as before, plus the two experiments' own evaluation jobs
    same = {r for r in plain if r not in ("train_spliceai_features_gbm", "calibrate_model", "evaluate_model", "all")}
    assert {r: jobs[r] for r in same} == {r: plain[r] for r in same}
    # predict computes no embeddings: naming such an experiment there is a parse-time error that says why
    config["predict"] = {"mine": {"vcf": "resources/demo/cohort_demo.vcf", "experiments": ["head"]}}
    (work / "predict.yaml").write_text(yaml.safe_dump(config))
    refused = run_snakemake(work, "-n", "--configfile", "predict.yaml", check=False)
    assert refused.returncode != 0
    assert "head read(s) the base model's embeddings, which predict does not compute" in refused.stdout + refused.stderr
