"""The committed demo data: deterministic generator, SpliceVarDB format, expected class mix."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd

from validsplice.io.labelled_vcf import ingest_variants
from validsplice.io.splicevardb import SPLICEVARDB_COLUMNS, read_splicevardb
from validsplice.variants.normalize import normalize_variants

DEMO = Path(__file__).resolve().parents[1] / "resources" / "demo"
TABLE = DEMO / "splicevardb_demo.tsv"
FASTA = DEMO / "chr2_1-2333275.fa.gz"


def test_generator_is_deterministic_and_matches_the_committed_file(tmp_path):
    out = tmp_path / "demo.tsv"
    subprocess.run([sys.executable, str(DEMO / "make_demo_variants.py"), "--out", str(out)], check=True,
                   capture_output=True, timeout=60)
    assert out.read_bytes() == TABLE.read_bytes()


def test_demo_table_is_in_splicevardb_format_with_the_expected_mix():
    first = TABLE.read_text().splitlines()[:2]
    assert first[0].split("\t") == SPLICEVARDB_COLUMNS
    assert first[1].split("\t")[2].startswith('"2-') and '"' not in first[1].split("\t")[0]
    records, rejects = read_splicevardb(TABLE)
    assert 280 <= len(records) + len(rejects) <= 320
    assert list(rejects["reason"].str.split(":").str[0]) == ["malformed coordinate"]
    share = records["label"].value_counts(normalize=True)
    assert 0.28 < share["Splice-altering"] < 0.42 and 0.40 < share["Normal"] < 0.55
    assert (records["ref"].str.len() != records["alt"].str.len()).mean() > 0.1  # indels present
    raw = pd.read_csv(TABLE, sep="\t", dtype=str)
    assert raw["method"].str.contains(",").all()  # comma lists inside quotes


def test_demo_normalizes_with_rejects_left_alignments_conflicts_and_test_genes(tmp_path):
    paths = {k: tmp_path / k for k in ("ing.vcf.gz", "ingrej.tsv", "n.vcf.gz", "v.parquet", "rej.tsv", "s.json")}
    p = list(paths.values())
    ingest_variants(TABLE, FASTA, p[0], p[1])
    summary = normalize_variants(
        p[0], FASTA, p[1], p[2], p[3], p[4], p[5], annotation="grch38",
        split={"mode": "gene", "test_genes": ["TPO", "SH3YL1"], "validation_fraction": 0.15, "seed": 42},
    )
    assert summary["rejected"] == {"malformed coordinate": 1, "REF mismatch": 1}
    assert summary["conflicting_from_duplicates"] == 6 and summary["per_class"]["Conflicting"] == 6
    assert summary["normalized_changed"] >= 5
    table = pd.read_parquet(p[3])
    assert set(table["strand"]) == {"+", "-", "."}
    test_share = (table["split"] == "test").mean()
    assert 0.2 < test_share < 0.33 and set(table.loc[table["split"] == "test", "gene"]) == {"TPO", "SH3YL1"}
    assert (table["split"] == "val").sum() > 0
