"""Ingestion: SpliceVarDB export / labelled VCF -> sorted, indexed VCF with every bad row rejected."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import pytest

from validsplice.common.rule_io import UserError, run_rule
from validsplice.io.labelled_vcf import (
    escape_info,
    ingest_variants,
    read_ingested_vcf,
    read_labelled_vcf,
    unescape_info,
)
from validsplice.io.splicevardb import parse_coordinate, read_splicevardb

HEADER = "variant_id\thg19\thg38\tgene\thgvs\tmethod\tclassification\tlocation\tdoi\n"


def make_fasta(path, contigs: dict[str, str]):
    path.write_text("".join(f">{name}\n{seq}\n" for name, seq in contigs.items()))
    pysam.faidx(str(path))
    return path


def random_seq(n, seed=0):
    return "".join(np.random.default_rng(seed).choice(list("ACGT"), size=n))


@pytest.fixture
def fasta(tmp_path):
    return make_fasta(tmp_path / "ref.fa", {"chr1": random_seq(2000, 1), "chr13": random_seq(500, 2)})


def row(vid, coord, cls="Normal", gene="G1", hgvs="c.1A>G", method="RNA-Seq", doi="10.1/x", hg19="-"):
    vals = [hg19, coord, gene, hgvs, method, cls, "Intronic", doi]
    return f"{vid}\t" + "\t".join(f'"{v}"' for v in vals) + "\n"


def write_table(path, rows, header=HEADER):
    path.write_text(header + "".join(rows))
    return path


def ingest(tmp_path, table, fasta, **kw):
    vcf, rej = tmp_path / "out.vcf.gz", tmp_path / "rej.tsv"
    counts = ingest_variants(table, fasta, vcf, rej, **kw)
    return counts, read_ingested_vcf(vcf), pd.read_csv(rej, sep="\t", dtype=str, keep_default_na=False)


def test_parse_coordinate():
    assert parse_coordinate("13-32316421-g-a") == ("13", 32316421, "G", "A")
    assert parse_coordinate("HLA-A-5-C-T") == ("HLA-A", 5, "C", "T")
    assert parse_coordinate("13-abc-G-A").startswith("malformed coordinate")
    assert parse_coordinate("13-5-G").startswith("malformed coordinate")
    assert parse_coordinate("-") == "missing coordinate"


def test_quoting_comma_lists_and_info_escaping(tmp_path, fasta):
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    table = write_table(tmp_path / "t.tsv", [
        row(7, f"1-100-{seq[99]}-{'A' if seq[99] != 'A' else 'C'}", "Splice-altering",
            hgvs="NM_1.2:c.5+1G>A; p.(=)", method="RNA-Seq,Minigene", doi="10.1/a,10.2/b"),
    ])
    records, rejects = read_splicevardb(table)
    assert len(rejects) == 0 and records.loc[0, "hgvs"] == "NM_1.2:c.5+1G>A; p.(=)"
    raw = pd.read_csv(table, sep="\t", dtype=str)
    assert raw.loc[0, "method"] == "RNA-Seq,Minigene" and raw.loc[0, "doi"] == "10.1/a,10.2/b"
    _, vcf, _ = ingest(tmp_path, table, fasta)
    assert vcf.loc[0, "hgvs"] == "NM_1.2:c.5+1G>A; p.(=)"  # escaped in INFO, restored on read
    assert vcf.loc[0, "chrom"] == "chr1" and vcf.loc[0, "label"] == "Splice-altering"
    text = pysam.VariantFile(str(tmp_path / "out.vcf.gz"))
    rec = next(iter(text))
    assert ";" not in rec.info["HGVS"] and " " not in rec.info["HGVS"]
    assert list(text.header.contigs) == ["chr1", "chr13"]
    for value in ["a b;c=d,e%f\tg", "plain", ""]:
        assert unescape_info(escape_info(value)) == value


def test_every_bad_row_is_rejected_with_a_reason(tmp_path, fasta):
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    good = f"chr1-200-{seq[199]}-{'A' if seq[199] != 'A' else 'C'}"
    table = write_table(tmp_path / "t.tsv", [
        row(1, good),
        row(2, "13-abc-G-A"),
        row(3, good.replace("chr1", "1"), cls="Pathogenic"),
        row(4, "7-100-A-G"),
        row(5, "1-100--G"),
        row(6, "1-100-A-<DEL>"),
        row(7, "1-5000-A-G"),
        row(8, "-"),
    ])
    counts, vcf, rej = ingest(tmp_path, table, fasta)
    assert counts == {"input_rows": 8, "ingested": 1, "rejected": 7}
    reasons = dict(zip(rej["source_row"], rej["reason"]))
    assert reasons["2"].startswith("malformed coordinate: '13-abc-G-A'")
    assert reasons["3"].startswith("unknown classification: 'Pathogenic'")
    assert reasons["4"].startswith("chromosome not in FASTA: '7'")
    assert reasons["5"].startswith("empty allele") or reasons["5"].startswith("malformed")
    assert reasons["6"].startswith("symbolic allele")
    assert reasons["7"].startswith("position outside contig")
    assert reasons["8"].startswith("missing coordinate")
    assert set(rej["stage"]) == {"ingest"}
    assert list(rej.columns) == ["source_file", "source_row", "variant_id", "chrom", "pos", "ref", "alt", "stage", "reason"]


def test_chr_prefix_harmonized_both_ways(tmp_path):
    seq = random_seq(300, 3)
    no_chr = make_fasta(tmp_path / "nochr.fa", {"13": seq})
    with_chr = make_fasta(tmp_path / "chr.fa", {"chr13": seq})
    for fasta, coord_chrom, expect in [(with_chr, "13", "chr13"), (no_chr, "chr13", "13")]:
        table = write_table(tmp_path / "t.tsv", [row(1, f"{coord_chrom}-10-{seq[9]}-N")])
        _, vcf, rej = ingest(tmp_path, table, fasta)
        assert len(rej) == 0 and list(vcf["chrom"]) == [expect]


def test_records_sorted_and_indexed(tmp_path, fasta):
    fa = pysam.FastaFile(str(fasta))
    s1, s13 = fa.fetch("chr1"), fa.fetch("chr13")
    table = write_table(tmp_path / "t.tsv", [
        row(1, f"13-50-{s13[49]}-N"), row(2, f"1-300-{s1[299]}-N"), row(3, f"1-20-{s1[19]}-N"),
    ])
    _, vcf, _ = ingest(tmp_path, table, fasta)
    assert list(zip(vcf["chrom"], vcf["pos"])) == [("chr1", 20), ("chr1", 300), ("chr13", 50)]
    assert list(vcf["source_row"]) == ["3", "2", "1"]
    assert (tmp_path / "out.vcf.gz.tbi").is_file()
    with pysam.TabixFile(str(tmp_path / "out.vcf.gz")) as tbx:
        assert len(list(tbx.fetch("chr1", 0, 100))) == 1


@pytest.mark.parametrize("content, expected", [
    ("", "is empty"),
    (HEADER, "no data rows"),
    (HEADER.replace("\tclassification", "\tclass"), "lacks column(s) ['classification']"),
    (HEADER.replace("\thg38", "\tgrch38"), "coordinate_column"),
])
def test_file_level_problems_raise_user_error(tmp_path, fasta, content, expected):
    table = tmp_path / "bad.tsv"
    table.write_text(content)
    with pytest.raises(UserError) as err:
        ingest(tmp_path, table, fasta)
    assert expected in str(err.value) and str(table) in str(err.value)


def test_run_rule_turns_bad_input_into_a_clear_exit(tmp_path, fasta, capsys):
    table = tmp_path / "bad.tsv"
    table.write_text("")
    with pytest.raises(SystemExit) as exc:
        run_rule(ingest_variants, table, fasta, tmp_path / "o.vcf.gz", tmp_path / "r.tsv")
    assert exc.value.code == 1
    err = capsys.readouterr().err
    assert "ERROR:" in err and "Traceback" not in err and "bad.tsv" in err


def test_all_rows_rejected_names_the_reasons(tmp_path, fasta):
    table = write_table(tmp_path / "t.tsv", [row(1, "13-abc-G-A"), row(2, "13-xyz-G-A")])
    with pytest.raises(UserError, match="malformed coordinate"):
        ingest(tmp_path, table, fasta)


def test_labelled_vcf_input(tmp_path, fasta):
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    src = tmp_path / "in.vcf"
    src.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=1>\n"
        '##INFO=<ID=CLASS,Number=1,Type=String,Description="class">\n'
        '##INFO=<ID=GENE,Number=1,Type=String,Description="gene">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"1\t10\trs1\t{seq[9]}\tN,{seq[9]}T\t.\t.\tCLASS=splice-altering;GENE=G1\n"
        f"1\t20\t.\t{seq[19]}\tN\t.\t.\tCLASS=Benign\n"
        f"1\t30\t.\t{seq[29]}\t<DUP>\t.\t.\tCLASS=Normal\n"
        f"1\t40\t.\t{seq[39]}\tN\t.\t.\t.\n"
    )
    _, vcf, rej = ingest(tmp_path, src, fasta, source="vcf", label_field="CLASS")
    assert list(vcf["variant_id"]) == ["rs1"] and vcf.loc[0, "label"] == "Splice-altering"
    assert vcf.loc[0, "alt"] == f"N,{seq[9]}T" and vcf.loc[0, "gene"] == "G1" and vcf.loc[0, "chrom"] == "chr1"
    reasons = list(rej["reason"])
    assert reasons[0].startswith("unknown classification: 'Benign'")
    assert reasons[1].startswith("symbolic allele: <DUP>")
    assert reasons[2].startswith("missing label")
    assert rej.loc[1, "variant_id"] == f"1-30-{seq[29]}-<DUP>"
    with pytest.raises(UserError, match="label_field"):
        read_labelled_vcf(src, "LABEL_X")


# ------------------------------------------------------------------ edge cases that crashed (issue 9, item 8)
def labelled_vcf_text(fasta) -> str:
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    return (
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
        '##INFO=<ID=CLASS,Number=1,Type=String,Description="class">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
        f"chr1\t10\trs1\t{seq[9]}\tN\t.\t.\tCLASS=Normal\n"
        f"chr1\t20\trs2\t{seq[19]}\tN\t.\t.\tCLASS=Splice-altering\n"
    )


def test_plain_gzip_vcf_is_read_like_bgzip(tmp_path, fasta):
    import gzip

    plain = tmp_path / "plain.vcf.gz"
    plain.write_bytes(gzip.compress(labelled_vcf_text(fasta).encode()))  # gzip, not bgzip
    counts, vcf, rej = ingest(tmp_path, plain, fasta, source="vcf", label_field="CLASS")
    assert list(vcf["variant_id"]) == ["rs1", "rs2"] and len(rej) == 0
    bgz = tmp_path / "bgzip.vcf"
    bgz.write_text(labelled_vcf_text(fasta))
    pysam.tabix_compress(str(bgz), f"{bgz}.gz")
    _, same, _ = ingest(tmp_path, f"{bgz}.gz", fasta, source="vcf", label_field="CLASS")
    pd.testing.assert_frame_equal(vcf, same)


def test_file_kind_detection(tmp_path, fasta):
    import gzip

    from validsplice.io.sniff import compression, detect_kind

    text = tmp_path / "v.vcf"
    text.write_text(labelled_vcf_text(fasta))
    plain = tmp_path / "v.vcf.gz"
    plain.write_bytes(gzip.compress(text.read_bytes()))
    pysam.tabix_compress(str(text), str(tmp_path / "b.vcf.gz"))
    table = write_table(tmp_path / "t.tsv", [row(1, "1-10-A-G")])
    assert [compression(p) for p in (text, plain, tmp_path / "b.vcf.gz")] == ["none", "gzip", "bgzf"]
    assert [detect_kind(p) for p in (text, plain, tmp_path / "b.vcf.gz", table)] == ["vcf", "vcf", "vcf", "splicevardb"]


@pytest.mark.parametrize("compressed", [False, True])
def test_vcf_given_as_splicevardb_says_set_source_vcf(tmp_path, fasta, compressed):
    src = tmp_path / "in.vcf"
    src.write_text(labelled_vcf_text(fasta))
    if compressed:
        pysam.tabix_compress(str(src), f"{src}.gz")
        src = Path(f"{src}.gz")
    with pytest.raises(UserError) as err:
        ingest(tmp_path, src, fasta, source="splicevardb")
    assert "variants.source: vcf" in str(err.value) and str(src) in str(err.value)


def test_splicevardb_export_given_as_vcf_says_set_source_splicevardb(tmp_path, fasta):
    table = write_table(tmp_path / "t.tsv", [row(1, "1-10-A-G")])
    with pytest.raises(UserError, match="variants.source: splicevardb"):
        ingest(tmp_path, table, fasta, source="vcf")


@pytest.mark.parametrize("position", ["14144\u00b2", "\u0661\u0662\u0663", "12\uff13"])
def test_non_ascii_digit_in_position_is_rejected_with_a_reason(tmp_path, fasta, position):
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    table = write_table(tmp_path / "t.tsv", [row("bad", f"1-{position}-G-A"), row("ok", f"1-10-{seq[9]}-N")])
    counts, vcf, rej = ingest(tmp_path, table, fasta)
    assert list(vcf["variant_id"]) == ["ok"]
    assert list(rej["variant_id"]) == ["bad"] and rej.loc[0, "source_row"] == "1"
    assert rej.loc[0, "reason"].startswith("malformed coordinate") and position in rej.loc[0, "reason"]
    assert parse_coordinate(f"2-{position}-G-A").startswith("malformed coordinate")


# ------------------------------------------------------------------ label map (issue 19, item 1)
def mapped_vcf(tmp_path, fasta, classes) -> Path:
    seq = pysam.FastaFile(str(fasta)).fetch("chr1")
    body = "".join(
        f"chr1\t{10 * (i + 1)}\tv{i}\t{seq[10 * (i + 1) - 1]}\tN\t.\t.\tLABEL={cls}\n" for i, cls in enumerate(classes)
    )
    src = tmp_path / "mapped.vcf"
    src.write_text(
        "##fileformat=VCFv4.2\n##contig=<ID=chr1>\n"
        '##INFO=<ID=LABEL,Number=1,Type=String,Description="class">\n'
        "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n" + body
    )
    return src


def test_label_map_renames_excludes_and_counts(tmp_path, fasta):
    src = mapped_vcf(tmp_path, fasta, ["SA", "Intermediate", "normal", "sa", "Intermediate", "Splice-altering"])
    label_map = {"SA": "Splice-altering", "Intermediate": "exclude"}
    counts, vcf, rej = ingest(tmp_path, src, fasta, source="vcf", label_field="LABEL", label_map=label_map)
    assert list(vcf["variant_id"]) == ["v0", "v2", "v3", "v5"]
    assert list(vcf["label"]) == ["Splice-altering", "Normal", "Splice-altering", "Splice-altering"]
    # nothing lost silently: every excluded row is a reject with its reason, and counted
    assert counts == {"input_rows": 6, "ingested": 4, "rejected": 2}
    assert list(rej["variant_id"]) == ["v1", "v4"] and list(rej["source_row"]) == ["2", "5"]
    assert all(r == "excluded by variants.label_map: 'Intermediate' -> exclude" for r in rej["reason"])
    from validsplice.common.reasons import reason_category

    assert reason_category(rej["reason"][0]) == "excluded by the label map (variants.label_map)"


def test_label_map_unknown_class_is_an_error_naming_it(tmp_path, fasta):
    src = mapped_vcf(tmp_path, fasta, ["SA", "Normal", "Intermediat"])
    with pytest.raises(UserError) as error:
        read_labelled_vcf(src, "LABEL", {"SA": "Splice-altering", "Intermediate": "exclude"})
    text = str(error.value)
    assert "'Intermediat'" in text and "record 3" in text and str(src) in text
    for known in ("'SA'", "'Intermediate'", "'Splice-altering'", "'Normal'", "'Low-frequency'", "'Conflicting'"):
        assert known in text
    # without a map the old behaviour stays: unknown classes are rejects
    _, rejects = read_labelled_vcf(src, "LABEL")
    assert list(rejects["reason"].str[:22]) == ["unknown classification"] * 2


def test_label_map_rejects_a_bad_target_and_a_splicevardb_source(tmp_path, fasta):
    src = mapped_vcf(tmp_path, fasta, ["SA"])
    with pytest.raises(UserError, match="'SA' maps to 'Pathogenic'"):
        read_labelled_vcf(src, "LABEL", {"SA": "Pathogenic"})
    table = write_table(tmp_path / "t.tsv", [row(1, "1-10-A-G")])
    with pytest.raises(UserError, match="label_map applies to a labelled VCF"):
        ingest(tmp_path, table, fasta, label_map={"SA": "Splice-altering"})
