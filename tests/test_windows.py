"""Windows: centred on the first REF base, equal-length ref/alt for indels, N padding, strand."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pysam
import pytest

from validsplice.common.rule_io import UserError
from validsplice.common.sequence import decode, reverse_complement
from validsplice.variants.windows import build_windows, extract_windows

SEQ = "".join(np.random.default_rng(11).choice(list("ACGT"), size=400))
L = 21
H = L // 2


@pytest.fixture
def fasta(tmp_path):
    path = tmp_path / "ref.fa"
    path.write_text(">chr1\n" + SEQ[:200].lower() + SEQ[200:] + "\n>chrS\nACGTACGTAC\n")
    pysam.faidx(str(path))
    return path


def table(*rows):
    return pd.DataFrame(rows, columns=["variant_id", "chrom", "pos", "ref", "alt", "strand"])


def windows(fasta, *rows, length=L):
    w = build_windows(table(*rows), fasta, length)
    return [decode(r) for r in w["ref"]], [decode(a) for a in w["alt"]], w


def test_snv_window_is_centred_on_the_variant(fasta):
    pos = 150  # soft-masked region: upper-cased
    ref, alt, w = windows(fasta, ("v", "chr1", pos, SEQ[pos - 1], "N", "+"))
    assert ref[0] == SEQ[pos - 1 - H: pos + H] and ref[0][H] == SEQ[pos - 1]
    assert alt[0] == ref[0][:H] + "N" + ref[0][H + 1:]
    assert w["ref"].dtype == np.uint8 and w["ref"].shape == (1, L) and int(w["length"]) == L


def test_minus_strand_window_is_the_reverse_complement(fasta):
    row = ("v", "chr1", 250, SEQ[249], "T" if SEQ[249] != "T" else "G")
    ref, alt, w = windows(fasta, (*row, "+"), (*row, "-"), (*row, "."))
    assert ref[1] == reverse_complement(ref[0]) and alt[1] == reverse_complement(alt[0])
    assert ref[2] == ref[0] and list(w["strand"]) == ["+", "-", "."]


def test_n_padding_at_contig_ends(fasta):
    ref, alt, _ = windows(fasta, ("s", "chr1", 3, SEQ[2], "N", "+"), ("e", "chr1", 399, SEQ[398], "N", "+"),
                          ("tiny", "chrS", 5, "A", "G", "+"))
    assert ref[0] == "N" * (H - 2) + SEQ[: H + 3]
    assert ref[1] == SEQ[398 - H:] + "N" * (H - 1)
    assert ref[2] == "N" * (H - 4) + "ACGTACGTAC" + "N" * (H - 5)
    assert alt[2][H] == "G" and len(alt[2]) == L


def test_deletion_and_insertion_windows_are_equal_length_and_centred(fasta):
    pos = 300
    dref = SEQ[pos - 1: pos + 3]  # 4-base REF: delete 3 bases after the anchor
    ins = "GGGGG"
    ref, alt, _ = windows(fasta, ("del", "chr1", pos, dref, dref[0], "+"),
                          ("ins", "chr1", pos, SEQ[pos - 1], SEQ[pos - 1] + ins, "+"),
                          ("del-", "chr1", pos, dref, dref[0], "-"))
    left = SEQ[pos - 1 - H: pos - 1]
    assert alt[0] == (left + dref[0] + SEQ[pos + 3:])[:L]
    assert alt[1] == (left + SEQ[pos - 1] + ins + SEQ[pos:])[:L]
    assert all(len(x) == L for x in ref + alt)
    assert ref[0][H] == alt[0][H] == dref[0]  # the anchor stays at the centre
    assert alt[2] == reverse_complement(alt[0])


def test_long_insertion_is_cut_to_length(fasta):
    _, alt, _ = windows(fasta, ("big", "chr1", 100, SEQ[99], SEQ[99] + "T" * 50, "+"))
    assert alt[0] == SEQ[99 - H: 99] + SEQ[99] + "T" * H


def test_bad_length_and_unknown_contig(fasta):
    with pytest.raises(UserError, match="odd"):
        windows(fasta, ("v", "chr1", 10, "A", "C", "+"), length=20)
    with pytest.raises(UserError, match="chr9"):
        windows(fasta, ("v", "chr9", 10, "A", "C", "+"))


def test_extract_windows_keeps_table_row_order(fasta, tmp_path):
    t = table(("b", "chr1", 300, SEQ[299], "N", "-"), ("a", "chr1", 20, SEQ[19], "N", "+"))
    t.to_parquet(tmp_path / "v.parquet")
    extract_windows(tmp_path / "v.parquet", [str(fasta), f"{fasta}.fai"], tmp_path / "w.npz", L)
    with np.load(tmp_path / "w.npz") as w:
        assert set(w.files) == {"ref", "alt", "variant_id", "strand", "length"}
        assert list(w["variant_id"]) == ["b", "a"] and w["variant_id"].dtype.kind == "U"
        assert decode(w["ref"][1]) == SEQ[19 - H: 20 + H]
        assert decode(w["ref"][0]) == reverse_complement(SEQ[299 - H: 300 + H])
