"""Write ``long_indels_input.vcf``: long deletions and insertions (and a few MNVs) on the hg38 fragment.

Deterministic (seeded); REF bases come from ``resources/demo/chr2_1-2333275.fa.gz``. Variants sit at or
next to internal exon boundaries of the SpliceAI GRCh38 genes in the fragment, on both strands, so that
most scores are not trivially zero. Shapes (the record ID names each one):

- deletions with REF length 11..101 for ``-D 50`` (12, 13, 20, 30, 50, 75, 100 and 101 on each strand,
  plus seeded lengths in 12..100), most of them anchored (ALT = first base of REF), a few not
  (ALT differs from REF's first base, as some SpliceVarDB rows are written);
- deletions with REF length 300..460 (scored at ``-D 500``; "ref too long" at ``-D 50``) and one of
  1,001 bases (too long at both);
- anchored insertions of 600, 1,000 (one in TPO), 5,000 and 10,000 random bases on each strand, and
  one of 100 bases;
- MNVs (``GC>AA`` style) and one multi-base REF and ALT of different lengths, which the original
  writes as ``ALT|GENE|.|.|.|.|.|.|.|.``.

The reference outputs of the original SpliceAI for this file are ``long_indels_output.*.vcf``
(see README.md). Re-running this script must reproduce the committed VCF byte for byte:

    python tests/data/spliceai/make_long_indels.py [--out PATH]
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pysam

ROOT = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from validsplice.annotation import GeneAnnotation  # noqa: E402

FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"
OUT = Path(__file__).resolve().parent / "long_indels_input.vcf"
SEED = 20261125
MARGIN = 6_000  # keep D500 windows (11,001 bases) inside the fragment
BASES = np.array(list("ACGT"))


def boundaries(ann: GeneAnnotation, length: int) -> dict[str, list[tuple[str, int, str]]]:
    """Internal exon boundaries (gene, position, 'start'/'end') per strand, inside the fragment."""
    out: dict[str, list[tuple[str, int, str]]] = {"+": [], "-": []}
    for i in np.nonzero(ann.chroms == "2")[0]:
        if ann.tx_starts[i] > length:
            continue
        starts, ends = np.sort(ann.exon_starts[i]), np.sort(ann.exon_ends[i])
        pts = [(int(p), "start") for p in starts[1:]] + [(int(p), "end") for p in ends[:-1]]
        for p, kind in sorted(pts):
            if MARGIN < p < length - MARGIN:
                out[str(ann.strands[i])].append((str(ann.names[i]), p, kind))
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=str(OUT))
    args = ap.parse_args()
    rng = np.random.default_rng(SEED)
    fasta = pysam.FastaFile(str(FASTA))
    length = fasta.get_reference_length("chr2")
    ann = GeneAnnotation.load("grch38")
    pools = boundaries(ann, length)
    used: set[int] = set()

    def pick(strand: str, gene: str | None = None) -> tuple[str, int, str]:
        cands = [b for b in pools[strand] if b[1] not in used and (gene is None or b[0] == gene)]
        b = cands[int(rng.integers(len(cands)))]
        used.add(b[1])
        return b

    def ref_at(pos: int, n: int) -> str:
        return fasta.fetch("chr2", pos - 1, pos - 1 + n).upper()

    def other_base(b: str) -> str:
        return str(rng.choice([x for x in "ACGT" if x != b]))

    records: list[tuple[int, str, str, str]] = []  # pos, id, ref, alt

    def deletion(n: int, strand: str, anchored: bool = True, gene: str | None = None) -> None:
        name, b, kind = pick(strand, gene)
        # mostly spanning the boundary (the deleted bases pos+1..pos+n-1 contain b), sometimes beside it
        if rng.random() < 0.75:
            pos = b - int(rng.integers(1, n))
            where = "span"
        else:
            pos = b + int(rng.integers(-n - 40, -n)) if rng.random() < 0.5 else b + int(rng.integers(1, 40))
            where = "near"
        ref = ref_at(pos, n)
        alt = ref[0] if anchored else other_base(ref[0])
        style = "" if anchored else "_unanchored"
        records.append((pos, f"del{n}{style}_{name}{strand}_{kind}_{where}", ref, alt))

    def insertion(n: int, strand: str, gene: str | None = None) -> None:
        name, b, kind = pick(strand, gene)
        pos = b + int(rng.integers(-3, 3))
        ref = ref_at(pos, 1)
        alt = ref + "".join(rng.choice(BASES, size=n))
        records.append((pos, f"ins{n}_{name}{strand}_{kind}", ref, alt))

    # -D 50: REF lengths 11 (control: no crash today) .. 101 (one more than 2D: skipped by the original)
    for n in (11, 12, 13, 20, 30, 50, 75, 100, 101):
        for strand in "+-":
            deletion(n, strand)
    for n in sorted(int(x) for x in rng.choice(np.arange(14, 100), size=6, replace=False)):
        deletion(n, "+" if len(records) % 2 else "-")
    for n, strand in ((12, "-"), (21, "+"), (40, "-"), (64, "+")):
        deletion(n, strand, anchored=False)
    # -D 500
    for n, strand in ((300, "+"), (350, "-"), (400, "-"), (460, "+"), (1001, "-")):
        deletion(n, strand)
    # insertions
    insertion(100, "-")
    for n in (600, 1000, 5000, 10000):
        insertion(n, "+", gene="TPO" if n == 1000 else None)
        insertion(n, "-")
    # MNVs and a multi-base REF and ALT of different lengths
    for strand in "+-+-":
        name, b, kind = pick(strand)
        pos = b + int(rng.integers(-2, 2))
        ref = ref_at(pos, 2)
        alt = "".join(other_base(c) for c in ref)
        records.append((pos, f"mnv_{name}{strand}_{kind}", ref, alt))
    name, b, kind = pick("+")
    ref = ref_at(b - 1, 3)
    records.append((b - 1, f"delins_{name}+_{kind}", ref, other_base(ref[0]) + other_base(ref[1])))

    records.sort()
    lines = ["##fileformat=VCFv4.2", f"##contig=<ID=chr2,length={length}>",
             "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO"]
    lines += [f"chr2\t{pos}\t{vid}\t{ref}\t{alt}\t.\t.\t." for pos, vid, ref, alt in records]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {len(records)} records to {args.out}")


if __name__ == "__main__":
    main()
