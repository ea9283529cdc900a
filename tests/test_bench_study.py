"""bench/bench_study_50k.py: its synthetic inputs follow the workflow's contracts."""
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "bench"))
bench = pytest.importorskip("bench_study_50k")

from validsplice.scoring.shards import SCORE_COLUMNS, gather_scores  # noqa: E402


def test_export_scales_past_the_demo_without_repeating_an_allele(tmp_path):
    path = tmp_path / "export.tsv"
    made = bench.write_export(1200, path, seed=3)
    table = pd.read_csv(path, sep="\t", dtype=str)
    assert made["rows"] == len(table) >= 1200
    assert list(table.columns) == bench.demo.COLUMNS
    assert set(table["classification"]) == {"Splice-altering", "Normal", "Low-frequency"}
    # the demo's deliberate repeats (conflicts, same-class duplicates) and rejects, nothing more
    repeats = table["hg38"].duplicated().sum()
    assert repeats == bench.demo.N_CONFLICT + bench.demo.N_SAME_DUP


def test_synthetic_shard_is_what_gather_scores_reads(tmp_path):
    variants = pd.DataFrame({
        "variant_id": ["sa", "two_genes", "mnv", "intergenic"], "chrom": "chr2", "pos": [10, 20, 30, 40],
        "ref": ["A", "C", "GT", "A"], "alt": ["G", "T", "CA", "C"],
        "label": ["Splice-altering", "Normal", "Normal", "Normal"],
        "genes": ["G1", "G1;G2", "G1", ""], "variant_type": ["SNV", "SNV", "MNV", "SNV"],
    })
    slots = bench.synthetic_slots(variants, {"G1": "+", "G2": "-"}, np.random.default_rng(0))
    table, profiles, n_scored = bench.rows_from_slots(variants, slots)
    assert list(table.columns) == SCORE_COLUMNS
    # one row per overlapping gene; MNVs and gene-less variants skipped as score_shard skips them
    assert table["gene"].tolist() == ["G1", "G1", "G2", "G1", ""]
    assert table["strand"].tolist() == ["+", "+", "-", "+", "."]
    assert table["status"].tolist() == ["scored"] * 3 + ["skipped: multi-base ref and alt", "skipped: no gene"]
    assert profiles.shape == (n_scored, 2 * bench.DISTANCE + 1, 2) and profiles.dtype == np.float16
    # the delta scores are the profile's: the Splice-altering variant has a lost site of 0.2-0.9
    sa = table.iloc[0]
    assert 0.2 <= max(sa["DS_AL"], sa["DS_DL"]) <= 1.0
    assert sa["max_ds"] == pytest.approx(max(sa[["DS_AG", "DS_AL", "DS_DG", "DS_DL"]]))
    assert table.loc[1:2, "max_ds"].max() < 0.1
    shard, shard_profiles = tmp_path / "0.parquet", tmp_path / "0.profiles.npy"
    table.to_parquet(shard, index=False)
    np.save(shard_profiles, profiles)
    gathered = gather_scores([str(shard)], [str(shard_profiles)], str(tmp_path / "scores.parquet"),
                             str(tmp_path / "delta_profiles.npy"), str(tmp_path / "summary.json"))
    assert len(gathered) == 5 and (gathered["profile_row"] >= 0).sum() == 3
