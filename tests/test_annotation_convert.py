"""GTF/GFF3 → SpliceAI gene table, on real GENCODE excerpts (tests/data/annotation/README.md).

Expected values are read by hand from the source lines (quoted next to each assert), not from
the converter, and for two genes from SpliceAI's own GRCh38 table.
"""
from __future__ import annotations

import gzip
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from validsplice.common.rule_io import UserError
from validsplice.io.annotation import GeneAnnotation, resolve_annotation_path
from validsplice.io.annotation_convert import convert, detect_format, write_table

DATA = Path(__file__).parent / "data" / "annotation"
GTF = DATA / "gencode_v29_chr1_excerpt.gtf"
GFF3 = DATA / "gencode_v28_chr1_head100.gff3"
GTF_GZ = DATA / "gencode_v38_ARF5.gtf.gz"
ROOT = Path(__file__).resolve().parents[1]


def row(table: pd.DataFrame, name: str) -> pd.Series:
    hits = table[table["#NAME"] == name]
    assert len(hits) == 1, f"{name}: {len(hits)} rows"
    return hits.iloc[0]


def ints(cell: str) -> list[int]:
    assert cell.endswith(","), "SpliceAI's exon lists are comma-terminated"
    return [int(x) for x in cell.rstrip(",").split(",")]


# ----------------------------------------------------------------------- real GTF
def test_format_detection():
    assert detect_format(GTF) == "gtf"
    assert detect_format(GFF3) == "gff3"
    assert detect_format(GTF_GZ) == "gtf"


def test_gtf_default_one_coding_transcript_per_coding_gene():
    table, summary = convert(GTF)
    # DDX11L1 (transcribed_unprocessed_pseudogene) is left out; four protein-coding genes remain
    assert list(table["#NAME"]) == ["OR4F29", "NOC2L", "KLHL17", "HES4"]
    assert summary.selected_by == {"largest CDS (no tag)": 4}  # GENCODE v29 has no MANE tags

    # NOC2L, minus strand. Source: transcript ENST00000327044.6 (the only protein_coding one)
    #   chr1 HAVANA transcript 944204 959290 . -   (line 29)
    #   chr1 HAVANA exon 959215 959290 . -  exon_number 1 (line 30)
    #   chr1 HAVANA exon 944204 944800 . -  exon_number 19 (line 67)
    noc2l = row(table, "NOC2L")
    assert (noc2l["CHROM"], noc2l["STRAND"]) == ("chr1", "-")
    assert (noc2l["TX_START"], noc2l["TX_END"]) == (944204 - 1, 959290)
    starts, ends = ints(noc2l["EXON_START"]), ints(noc2l["EXON_END"])
    assert len(starts) == len(ends) == 19
    assert starts == sorted(starts)  # ascending even on the minus strand, as SpliceAI's tables
    assert (starts[0], ends[0]) == (944204 - 1, 944800)
    assert (starts[-1], ends[-1]) == (959215 - 1, 959290)

    # KLHL17, plus strand: transcript ENST00000338591.7  "chr1 HAVANA transcript 960587 965715 . +"
    klhl17 = row(table, "KLHL17")
    assert (klhl17["STRAND"], klhl17["TX_START"], klhl17["TX_END"]) == ("+", 960586, 965715)
    # single-exon minus-strand gene: "chr1 ENSEMBL transcript 450703 451697 . -" (ENST00000426406.3)
    or4f29 = row(table, "OR4F29")
    assert (or4f29["STRAND"], or4f29["TX_START"], or4f29["TX_END"]) == ("-", 450702, 451697)
    assert (or4f29["EXON_START"], or4f29["EXON_END"]) == ("450702,", "451697,")


