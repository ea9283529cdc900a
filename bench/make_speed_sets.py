"""The variant sets of the speed benchmark (`bench_scoring.py --set ...`), seeded and reproducible.

Both sets lie on the demo fragment (hg38 chr2:1-2,333,275), inside SpliceAI GENCODE (grch38)
genes, away from the fragment's ends; 80% SNVs, 10% deletions and 10% insertions of 1-3 bases,
REF bases from the FASTA, position-sorted:

- ``spread``: variants drawn uniformly over every gene of the fragment (8 genes, both strands),
  so almost every variant has its own 10,101-base window: no reference is shared. This is the
  common case of a genome or exome VCF.
- ``clustered``: variants drawn over 20 kb of one gene (SH3YL1, minus strand), so their windows
  overlap and one reference pass per cluster serves many variants (a targeted panel, a
  saturation screen).

The third set of the benchmark is the parity VCF, tests/data/spliceai/spliceai_cli_input.vcf.

    python bench/make_speed_sets.py --set spread -n 40 -o /tmp/spread.vcf
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pysam

sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_synthetic_vcf import FASTA, MARGIN, gene_intervals, sample_positions  # noqa: E402

BASES = "ACGT"
CLUSTER_GENE = (218_153, 264_179)  # SH3YL1 (minus strand) in the grch38 table
CLUSTER_SPAN = 20_000


def intervals(which: str, length: int) -> list[tuple[int, int]]:
    if which == "spread":
        return gene_intervals(length)
    lo = CLUSTER_GENE[0] + 10_000
    return [(lo, lo + CLUSTER_SPAN - 1)]


def make(which: str, n: int, out: str | Path, seed: int = 7) -> dict:
    rng = np.random.default_rng(seed)
    with pysam.FastaFile(str(FASTA)) as fa:
        length = fa.get_reference_length("chr2")
        seq = fa.fetch("chr2").upper()
    pos = np.sort(sample_positions(rng, intervals(which, length), n))
    assert pos.min() > MARGIN and pos.max() < length - MARGIN
    with open(out, "w") as f:
        f.write(f"##fileformat=VCFv4.2\n##contig=<ID=chr2,length={length}>\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for k, p in enumerate(int(x) for x in pos):
            kind, size = int(rng.choice(3, p=[0.8, 0.1, 0.1])), int(rng.integers(1, 4))
            ref = seq[p - 1]
            if kind == 1:  # deletion of `size` bases after the anchor
                ref, alt = seq[p - 1:p + size], ref
            elif kind == 2:  # insertion of `size` bases after the anchor
                alt = ref + "".join(rng.choice(list(BASES), size))
            else:
                alt = [b for b in BASES if b != ref][int(rng.integers(0, 3))]
            if "N" in ref:
                ref, alt = "N", "A"  # an N stretch: skipped by both tools alike
            f.write(f"chr2\t{p}\t{which}{k + 1}\t{ref}\t{alt}\t.\t.\t.\n")
    return {"set": which, "records": n, "seed": seed, "span": (int(pos.min()), int(pos.max()))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--set", choices=["spread", "clustered"], required=True)
    parser.add_argument("-n", type=int, default=40, help="records (40)")
    parser.add_argument("-o", "--out", required=True, help="output VCF")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)
    print(make(args.set, args.n, args.out, args.seed))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
