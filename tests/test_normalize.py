"""Normalization: REF check, build-mismatch stop, bcftools left-alignment, dedup, annotation."""
from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from validsplice.common.rule_io import UserError
from validsplice.io.labelled_vcf import ingest_variants, read_ingested_vcf
from validsplice.variants.normalize import TABLE_COLUMNS, normalize_variants

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
def setup(tmp_path, write_reference):
    fasta, ann = write_reference(tmp_path, SEQ, (
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "PLUS\t1\t+\t999\t9000\t999,2999,8799,\t1200,3100,9000,\n"
        "MINUS\t1\t-\t9499\t11000\t9499,10499,\t9700,11000,\n"
    ))
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


def test_multiallelic_rows_are_split_one_row_and_unique_id_per_allele(setup):
    tmp, fasta, ann = setup
    ref = UP[4999]
    alts = [b for b in "ACGT" if b != ref][:2]
    # T -> C,G,T: the third ALT equals REF and is no variant
    table, rej, summary, out = run(tmp, fasta, ann, [("multi", f"1-5000-{ref}-{','.join(alts + [ref])}", "Normal", "")])
    assert sorted(table["alt"]) == sorted(alts)
    assert sorted(table["variant_id"]) == sorted(f"multi@chr1-5000-{ref}-{a}" for a in alts)
    assert set(table["source_id"]) == {"multi"} and set(table["source_rows"]) == {"1"}
    bad = rej[rej["stage"] == "allele_split"]
    assert len(bad) == 1 and bad["alt"].iloc[0] == ref and bad["source_row"].iloc[0] == "1"
    assert bad["reason"].iloc[0].startswith("ALT equals REF after splitting")
    assert summary["rejected"] == {"ALT equals REF after splitting": 1}
    assert summary["rows"]["input"] == 1 and summary["rows"]["added_by_splitting"] == 2
    assert summary["rows"]["output"] == 2 and summary["rows"]["rejected"] == 1
    assert summary["multiallelic_records"] == 1 and summary["ids_made_unique"] == 2
    # the normalized VCF carries the unique ids too
    assert sorted(read_ingested_vcf(out["vcf"])["variant_id"]) == sorted(table["variant_id"])


def test_a_source_id_reused_for_different_variants_becomes_unique(setup):
    tmp, fasta, ann = setup
    rows = [snv("rs1", 5000), snv("rs1", 5100, "Splice-altering"), snv("rs2", 5200), snv("rs2", 5200)]
    table, rej, summary, _ = run(tmp, fasta, ann, rows)
    a, b = (f"rs1@chr1-{p}-{UP[p - 1]}-{alt_of(UP[p - 1])}" for p in (5000, 5100))
    assert list(table["variant_id"]) == [a, b, "rs2"]  # same id, same variant: merged, id kept
    assert list(table["source_id"]) == ["rs1", "rs1", "rs2"]
    assert list(table["label"]) == ["Normal", "Splice-altering", "Normal"]
    assert summary["duplicates_merged"] == 1 and summary["ids_made_unique"] == 2


def test_long_alleles_are_hashed_in_ids(setup):
    from validsplice.variants.normalize import unique_variant_ids

    t = pd.DataFrame({"variant_id": ["x", "x", "y"], "chrom": "chr1", "pos": [5, 5, 9],
                      "ref": ["A", "A" + "C" * 30, "G"], "alt": ["AT", "A", "T"]})
    ids, n = unique_variant_ids(t)
    assert n == 2 and ids[0] == "x@chr1-5-A-AT" and ids[2] == "y"
    assert ids[1].startswith("x@chr1-5-31bp") and ids[1].endswith("-A") and len(ids[1]) < 40
    # a disambiguated name that is already taken gets a counter
    t2 = pd.DataFrame({"variant_id": ["x@chr1-5-A-T", "x", "x"], "chrom": "chr1", "pos": [1, 5, 6],
                       "ref": ["C", "A", "A"], "alt": ["G", "T", "T"]})
    ids2, _ = unique_variant_ids(t2)
    assert list(ids2) == ["x@chr1-5-A-T", "x@chr1-5-A-T#2", "x@chr1-6-A-T"]


