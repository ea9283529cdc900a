"""External test sets: training variants removed and counted, every remaining variant in test."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from validsplice.apply.external import normalize_external, remove_training_overlap
from validsplice.common.rule_io import UserError
from validsplice.io.labelled_vcf import ingest_variants
from validsplice.variants.normalize import normalize_variants

ROOT = Path(__file__).resolve().parents[1]
DEMO = ROOT / "resources" / "demo"
FASTA = str(DEMO / "chr2_1-2333275.fa.gz")


def test_overlap_matches_normalized_alleles_of_train_and_val_only():
    training = pd.DataFrame({
        "variant_id": ["t1", "t2", "t3"], "chrom": ["chr2", "chr2", "chr2"], "pos": [100, 200, 300],
        "ref": ["A", "C", "G"], "alt": ["G", "T", "A"], "label": ["Normal", "Splice-altering", "Normal"],
        "split": ["train", "val", "test"],
    })
    external = pd.DataFrame({
        "variant_id": ["e1", "e2", "e3", "e4"], "chrom": ["2", "chr2", "chr2", "chr2"], "pos": [100, 200, 300, 100],
        "ref": ["A", "C", "G", "A"], "alt": ["G", "T", "A", "C"],
        "label": ["Normal", "Splice-altering", "Normal", "Normal"],
    })
    kept, removed = remove_training_overlap(external, training)
    # e1 ('2' vs 'chr2') and e2 (val) were seen in training; e3 only in the held-out test split; e4 another ALT
    assert list(removed["variant_id"]) == ["e1", "e2"]
    assert list(removed["training_variant_id"]) == ["t1", "t2"]
    assert list(removed["training_split"]) == ["train", "val"]
    assert list(kept["variant_id"]) == ["e3", "e4"]
    assert len(kept) + len(removed) == len(external)


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
    assert len(removed) == summary["in_training_removed"]["n"] == 4
    assert set(removed["training_split"]) <= {"train", "val"}
    assert len(kept) == summary["variants_after_removal"] == summary["variants"] - 4
    assert set(kept["split"]) == {"test"}
    assert not set(removed["variant_id"]) & set(kept["variant_id"])
    on_disk = json.loads(paths["summary_path"].read_text())
    assert on_disk["in_training_removed"]["n"] == 4 and sum(on_disk["per_class_after_removal"].values()) == len(kept)


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
