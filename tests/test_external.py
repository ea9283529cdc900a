"""External test sets: training variants removed and counted, every remaining variant in test."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import validsplice.apply.external as external
from validsplice.apply.external import (
    SAME_ALLELE,
    SAME_SITE,
    gene_disjoint,
    normalize_external,
    remove_training_overlap,
)
from validsplice.common.rule_io import UserError
from validsplice.config.naming import external_rows
from validsplice.io.labelled_vcf import ingest_variants
from validsplice.variants.normalize import normalize_variants

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
FASTA = str(DEMO / "chr2_1-2333275.fa.gz")


def test_overlap_removes_training_alleles_and_training_sites_of_train_and_val_only():
    training = pd.DataFrame({
        "variant_id": ["t1", "t2", "t3"], "chrom": ["chr2", "chr2", "chr2"], "pos": [100, 200, 300],
        "ref": ["A", "C", "G"], "alt": ["G", "T", "A"], "label": ["Normal", "Splice-altering", "Normal"],
        "split": ["train", "val", "test"],
    })
    external = pd.DataFrame({
        "variant_id": ["e1", "e2", "e3", "e4", "e5", "e6"], "chrom": ["2", "chr2", "chr2", "chr2", "chr2", "chr2"],
        "pos": [100, 200, 300, 100, 201, 300], "ref": ["A", "C", "G", "A", "C", "G"],
        "alt": ["G", "T", "A", "C", "T", "C"],
        "label": ["Normal", "Splice-altering", "Normal", "Normal", "Normal", "Normal"],
    })
    kept, removed = remove_training_overlap(external, training)
    # e1 ('2' vs 'chr2') and e2 (val) were seen in training; e4 is another ALT at t1's site; e3 and e6 sit only
    # at a held-out test site; e5 is one base away from a training site
    assert list(removed["variant_id"]) == ["e1", "e2", "e4"]
    assert list(removed["removed_because"]) == [SAME_ALLELE, SAME_ALLELE, SAME_SITE]
    assert list(removed["training_variant_id"]) == ["t1", "t2", "t1"]
    assert list(removed["training_split"]) == ["train", "val", "train"]
    assert list(kept["variant_id"]) == ["e3", "e5", "e6"]
    assert len(kept) + len(removed) == len(external)


def test_gene_disjoint_subset_shares_no_gene_group_with_training():
    training = pd.DataFrame({"variant_id": ["t1", "t2", "t3"], "gene": ["TRAINA", "VALB", "TESTC"],
                             "genes": ["TRAINA", "VALB", "TESTC"], "split": ["train", "val", "test"]})
    external = pd.DataFrame({
        "variant_id": ["same_gene", "val_gene", "test_gene", "no_gene", "bridge", "via_bridge", "new_gene"],
        "gene": ["TRAINA", "VALB", "TESTC", "", "NEWX", "NEWX", "NEWY"],
        # "bridge" overlaps NEWX and TRAINA: NEWX joins TRAINA's group, so "via_bridge" shares it too
        "genes": ["TRAINA", "VALB", "TESTC", "", "NEWX;TRAINA", "NEWX", "NEWY"],
    })
    assert list(gene_disjoint(external, training)) == [False, False, True, True, False, False, True]


@pytest.fixture(scope="module")
def training_table(tmp_path_factory):
    d = tmp_path_factory.mktemp("training")
    ingest_variants(DEMO / "splicevardb_demo.tsv", FASTA, d / "ingested.vcf.gz", d / "ingest_rejected.tsv")
    normalize_variants(d / "ingested.vcf.gz", FASTA, d / "ingest_rejected.tsv", d / "normalized.vcf.gz",
                       d / "variants.parquet", d / "rejected.tsv", d / "summary.json", annotation="grch38",
                       split={"mode": "gene", "test_genes": ["TPO", "SH3YL1"], "validation_fraction": 0.15})
    return d / "variants.parquet"


def prepare(tmp_path, training_path, source=DEMO / "external_demo.vcf"):
    ingest_variants(source, FASTA, tmp_path / "ingested.vcf.gz", tmp_path / "ingest_rejected.tsv", source="vcf",
                    label_field="CLASS")
    paths = {k: tmp_path / v for k, v in (("out_vcf", "normalized.vcf.gz"), ("table_path", "variants.parquet"),
                                          ("rejected_path", "rejected.tsv"), ("summary_path", "summary.json"),
                                          ("overlap_path", "in_training.tsv"))}
    summary = normalize_external(vcf_path=tmp_path / "ingested.vcf.gz", fasta_path=FASTA,
                               ingest_rejected_path=tmp_path / "ingest_rejected.tsv",
                               training_variants_path=training_path, name="demo2", **paths)
    return summary, paths


def test_demo_external_set_loses_its_training_copies(training_table, tmp_path):
    summary, paths = prepare(tmp_path, training_table)
    kept = pd.read_parquet(paths["table_path"])
    removed = pd.read_csv(paths["overlap_path"], sep="\t")
    # the generator copies 4 training variants into the set (resources/demo/make_demo_predict_inputs.py)
    per_rule = summary["in_training_removed"]["per_rule"]
    assert per_rule[SAME_ALLELE] == 4 and len(removed) == summary["in_training_removed"]["n"] == sum(per_rule.values())
    assert (removed["removed_because"] == SAME_ALLELE).sum() == 4
    assert set(removed["training_split"]) <= {"train", "val"}
    assert len(kept) == summary["variants_after_removal"] == summary["variants"] - len(removed)
    assert set(kept["split"]) == {"test"}
    assert not set(removed["variant_id"]) & set(kept["variant_id"])
    on_disk = json.loads(paths["summary_path"].read_text())
    assert on_disk["in_training_removed"]["n"] == len(removed)
    assert sum(on_disk["per_class_after_removal"].values()) == len(kept)
    # the gene-disjoint subset: the set's variants in the held-out test genes (TPO, SH3YL1); the others sit in
    # genes of train/val rows
    disjoint = kept[kept["gene_disjoint"]]
    assert on_disk["gene_disjoint"]["n"] == len(disjoint) > 0
    assert on_disk["gene_disjoint"]["removed_as_sharing_a_gene_group"] == len(kept) - len(disjoint) > 0
    training = pd.read_parquet(training_table)
    seen_genes = set(training.loc[training["split"].isin(["train", "val"]), "gene"])
    assert set(disjoint["gene"]) <= {"TPO", "SH3YL1", ""}
    assert set(kept.loc[~kept["gene_disjoint"], "gene"]) <= seen_genes


def test_external_set_made_only_of_training_variants_is_an_error(training_table, tmp_path):
    table = pd.read_parquet(training_table)
    seen = table[table["split"] == "train"].head(3)
    body = [f"{r.chrom}\t{r.pos}\t.\t{r.ref}\t{r.alt}\t.\t.\tCLASS={r.label}" for r in seen.itertuples()]
    src = tmp_path / "copies.vcf"
    src.write_text("\n".join(["##fileformat=VCFv4.2", "##contig=<ID=chr2,length=2333275>",
                              '##INFO=<ID=CLASS,Number=1,Type=String,Description="class">',
                              "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO", *body]) + "\n")
    with pytest.raises(UserError, match="all 3 variants are also in the training data"):
        prepare(tmp_path, training_table, src)


def test_every_table_row_is_included_or_named_with_its_reason():
    rows = ["spliceai_raw", "gbm", "cnn", "spliceai_calibrated", "ens", "broken_ens", "mystery"]
    combined = {"spliceai_calibrated": ["spliceai_raw"], "ens": ["gbm", "cnn"], "broken_ens": ["cnn", "gone"]}
    included, left_out = external_rows(rows, ["spliceai_raw", "gbm", "cnn"], combined)
    assert included == ["spliceai_raw", "gbm", "cnn", "spliceai_calibrated", "ens"]
    assert set(left_out) == {"broken_ens", "mystery"} and "gone" in left_out["broken_ens"]
    assert set(included) | set(left_out) == set(rows)  # nothing dropped silently


class FakeFolder:
    def __init__(self, experiment):
        self.experiment = experiment


def test_unscored_external_rows_get_no_score_and_are_counted(training_table, tmp_path, monkeypatch):
    """A variant the base model could not score: NaN (not 0.0) for the models reading its delta, left out of
    their metrics, counted in the external report; the gene-disjoint table is evaluated on its own rows."""
    _, paths = prepare(tmp_path, training_table)
    variants = pd.read_parquet(paths["table_path"])
    n = len(variants)
    y = (variants["label"] == "Splice-altering").to_numpy(float)
    rng = np.random.default_rng(0)
    base = np.clip(y * 0.5 + rng.uniform(0, 0.4, n), 0, 1)
    base[0] = np.nan  # the base model could not score variant 0
    results = {"spliceai_raw": (base, base), "features_gbm": (base, base),
               "position_only_gbm": (rng.uniform(0, 1, n), rng.uniform(0, 1, n))}

    def fake_predict(table, fasta, annotation, models, **kwargs):
        assert list(table["variant_id"]) == list(variants["variant_id"])
        return pd.DataFrame({"variant_id": []}), {m.experiment: results[m.experiment] for m in models}

    monkeypatch.setattr(external, "load_model_folder", lambda folder, device: FakeFolder(Path(folder).name))
    monkeypatch.setattr("validsplice.apply.predict.predict_variant_table", fake_predict)
    out = tmp_path / "ext"
    experiments = list(results)
    external.predict_external(variants_path=paths["table_path"], fasta=FASTA, annotation="grch38",
                              model_dirs=[str(tmp_path / e) for e in experiments],
                              predictions_paths=[str(out / e / "predictions.parquet") for e in experiments],
                              scores_path=out / "scores.parquet", device="cpu")
    first = variants["variant_id"].iat[0]
    for e in ("spliceai_raw", "features_gbm"):
        table = pd.read_parquet(out / e / "predictions.parquet").set_index("variant_id")
        assert np.isnan(table.loc[first, "score"]) and not table.loc[first, "scored"]  # not 0.0
        assert np.isnan(table.loc[first, "p_sa"])
    assert pd.read_parquet(out / "position_only_gbm" / "predictions.parquet")["scored"].all()
    # a combined row: the mean of the members' P_SA, missing where one is
    external.combine_external(member_predictions=[str(out / e / "predictions.parquet") for e in experiments[1:]],
                              members=experiments[1:], out_predictions=out / "ens" / "predictions.parquet",
                              experiment="ens")
    ens = pd.read_parquet(out / "ens" / "predictions.parquet")
    np.testing.assert_allclose(ens["score"][1:], (results["features_gbm"][1] + results["position_only_gbm"][1])[1:] / 2)
    assert np.isnan(ens["score"].iat[0]) and not ens["scored"].iat[0]
    metrics, disjoint_metrics, trainings = [], [], []
    for e in experiments + ["ens"]:
        training = tmp_path / f"{e}.training.json"
        scale = "delta" if e == "spliceai_raw" else "probability"
        training.write_text(json.dumps({"experiment": e, "model": e, "status": "trained", "score_scale": scale,
                                        "threshold": None if scale == "delta" else 0.5}))
        trainings.append(str(training))
        metrics.append(out / e / "metrics.json")
        disjoint_metrics.append(out / "gene_disjoint" / e / "metrics.json")
        result = external.evaluate_external(
            predictions=str(out / e / "predictions.parquet"), baseline=str(out / "spliceai_raw" / "predictions.parquet"),
            training=str(training), variants=str(paths["table_path"]), metrics_path=metrics[-1],
            breakdown_path=out / e / "breakdown.tsv", disjoint_metrics_path=disjoint_metrics[-1],
            disjoint_breakdown_path=out / "gene_disjoint" / e / "breakdown.tsv", experiment=e, n_bootstrap=50)
        missing = 0 if e == "position_only_gbm" else 1
        assert result["all"]["counts"]["excluded"].get("score is missing (NaN)", 0) == missing
        assert result["all"]["counts"]["test_rows"] == n - missing
        assert result["gene_disjoint"]["counts"]["test_rows"] <= int(variants["gene_disjoint"].sum())
    table = external.external_summary(
        metrics=[str(p) for p in metrics], trainings=trainings, prepare_summary=paths["summary_path"],
        experiments=experiments + ["ens"], tsv=out / "summary.tsv", html=out / "summary.html", name="demo2",
        disjoint_metrics=[str(p) for p in disjoint_metrics], disjoint_tsv=out / "gene_disjoint.tsv",
        left_out={"broken_ens": "member(s) gone have no model folder to apply"})
    assert list(table[external.UNSCORED_COLUMN]) == [1, 1, 0, 1]
    page = (out / "summary.html").read_text()
    assert "spliceai_raw 1, features_gbm 1, ens 1" in page and "Gene-disjoint subset" in page
    assert "broken_ens (member(s) gone have no model folder to apply)" in page
    assert SAME_SITE in page or "training site" in page
    disjoint = pd.read_csv(out / "gene_disjoint.tsv", sep="\t")
    assert list(disjoint["Experiment"]) == experiments + ["ens"]
