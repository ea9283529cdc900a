"""Normalization: REF check, build-mismatch stop, bcftools left-alignment, dedup, annotation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pysam
import pytest

from validsplice.io.labelled_vcf import ingest_variants, read_ingested_vcf
from validsplice.normalize import TABLE_COLUMNS, normalize_variants
from validsplice.rule_io import UserError

HEADER = "variant_id\thg19\thg38\tgene\thgvs\tmethod\tclassification\tlocation\tdoi\n"
LENGTH = 20_000
HOMOPOLYMER_AT = 6000  # 1-based: C at 6000, then A x 6 at 6001..6006, then G


def _sequence():
    seq = list(np.random.default_rng(5).choice(list("ACGT"), size=LENGTH))
    seq[HOMOPOLYMER_AT - 1: HOMOPOLYMER_AT + 7] = list("CAAAAAAG")
    seq = "".join(seq)
    return seq[:2000] + seq[2000:2500].lower() + seq[2500:]  # soft-masked stretch


SEQ = _sequence()
UP = SEQ.upper()


@pytest.fixture
def setup(tmp_path):
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\n" + "\n".join(SEQ[i:i + 60] for i in range(0, LENGTH, 60)) + "\n")
    pysam.faidx(str(fasta))
    ann = tmp_path / "genes.txt"
    ann.write_text(
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "PLUS\t1\t+\t999\t9000\t999,2999,8799,\t1200,3100,9000,\n"
        "MINUS\t1\t-\t9499\t11000\t9499,10499,\t9700,11000,\n"
    )
    return tmp_path, fasta, ann


def alt_of(base):
    return "A" if base != "A" else "C"


def run(tmp_path, fasta, ann, rows, **kw):
    table = tmp_path / "t.tsv"
    table.write_text(HEADER + "".join(
        f"{vid}\t\"-\"\t\"{coord}\"\t\"{gene}\"\t\"\"\t\"m\"\t\"{cls}\"\t\"\"\t\"\"\n" for vid, coord, cls, gene in rows
    ))
    out = {k: tmp_path / v for k, v in dict(
        ing="ing.vcf.gz", ingrej="ingrej.tsv", vcf="norm.vcf.gz", table="v.parquet", rej="rej.tsv", summary="s.json"
    ).items()}
    ingest_variants(table, fasta, out["ing"], out["ingrej"])
    split = kw.pop("split", {"mode": "gene", "test_genes": ["MINUS"], "validation_fraction": 0.0, "seed": 1})
    normalize_variants(out["ing"], fasta, out["ingrej"], out["vcf"], out["table"], out["rej"], out["summary"],
                       annotation=str(ann), split=split, **kw)
    return (pd.read_parquet(out["table"]), pd.read_csv(out["rej"], sep="\t", dtype=str, keep_default_na=False),
            json.loads(out["summary"].read_text()), out)


def snv(vid, pos, cls="Normal", gene="", wrong=False):
    ref = UP[pos - 1]
    if wrong:
        ref = alt_of(ref)
        return (vid, f"1-{pos}-{ref}-{alt_of(ref) if alt_of(ref) != UP[pos - 1] else 'G' if ref != 'G' else 'T'}", cls, gene)
    return (vid, f"1-{pos}-{ref}-{alt_of(ref)}", cls, gene)


def test_ref_mismatch_is_rejected_with_the_fasta_base(setup):
    tmp, fasta, ann = setup
    rows = [snv(f"v{i}", 5000 + 10 * i) for i in range(11)] + [snv("bad", 7000, wrong=True)]
    table, rej, summary, _ = run(tmp, fasta, ann, rows)
    assert len(table) == 11 and "bad" not in set(table["variant_id"])
    line = rej[rej["variant_id"] == "bad"].iloc[0]
    assert line["stage"] == "ref_check" and line["reason"] == f"REF mismatch: FASTA has {UP[6999]}"
    assert line["source_row"] == "12"
    assert summary["rejected"] == {"REF mismatch": 1}


def test_build_mismatch_stops_with_a_clear_error(setup):
    tmp, fasta, ann = setup
    rows = [snv(f"v{i}", 5000 + 10 * i, wrong=i < 8) for i in range(12)]
    with pytest.raises(UserError) as err:
        run(tmp, fasta, ann, rows)
    msg = str(err.value)
    assert "8 of 12" in msg and "hg19 vs GRCh38" in msg and "coordinate_column" in msg and "t.tsv" in msg
    with pytest.raises(UserError, match="build"):  # fewer than 10 checked: all wrong stops too
        run(tmp, fasta, ann, [snv("a", 5000, wrong=True), snv("b", 5100, wrong=True)])


def test_lower_case_fasta_matches_upper_case_ref(setup):
    tmp, fasta, ann = setup
    assert SEQ[2099].islower()
    table, rej, _, _ = run(tmp, fasta, ann, [snv("soft", 2100)])
    assert list(table["variant_id"]) == ["soft"] and not (rej["stage"] == "ref_check").any()


def test_left_alignment_by_bcftools_is_kept_and_recorded(setup):
    tmp, fasta, ann = setup
    # delete one A of CAAAAAAG, written at the run's right end: 6005 AA>A -> 6000 CA>C
    table, rej, summary, out = run(tmp, fasta, ann, [("del", "1-6005-AA-A", "Normal", "")])
    assert list(zip(table["pos"], table["ref"], table["alt"])) == [(6000, "CA", "C")]
    note = rej[rej["stage"] == "normalize"]
    assert list(note["reason"]) == ["changed by normalization: chr1:6005 AA>A -> chr1:6000 CA>C"]
    assert summary["normalized_changed"] == 1 and summary["rejected"] == {}
    assert table.loc[0, "variant_type"] == "deletion" and table.loc[0, "indel_length"] == -1
    vcf = read_ingested_vcf(out["vcf"])
    assert (vcf.loc[0, "pos"], vcf.loc[0, "ref"]) == (6000, "CA")
    assert (out["vcf"].parent / "norm.vcf.gz.tbi").is_file()


def test_multiallelic_rows_are_split(setup):
    tmp, fasta, ann = setup
    ref = UP[4999]
    alts = [b for b in "ACGT" if b != ref][:2]
    table, _, _, _ = run(tmp, fasta, ann, [("multi", f"1-5000-{ref}-{','.join(alts)}", "Normal", "")])
    assert sorted(table["alt"]) == sorted(alts) and set(table["variant_id"]) == {"multi"}


def test_duplicates_merge_and_disagreeing_classes_become_conflicting(setup):
    tmp, fasta, ann = setup
    rows = [
        snv("a1", 5000, "Normal"), snv("a2", 5000, "Normal"),
        snv("b1", 5200, "Normal"), snv("b2", 5200, "Splice-altering"),
        snv("c", 5400, "Low-frequency"),
    ]
    table, rej, summary, _ = run(tmp, fasta, ann, rows)
    by_id = table.set_index("variant_id")
    assert list(table["variant_id"]) == ["a1;a2", "b1;b2", "c"]
    assert by_id.loc["a1;a2", "label"] == "Normal" and by_id.loc["a1;a2", "source_rows"] == "1;2"
    assert by_id.loc["b1;b2", "label"] == "Conflicting"
    assert by_id.loc["b1;b2", "source_label"] == "Normal;Splice-altering"
    dedup = rej[rej["stage"] == "deduplicate"]
    assert list(dedup["variant_id"]) == ["a2", "b2"] and "disagreeing" in dedup["reason"].iloc[1]
    assert summary["duplicates_merged"] == 2 and summary["conflicting_from_duplicates"] == 1
    assert summary["per_class"] == {"Splice-altering": 0, "Normal": 1, "Low-frequency": 1, "Conflicting": 1}


def test_annotation_columns_near_contig_end_and_summary(setup):
    tmp, fasta, ann = setup
    rows = [
        snv("intron_plus", 2000, gene="PLUS"),  # 1-based exons 1000-1200, 3000-3100
        snv("exon_plus", 3060),
        snv("minus", 9702, gene="MINUS"),  # just after exon end 9700 on the - strand: acceptor side
        snv("intergenic", 11500),
        snv("start", 100),
        snv("end", LENGTH - 100),
    ]
    table, _, summary, _ = run(tmp, fasta, ann, rows)
    assert list(table.columns) == TABLE_COLUMNS
    t = table.set_index("variant_id")
    assert tuple(t.loc["intron_plus", ["gene", "strand", "region", "in_gene"]]) == ("PLUS", "+", "intronic", True)
    assert t.loc["intron_plus", "exon_distance"] == -800  # boundary 1200 is nearest: 1200 - 2000
    assert t.loc["exon_plus", "region"] == "exonic" and t.loc["exon_plus", "exon_distance"] == 3100 - 3060
    assert t.loc["exon_plus", "nearest_site"] == "donor"  # exon end on + strand
    assert tuple(t.loc["minus", ["gene", "strand", "exon_distance", "nearest_site"]]) == ("MINUS", "-", -2, "acceptor")
    assert t.loc["intergenic", "strand"] == "." and pd.isna(t.loc["intergenic", "exon_distance"])
    assert t.loc["intergenic", "region"] == "intergenic" and t.loc["intergenic", "genes"] == ""
    assert t["near_contig_end"].to_dict() == {
        "start": True, "intron_plus": True, "exon_plus": True, "minus": False, "intergenic": False, "end": True,
    }
    assert t.loc["minus", "split"] == "test" and t.loc["intron_plus", "split"] == "train"
    assert table["pos"].is_monotonic_increasing and table["pos"].dtype == np.int64
    assert summary["in_gene"] == 3 and summary["no_gene"] == 3 and summary["near_contig_end"] == 4
    assert sum(sum(v.values()) for v in summary["per_split"].values()) == len(table)
    assert summary["input_rows"] == summary["ingested"] == 6
