"""Synthetic VCF on the demo fragment (hg38 chr2:1-2,333,275) for the `score` benchmarks.

Seeded and reproducible. A share of the records (``--in-gene``, default 0.3%) lies inside the
SpliceAI GENCODE (grch38) genes of the fragment and is scored by the network: 80% SNVs, 10%
deletions and 10% insertions of 1-3 bases, drawn one by one or (``--burst K``) K at a time within
``--burst-width`` bases of a random in-gene centre, so that any file, however short, holds dense
gene clusters like a real genome's. The rest lies between genes, where the original tool
and `score` write the record unchanged without running the network ("no gene"): they exercise
reading, skip rules and writing, which is what a memory benchmark of streaming needs, and keep
100k records affordable on a CPU. REF bases come from the FASTA; records are position-sorted.

    python bench/make_synthetic_vcf.py -n 100000 -o /tmp/synthetic_100k.vcf
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import pysam

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from validsplice.io.annotation import GeneAnnotation  # noqa: E402

FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"
MARGIN = 5_100  # keep the 10,101-base windows (D=50) inside the fragment
BASES = "ACGT"


def gene_intervals(length: int) -> list[tuple[int, int]]:
    ann = GeneAnnotation.load("grch38")
    out = []
    for i in range(len(ann.names)):
        if str(ann.chroms[i]).removeprefix("chr") == "2":
            lo, hi = max(int(ann.tx_starts[i]), MARGIN), min(int(ann.tx_ends[i]), length - MARGIN)
            if hi > lo:
                out.append((lo, hi))
    return sorted(out)


def gaps(genes: list[tuple[int, int]], length: int) -> list[tuple[int, int]]:
    out, pos = [], MARGIN
    for lo, hi in genes:
        if lo - 1 > pos:
            out.append((pos, lo - 1))
        pos = max(pos, hi + 1)
    if pos < length - MARGIN:
        out.append((pos, length - MARGIN))
    return out


def sample_positions(rng, intervals, n: int, return_interval: bool = False):
    sizes = np.array([hi - lo + 1 for lo, hi in intervals], dtype=np.int64)
    offsets = rng.integers(0, sizes.sum(), n)
    edges = np.concatenate([[0], np.cumsum(sizes)])
    which = np.searchsorted(edges, offsets, side="right") - 1
    starts = np.array([lo for lo, _ in intervals], dtype=np.int64)
    positions = starts[which] + offsets - edges[which]
    return (positions, which) if return_interval else positions


def burst_positions(rng, intervals, n: int, burst: int, width: int) -> np.ndarray:
    """``n`` positions in bursts of ``burst``: each burst uniform within ``width`` bases around a
    random centre, clipped to the centre's own interval (so every position stays in a gene)."""
    centres, which = sample_positions(rng, intervals, -(-n // burst), return_interval=True)
    lo = np.array([intervals[i][0] for i in which])[:, None]
    hi = np.array([intervals[i][1] for i in which])[:, None]
    spread = rng.integers(-(width // 2), width // 2 + 1, (len(centres), burst))
    return np.clip(centres[:, None] + spread, lo, hi).ravel()[:n]


def make(n: int, out: str | Path, in_gene: float = 0.003, seed: int = 1, burst: int = 1,
         burst_width: int = 5_000) -> dict:
    rng = np.random.default_rng(seed)
    with pysam.FastaFile(str(FASTA)) as fa:
        length = fa.get_reference_length("chr2")
        seq = fa.fetch("chr2").upper()
    genes = gene_intervals(length)
    n_gene = int(round(n * in_gene))
    in_gene_pos = (burst_positions(rng, genes, n_gene, burst, burst_width) if burst > 1
                   else sample_positions(rng, genes, n_gene))
    pos = np.concatenate([in_gene_pos, sample_positions(rng, gaps(genes, length), n - n_gene)])
    kind = np.concatenate([rng.choice(3, n_gene, p=[0.8, 0.1, 0.1]), np.zeros(n - n_gene, dtype=int)])
    order = np.argsort(pos, kind="stable")
    with open(out, "w") as f:
        f.write(f"##fileformat=VCFv4.2\n##contig=<ID=chr2,length={length}>\n"
                "#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n")
        for k, i in enumerate(order):
            p, kd = int(pos[i]), int(kind[i])
            size = int(rng.integers(1, 4))
            if kd == 1:  # deletion of `size` bases after the anchor
                ref, alt = seq[p - 1:p + size], seq[p - 1]
            else:
                ref = seq[p - 1]
                other = [b for b in BASES if b != ref]
                first = other[int(rng.integers(0, len(other)))]
                alt = first if kd == 0 else ref + "".join(rng.choice(list(BASES), size))
            if "N" in ref:
                ref, alt = "N", "A"  # rare N stretch; the tool skips it (ref issue or no gene)
            f.write(f"chr2\t{p}\tsyn{k + 1}\t{ref}\t{alt}\t.\t.\t.\n")
    return {"records": n, "in_gene": n_gene, "seed": seed, "burst": burst}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-n", type=int, default=1000, help="records (1000)")
    parser.add_argument("-o", "--out", required=True, help="output VCF")
    parser.add_argument("--in-gene", type=float, default=0.003, help="share of records inside genes (0.003)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--burst", type=int, default=1, help="in-gene records drawn this many at a time (1)")
    parser.add_argument("--burst-width", type=int, default=5_000, help="bases a burst spans (5000)")
    args = parser.parse_args(argv)
    print(make(args.n, args.out, args.in_gene, args.seed, args.burst, args.burst_width))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