def test_gtf_rows_agree_with_spliceai_own_grch38_table():
    """NOC2L and KLHL17 come out exactly as in the GRCh38 table shipped in the spliceai package
    (built from GENCODE v24 with the largest-CDS rule; the exon structures did not change by v29)."""
    table, _ = convert(GTF)
    original = pd.read_csv(resolve_annotation_path("grch38"), sep="\t", dtype={"CHROM": str})
    for gene in ("NOC2L", "KLHL17"):
        ours, theirs = row(table, gene), row(original, gene)
        for column in ("STRAND", "TX_START", "TX_END", "EXON_START", "EXON_END"):
            assert ours[column] == theirs[column], (gene, column)
        assert ours["CHROM"] == "chr" + theirs["CHROM"]  # contig names kept as in the source


def test_gtf_all_genes_all_transcripts():
    table, _ = convert(GTF, all_genes=True, all_transcripts=True)
    assert len(table) == 18  # every transcript of the five genes
    # pseudogene kept: "chr1 HAVANA transcript 11869 14409 . +" ENST00000456328.2, exons
    # 11869-12227, 12613-12721, 13221-14409
    ddx = row(table, "DDX11L1:ENST00000456328.2")
    assert (ddx["STRAND"], ddx["TX_START"], ddx["TX_END"]) == ("+", 11868, 14409)
    assert ints(ddx["EXON_START"]) == [11868, 12612, 13220]
    assert ints(ddx["EXON_END"]) == [12227, 12721, 14409]
    # a retained-intron NOC2L transcript: "chr1 HAVANA transcript 944204 947060 . -" ENST00000483767.5
    # (line 23), 5 exons (lines 24-28)
    ri = row(table, "NOC2L:ENST00000483767.5")
    assert (ri["TX_START"], ri["TX_END"]) == (944203, 947060)
    assert len(ints(ri["EXON_START"])) == 5
    # sorted by position within the contig
    assert table["TX_START"].is_monotonic_increasing


def test_all_transcripts_of_coding_genes_only_coding_ones():
    table, _ = convert(GTF, all_transcripts=True)
    names = set(table["#NAME"])
    assert "NOC2L:ENST00000327044.6" in names
    assert "NOC2L:ENST00000483767.5" not in names  # retained_intron: no CDS
    assert not any(n.startswith("DDX11L1") for n in names)


# ---------------------------------------------------------------------- real GFF3
def test_gff3_default_and_all():
    table, summary = convert(GFF3)
    # only OR4F5 is protein-coding in the first 100 lines of GENCODE v28 chr1. Its two coding
    # transcripts have the same CDS (69091-70008); the tie goes to the longer one,
    # ENST00000641515.2: "chr1 HAVANA transcript 65419 71585 . +", exons 65419-65433,
    # 65520-65573, 69037-71585 (lines 66-71)
    assert list(table["#NAME"]) == ["OR4F5"]
    or4f5 = row(table, "OR4F5")
    assert (or4f5["CHROM"], or4f5["STRAND"], or4f5["TX_START"], or4f5["TX_END"]) == ("chr1", "+", 65418, 71585)
    assert ints(or4f5["EXON_START"]) == [65418, 65519, 69036]
    assert ints(or4f5["EXON_END"]) == [65433, 65573, 71585]

    every, _ = convert(GFF3, all_genes=True, all_transcripts=True)
    assert len(every) == 18
    # minus-strand lncRNA gene WASH7P: "chr1 HAVANA transcript 14404 29570 . -" ENST00000488147.1,
    # 11 exons, first 14404-14501, last 29534-29570
    wash = row(every, "WASH7P:ENST00000488147.1")
    assert (wash["STRAND"], wash["TX_START"], wash["TX_END"]) == ("-", 14403, 29570)
    starts, ends = ints(wash["EXON_START"]), ints(wash["EXON_END"])
    assert len(starts) == 11 and (starts[0], ends[0]) == (14403, 14501) and (starts[-1], ends[-1]) == (29533, 29570)

    genes_only, _ = convert(GFF3, all_genes=True)
    assert len(genes_only) == 10 and genes_only["#NAME"].is_unique


