"""Randomized differential test: fast engine (share + incremental) == plain exact path.

A seeded sample of every variant shape (SNV, MNV, deletions left and right of the D+1 boundary
and 2D+1, short and long insertions up to 10 kb, anchored and not), both strands, inside genes,
near transcript ends (N padding) and near the contig end (extended mode), D 0 (every variant
skipped, as by the original), 50 and 500, masking 0 and 1. One SpliceAI model stands in for
the ensemble (the plain path costs ~0.4 s per variant and model on one core): both engines run
each model through the same code, and the five-model mean is covered by test_spliceai_scoring.
The full sweep is bench/bench_differential.py (result in bench/README.md).
"""
from pathlib import Path

import pytest
import torch

from validsplice.io.annotation import GeneAnnotation
from validsplice.scoring.delta import Reference
from validsplice.scoring.differential import run_plan
from validsplice.scoring.weights import load_ensemble

ROOT = Path(__file__).resolve().parents[1]
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"


@pytest.fixture(scope="module")
def report():
    saved = torch.get_num_threads()
    torch.set_num_threads(2)  # IncrementalEngine: two single-threaded workers
    try:
        return run_plan(9, (0, 50, 500), Reference(str(FASTA)), GeneAnnotation.load("grch38"), load_ensemble()[:1])
    finally:
        torch.set_num_threads(saved)


def test_fast_engine_equals_plain_path(report):
    assert report.mismatches == []
    assert report.fallbacks == 0  # no variant needed the plain path as a fallback
    assert report.max_prob_diff <= 1e-5 and report.max_ds_diff <= 1e-5


def test_sample_covers_every_shape(report):
    covered = report.covered
    for D in (50, 500):
        for shape in ("snv", "del", "ins"):
            for strand in ("+", "-"):
                assert any(k[:3] == (D, shape, strand) for k in covered), (D, shape, strand)
    # D 0: the original skips every variant (len(ref) > 2·D), and so do both engines' callers
    assert not any(k[0] == 0 for k in covered)
    assert {k[3] for k in covered} == {"gene", "tx_start", "tx_end", "contig_end"}
    assert any(k[3] == "contig_end" and k[2] == "-" for k in covered)  # MYT1L runs to the end
    assert report.skipped["skipped: multi-base ref and alt"] == 4  # MNVs at D 50/500, per strand
    assert report.skipped["skipped: ref too long"] == 4 + 12  # 2D+1 at D 50/500, all of D 0
    assert report.tasks >= 30