def test_row_accounting_balances_on_random_inputs(setup):
    """Property: input rows + rows added by splitting = variants + rejected + merged duplicates,
    for random mixes of SNVs, multiallelic records (some with ALT = REF), duplicates, repeated ids,
    REF mismatches and unknown contigs."""
    tmp, fasta, ann = setup
    rng = np.random.default_rng(11)
    ran = 0
    for case in range(6):
        rows = []
        for _ in range(int(rng.integers(12, 30))):
            pos = int(rng.choice([5000, 5003, 5010, 7000, 8000 + int(rng.integers(0, 200))]))
            ref = UP[pos - 1]
            others = [b for b in "ACGT" if b != ref]
            kind = rng.choice(["snv", "multi", "multi_ref", "wrong", "contig"], p=[0.5, 0.2, 0.15, 0.1, 0.05])
            vid = f"id{int(rng.integers(0, 8))}"  # ids repeat on purpose
            cls = str(rng.choice(["Normal", "Splice-altering"]))
            if kind == "snv":
                coord = f"1-{pos}-{ref}-{rng.choice(others)}"
            elif kind == "multi":
                coord = f"1-{pos}-{ref}-{','.join(rng.choice(others, size=int(rng.integers(2, 4)), replace=False))}"
            elif kind == "multi_ref":
                coord = f"1-{pos}-{ref}-{rng.choice(others)},{ref}"
            elif kind == "wrong":
                coord = f"1-{pos}-{others[0]}-{others[1]}"
            else:
                coord = f"7-{pos}-{ref}-{others[0]}"
            rows.append((vid, coord, cls, ""))
        if sum(r[1].startswith("1-") and "-" + UP[int(r[1].split("-")[1]) - 1] + "-" in r[1] for r in rows) < len(rows) / 2:
            continue  # too many REF mismatches would (rightly) stop as a build mismatch
        table, rej, summary, _ = run(tmp, fasta, ann, rows)
        r = summary["rows"]
        assert r["input"] == len(rows), case
        assert r["input"] + r["added_by_splitting"] == r["output"] + r["rejected"] + r["merged_as_duplicates"], case
        assert r["output"] == len(table) and table["variant_id"].is_unique, case
        expected_added = sum(r_[1].split("-")[3].count(",") for r_ in rows
                             if r_[1].startswith("1-") and r_[1].split("-")[2] == UP[int(r_[1].split("-")[1]) - 1])
        assert r["added_by_splitting"] == expected_added, case
        kept = rej[~rej["stage"].isin(["normalize", "deduplicate"])]
        assert r["rejected"] == len(kept) and r["merged_as_duplicates"] == int((rej["stage"] == "deduplicate").sum())
        assert not (table["ref"] == table["alt"]).any()
        ran += 1
    assert ran >= 4


def test_one_gene_per_variant_source_gene_else_nearest_exon_boundary(tmp_path, write_reference):
    """Overlapping + and - genes: the source's gene wins when it overlaps, else the gene with
    the nearest exon boundary (ties: annotation order); the strand is that gene's."""
    fasta, ann = write_reference(tmp_path, SEQ, (
        "#NAME\tCHROM\tSTRAND\tTX_START\tTX_END\tEXON_START\tEXON_END\n"
        "TIE\t1\t-\t7999\t8900\t7999,8799,\t8001,8900,\n"  # 1-based exons 8000-8001, 8800-8900
        "FWD\t1\t+\t5999\t9000\t5999,8799,\t6200,9000,\n"  # 6000-6200, 8800-9000
        "REV\t1\t-\t6999\t12000\t6999,11799,\t7400,12000,\n"  # 7000-7400, 11800-12000
    ))
    rows = [
        snv("near_rev", 7402),                 # 2 bp from REV's exon end 7400, 1202 from FWD's 6200
        snv("near_fwd", 8995),                 # 5 bp from FWD's 9000, 95 from TIE's 8900, 1595 from REV
        snv("named_fwd", 7404, gene="FWD"),    # the source names FWD: it wins over the nearer REV
        snv("named_absent", 7403, gene="XYZ"), # named gene not in the annotation: nearest rule
        snv("tie", 8400),                      # TIE (8000, 8800) and FWD (8800) both 400 away: file order
        snv("only", 10000),                    # REV only
    ]
    table, _, summary, _ = run(tmp_path, fasta, ann, rows,
                               split={"mode": "gene", "test_genes": ["REV"], "validation_fraction": 0.0})
    t = table.set_index("variant_id")
    got = {v: tuple(t.loc[v, ["gene", "strand", "gene_choice"]]) for v in t.index}
    assert got == {
        "near_rev": ("REV", "-", "nearest exon boundary"),
        "near_fwd": ("FWD", "+", "nearest exon boundary"),
        "named_fwd": ("FWD", "+", "source"),
        "named_absent": ("REV", "-", "nearest exon boundary"),
        "tie": ("TIE", "-", "nearest exon boundary"),  # TIE comes first in the file
        "only": ("REV", "-", "only overlapping"),
    }
    assert t.loc["near_rev", "genes"] == "FWD;REV" and t.loc["near_rev", "exon_distance"] == 7400 - 7402
    assert summary["gene_choice"] == {"nearest exon boundary": 4, "only overlapping": 1, "source": 1}


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


