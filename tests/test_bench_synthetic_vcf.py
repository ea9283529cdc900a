"""bench/make_synthetic_vcf.py: the memory benchmark's inputs are what its README says."""
import hashlib
import sys
from pathlib import Path

import numpy as np
import pysam
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
synthetic = pytest.importorskip("make_synthetic_vcf")


def read_positions(path):
    with pysam.VariantFile(str(path)) as vcf:
        return [(rec.pos, rec.ref, rec.alts[0]) for rec in vcf]


def in_any(pos, intervals):
    return any(lo <= pos <= hi for lo, hi in intervals)


def test_bursts_stay_in_genes_and_within_their_width(tmp_path):
    genes = synthetic.gene_intervals(2_333_275)
    made = synthetic.make(400, tmp_path / "burst.vcf", in_gene=0.5, seed=4, burst=25, burst_width=3_000)
    records = read_positions(tmp_path / "burst.vcf")
    assert made["in_gene"] == 200 and len(records) == 400
    inside = np.array(sorted(p for p, _, _ in records if in_any(p, genes)))
    assert len(inside) == 200
    # 8 bursts of 25: sorted, the gaps inside a burst are small and there are at most 7 big ones
    assert (np.diff(inside) > 3_000).sum() <= 7
    assert [p for p, _, _ in records] == sorted(p for p, _, _ in records)


def test_reference_bases_match_the_fasta(tmp_path):
    synthetic.make(300, tmp_path / "x.vcf", in_gene=1.0, seed=2, burst=30, burst_width=15_000)
    with pysam.FastaFile(str(synthetic.FASTA)) as fasta:
        for pos, ref, alt in read_positions(tmp_path / "x.vcf"):
            if ref != "N":
                assert fasta.fetch("chr2", pos - 1, pos - 1 + len(ref)).upper() == ref
                assert alt != ref


# sha256 of make(500, in_gene=0.2, seed=1) written by the generator before --burst existed (05668a9):
# the file the earlier memory tables in bench/README.md were measured on
PRE_BURST_DIGEST = "3e632ff2e7df4a982136ad9f0227dcf795f230218538393515f8532f014f9e2e"


def test_burst_one_is_the_earlier_isolated_draw(tmp_path):
    """--burst 1 (the default) still writes the files the earlier tables were measured on."""
    synthetic.make(500, tmp_path / "a.vcf", in_gene=0.2, seed=1, burst=1)
    assert hashlib.sha256((tmp_path / "a.vcf").read_bytes()).hexdigest() == PRE_BURST_DIGEST
    genes = synthetic.gene_intervals(2_333_275)
    inside = sorted(p for p, _, _ in read_positions(tmp_path / "a.vcf") if in_any(p, genes))
    assert len(inside) == 100 and (np.diff(inside) > 3_000).sum() > 20  # isolated, not bursts
