"""The Vex-seq development set (issue 19): shipped files, its config, the label map on the real VCF."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pysam
import yaml

from validsplice.io.labelled_vcf import ingest_variants

ROOT = Path(__file__).resolve().parents[1]
VEXSEQ = ROOT / "resources" / "vexseq"


def test_shipped_files_have_their_source_and_licence():
    readme = (VEXSEQ / "README.md").read_text()
    assert "scottiadamson/Vex-seq" in readme and "36d9c4a6e5e74def46b3cada69d3166f08c54bd5" in readme
    assert "MIT" in readme
    assert "resources/vexseq" in (ROOT / "NOTICE").read_text()
    total = sum(f.stat().st_size for f in VEXSEQ.iterdir())
    assert total < 1_000_000  # the checkout stays small
    with pysam.FastaFile(str(VEXSEQ / "vexseq_constructs_padded.fa.gz")) as fasta:
        assert len(fasta.references) == 110 and not any(c.startswith("chr") for c in fasta.references)
    genes = pd.read_csv(VEXSEQ / "vexseq_gene_table.txt", sep="\t")
    assert len(genes) == 110 and set(genes["CHROM"]) == set(genes["#NAME"])  # one gene per construct


def test_label_map_on_the_shipped_vcf_excludes_intermediate_and_counts_it(tmp_path):
    config = yaml.safe_load((ROOT / "config" / "vexseq.yaml").read_text())
    counts = ingest_variants(
        ROOT / config["variants"]["path"], ROOT / config["reference"]["fasta"], tmp_path / "in.vcf.gz",
        tmp_path / "rejected.tsv", source="vcf", label_field=config["variants"]["label_field"],
        label_map=config["variants"]["label_map"],
    )
    assert counts == {"input_rows": 2054, "ingested": 1022, "rejected": 1032}
    rejected = pd.read_csv(tmp_path / "rejected.tsv", sep="\t")
    assert (rejected["reason"] == "excluded by variants.label_map: 'Intermediate' -> exclude").all()


def test_vexseq_config_plans_the_kfold_workflow(tmp_path, copy_workflow, planned_jobs, run_snakemake):
    work = copy_workflow(tmp_path)
    jobs = planned_jobs(run_snakemake(work, "-n", "--configfile", "config/vexseq.yaml"))
    k = yaml.safe_load((ROOT / "config" / "vexseq.yaml").read_text())["split"]["k"]
    assert jobs["build_targets"] == k and jobs["pool_targets"] == 1
    assert jobs["train_spliceai_features_gbm"] == k and jobs["train_paired_cnn_classifier"] == k
    assert "train_hyenadna_frozen" not in jobs and "train_hyenadna_finetune" not in jobs
    assert jobs["calibrate_model"] == 5 * k and jobs["combine_calibrated"] == k  # 5 experiments; spliceai_calibrated
    assert jobs["pool_folds"] == 6 and jobs["evaluate_model"] == 6 and jobs["make_report"] == 1