# ------------------------------------------------------------ gzip, tags, round trip
def test_gzipped_gtf_with_mane_tag(tmp_path):
    # ARF5 (GENCODE v38): tag "Ensembl_canonical"; tag "MANE_Select"; 6 exons 127588411-127588565 ...
    # 127591213-127591700
    table, summary = convert(GTF_GZ)
    assert summary.selected_by == {"MANE Select": 1}
    arf5 = row(table, "ARF5")
    assert (arf5["CHROM"], arf5["STRAND"], arf5["TX_START"], arf5["TX_END"]) == ("chr7", "+", 127588410, 127591700)
    assert ints(arf5["EXON_START"])[0] == 127588410 and ints(arf5["EXON_END"])[-1] == 127591700
    # a gzipped copy of the big GTF excerpt converts like the plain one, whatever its name
    packed = tmp_path / "no_extension"
    with open(GTF, "rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    assert convert(packed)[0].equals(convert(GTF)[0])


def test_tag_priority_over_cds_length(tmp_path):
    """MANE Select beats Ensembl_canonical beats the largest CDS (lines derived from the real
    NOC2L records, tags added to the short retained-intron transcript)."""
    lines = GTF.read_text().splitlines(keepends=True)
    tagged = [
        line.replace("tag \"basic\";", "") .rstrip("\n").rstrip() + ' tag "Ensembl_canonical";\n'
        if 'transcript_id "ENST00000487214.1"' in line else line
        for line in lines
    ]
    # give the (processed_transcript) ENST00000487214.1 a CDS so it stays a coding candidate
    cds = [line.replace("\texon\t", "\tCDS\t") for line in tagged
           if 'transcript_id "ENST00000487214.1"' in line and "\texon\t" in line][:1]
    path = tmp_path / "tagged.gtf"
    path.write_text("".join(tagged + cds))
    table, summary = convert(path)
    assert summary.selected_by["Ensembl canonical"] == 1
    assert row(table, "NOC2L")["TX_START"] == 954425  # "transcript 954426 959309" (line 93)
    path.write_text("".join(tagged + cds).replace('tag "Ensembl_canonical"', 'tag "MANE_Select"'))
    assert convert(path)[1].selected_by["MANE Select"] == 1


def test_round_trip_through_gene_annotation(tmp_path):
    out = tmp_path / "genes.txt"
    table, _ = convert(GTF)
    write_table(table, out)
    annotation = GeneAnnotation.load(out)
    i = annotation.index_of("NOC2L")
    assert annotation.chroms[i] == "1" and annotation.strands[i] == "-"
    assert (annotation.tx_starts[i], annotation.tx_ends[i]) == (944204, 959290)  # 1-based inside
    assert annotation.exon_starts[i][0] == 944204 and annotation.exon_ends[i][-1] == 959290
    assert list(annotation.overlapping("chr1", 944204)) == [i]
    assert annotation.is_exonic(i, 944800) and not annotation.is_exonic(i, 944801)


def test_cli_writes_a_table_score_accepts(tmp_path):
    out = tmp_path / "genes.txt"
    env = {"PYTHONPATH": str(ROOT / "workflow" / "scripts"), "PATH": "/usr/bin:/bin", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "validsplice", "annotation", "-i", str(GFF3), "-o", str(out),
         "--all-genes", "--all-transcripts"], capture_output=True, text=True, env=env)
    assert done.returncode == 0, done.stderr
    assert "read as GFF3" in done.stderr
    assert len(GeneAnnotation.load(out).names) == 18


def test_cli_error_is_a_message(tmp_path, capsys):
    from validsplice.__main__ import main

    assert main(["annotation", "-i", str(tmp_path / "nope.gtf"), "-o", str(tmp_path / "genes.txt")]) == 1
    err = capsys.readouterr().err
    assert "ERROR:" in err and "nope.gtf" in err and "Traceback" not in err