def _merge_group_by_definition(group: pd.DataFrame) -> tuple[dict, list[str]]:
    """The merge rule of one duplicate group, written row by row (the definition the vectorized
    ``deduplicate`` must follow): merged fields, and the reasons of the rows folded into it."""
    labels = list(dict.fromkeys(group["label"]))
    label = labels[0] if len(labels) == 1 else "Conflicting"
    nonempty = lambda col: ";".join(dict.fromkeys(v for v in group[col].astype(str) if v))  # noqa: E731
    merged = {"variant_id": ";".join(dict.fromkeys(group["variant_id"].astype(str))),
              "source_rows": ";".join(group["source_row"].astype(str)), "label": label,
              "source_label": ";".join(labels), "gene": next((g for g in group["gene"] if g), ""),
              "hgvs": nonempty("hgvs"), "location": nonempty("location")}
    what = (f"same class ({label})" if len(labels) == 1
            else f"disagreeing classes ({' vs '.join(labels)}): merged as Conflicting")
    first = group["source_row"].iloc[0]
    return merged, [f"duplicate of source row {first}: {what}"] * (len(group) - 1)


def test_deduplicate_follows_the_merge_rule_on_random_groups():
    from validsplice.variants.normalize import deduplicate

    rng = np.random.default_rng(11)
    n = 400
    table = pd.DataFrame({
        "chrom": rng.choice(["chr1", "chr2"], n), "pos": rng.integers(1, 60, n), "ref": "A",
        "alt": rng.choice(["C", "G"], n), "label": rng.choice(["Splice-altering", "Normal", "Low-frequency"], n),
        "source_row": np.arange(n) + 2, "variant_id": [f"id{i % 350}" for i in range(n)],
        "gene": rng.choice(["", "G1", "G2"], n), "hgvs": rng.choice(["", "c.1A>C", "c.2A>G"], n),
        "location": rng.choice(["", "Exonic"], n),
    })
    out, merges, n_conflicting = deduplicate(table, "export.tsv")
    key = ["chrom", "pos", "ref", "alt"]
    groups = [g for _, g in table.groupby(key, sort=False) if len(g) > 1]
    assert len(groups) > 50  # the draw does give many groups, agreeing and not
    # rows in = rows out + rows merged away; one row per allele
    assert len(table) == len(out) + len(merges) and not out.duplicated(key).any()
    by_key = out.set_index(key)
    expected_reasons = []
    for group in groups:
        merged, reasons = _merge_group_by_definition(group)
        row = by_key.loc[tuple(group[key].iloc[0])]
        assert {k: row[k] for k in merged} == merged
        expected_reasons += reasons
    assert n_conflicting == sum(len(set(g["label"])) > 1 for g in groups)
    # merge records: the folded rows, group by group in order of first appearance, then row order
    assert list(merges["reason"]) == expected_reasons
    assert list(merges["stage"].unique()) == ["deduplicate"]
    singles = table[~table.duplicated(key, keep=False)]
    assert list(out["source_row"].iloc[:len(singles)]) == list(singles["source_row"])