def test_config_schema_accepts_a_converted_table(tmp_path):
    import yaml
    from snakemake.utils import validate

    out = tmp_path / "genes.txt"
    write_table(convert(GTF)[0], out)
    config = yaml.safe_load((ROOT / "config" / "config.yaml").read_text())
    config["annotation"] = str(out)
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert config["annotation"] == str(out)


# ------------------------------------------------------------------- malformed input
def _write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text)
    return path


GOOD_GTF_LINE = ('chr1\tHAVANA\texon\t100\t200\t.\t+\t.\tgene_id "G1"; transcript_id "T1"; '
                 'gene_type "protein_coding"; gene_name "A";\n')


@pytest.mark.parametrize("text, message", [
    (GOOD_GTF_LINE + 'chr1\tHAVANA\texon\t300\t400\t.\t+\t.\tgene_id "G1"; gene_name "A";\n',
     "line 2: exon/CDS line without a transcript_id"),
    (GOOD_GTF_LINE + 'chr1\tHAVANA\texon\t300\t400\t.\t+\t.\ttranscript_id "T2";\n', "line 2: no gene_id"),
    ("#c\n" + GOOD_GTF_LINE.replace("\t200\t", "\tX\t"), "line 2: start/end"),
    (GOOD_GTF_LINE + GOOD_GTF_LINE.replace("\t.\t+\t.\t", "\t.\t+\t"), "line 2: fewer than 9"),
    (GOOD_GTF_LINE.replace("\t+\t", "\t.\t"), "line 1: exon strand"),
    (GOOD_GTF_LINE.replace("\t100\t200\t", "\t300\t200\t"), "line 1: start is after end"),
    (GOOD_GTF_LINE.replace("\texon\t", "\tgene\t"), "no exon lines"),
    (GOOD_GTF_LINE.replace("protein_coding", "lncRNA"), "--all-genes"),
])
def test_malformed_gtf(tmp_path, text, message):
    path = _write(tmp_path, "bad.gtf", text)
    with pytest.raises(UserError) as err:
        convert(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_malformed_gff3(tmp_path):
    head = "##gff-version 3\nchr1\tX\tgene\t100\t400\t.\t+\t.\tID=g1;Name=A;gene_type=protein_coding\n"
    path = _write(tmp_path, "a.gff3", head + "chr1\tX\texon\t100\t200\t.\t+\t.\tID=e1\n")
    with pytest.raises(UserError, match="line 3: exon/CDS line without a Parent"):
        convert(path)
    path = _write(tmp_path, "b.gff3", head + "chr1\tX\texon\t100\t200\t.\t+\t.\tParent=t9\n")
    with pytest.raises(UserError, match="line 3: exon Parent=t9 names no feature ID"):
        convert(path)


def test_unknown_format(tmp_path):
    path = _write(tmp_path, "notes.txt", "just some text\nwithout columns\n")
    with pytest.raises(UserError, match="cannot tell whether this is a GTF or a GFF3"):
        convert(path)
    path = _write(tmp_path, "x.gtf", "")
    with pytest.raises(UserError, match="no exon lines"):
        convert(path)


def test_gff3_fasta_section_and_exon_under_gene(tmp_path):
    """An exon whose Parent is the gene (RefSeq pseudogenes) makes the gene its own transcript;
    a ##FASTA section ends the annotation."""
    text = ("##gff-version 3\n"
            "NC_1\tRefSeq\tgene\t100\t400\t.\t-\t.\tID=gene-P1;Name=P1%2Cx;gene_biotype=pseudogene\n"
            "NC_1\tRefSeq\texon\t100\t150\t.\t-\t.\tID=e1;Parent=gene-P1\n"
            "NC_1\tRefSeq\texon\t300\t400\t.\t-\t.\tID=e2;Parent=gene-P1\n"
            "##FASTA\n>NC_1\nACGT\n")
    table, _ = convert(_write(tmp_path, "p.gff3", text), all_genes=True)
    assert table.to_dict("records") == [{"#NAME": "P1_x", "CHROM": "NC_1", "STRAND": "-", "TX_START": 99,
                                         "TX_END": 400, "EXON_START": "99,299,", "EXON_END": "150,400,"}]


def test_refseq_style_gff3_mane_tag(tmp_path):
    """RefSeq writes tag=MANE Select on the mRNA and names genes with Name=/gene=."""
    text = ("##gff-version 3\n"
            "NC_000020.11\tBestRefSeq\tgene\t87672\t97094\t.\t+\t.\tID=gene-D;Name=D;gene_biotype=protein_coding\n"
            "NC_000020.11\tBestRefSeq\tmRNA\t87672\t97094\t.\t+\t.\tID=rna-NM_1.4;Parent=gene-D;tag=MANE Select;"
            "transcript_id=NM_1.4\n"
            "NC_000020.11\tBestRefSeq\texon\t87672\t87767\t.\t+\t.\tID=exon-1;Parent=rna-NM_1.4\n"
            "NC_000020.11\tBestRefSeq\texon\t96005\t97094\t.\t+\t.\tID=exon-2;Parent=rna-NM_1.4\n"
            "NC_000020.11\tBestRefSeq\tCDS\t87710\t87767\t.\t+\t0\tID=cds-1;Parent=rna-NM_1.4\n"
            "NC_000020.11\tGnomon\tmRNA\t87000\t97094\t.\t+\t.\tID=rna-XM_2.1;Parent=gene-D;transcript_id=XM_2.1\n"
            "NC_000020.11\tGnomon\texon\t87000\t97094\t.\t+\t.\tID=exon-3;Parent=rna-XM_2.1\n"
            "NC_000020.11\tGnomon\tCDS\t87000\t97000\t.\t+\t0\tID=cds-2;Parent=rna-XM_2.1\n")
    table, summary = convert(_write(tmp_path, "r.gff3", text))
    assert summary.selected_by == {"MANE Select": 1}
    assert row(table, "D")["EXON_START"] == "87671,96004,"
    every, _ = convert(tmp_path / "r.gff3", all_transcripts=True)
    assert sorted(every["#NAME"]) == ["D:NM_1.4", "D:XM_2.1"]


def test_ensembl_style_gff3(tmp_path):
    """Ensembl GFF3: ID=gene:/transcript: prefixes, biotype=, comma-separated tag list; a gene
    without a Name falls back to its gene_id."""
    text = ("##gff-version 3\n"
            "1\tensembl\tgene\t1000\t5000\t.\t-\t.\tID=gene:ENSG1;biotype=protein_coding;gene_id=ENSG1\n"
            "1\tensembl\tmRNA\t1000\t5000\t.\t-\t.\tID=transcript:ENST1;Parent=gene:ENSG1;"
            "tag=basic,Ensembl_canonical;transcript_id=ENST1\n"
            "1\tensembl\texon\t1000\t1100\t.\t-\t.\tParent=transcript:ENST1\n"
            "1\tensembl\texon\t4000\t5000\t.\t-\t.\tParent=transcript:ENST1\n"
            "1\tensembl\tCDS\t1050\t1100\t.\t-\t0\tParent=transcript:ENST1\n"
            "1\tensembl\tmRNA\t1000\t5000\t.\t-\t.\tID=transcript:ENST2;Parent=gene:ENSG1;transcript_id=ENST2\n"
            "1\tensembl\texon\t1000\t5000\t.\t-\t.\tParent=transcript:ENST2\n"
            "1\tensembl\tCDS\t1000\t5000\t.\t-\t0\tParent=transcript:ENST2\n")
    table, summary = convert(_write(tmp_path, "e.gff3", text))
    assert summary.selected_by == {"Ensembl canonical": 1}
    assert table.to_dict("records") == [{"#NAME": "ENSG1", "CHROM": "1", "STRAND": "-", "TX_START": 999,
                                         "TX_END": 5000, "EXON_START": "999,3999,", "EXON_END": "1100,5000,"}]
