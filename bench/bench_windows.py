#!/usr/bin/env python
"""Benchmark window extraction: 50,000 synthetic variants on the demo FASTA, one core.

Prints the time and variants/s. Target: well under a minute (it takes about a second).
Usage: python bench/bench_windows.py [--n 50000] [--length 501]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
from validsplice.variants.windows import build_windows  # noqa: E402

FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def synthetic_table(n: int, seed: int = 0) -> pd.DataFrame:
    """SNVs (80 %), deletions and insertions of 1-5 bp (REF is not checked here), both strands."""
    rng = np.random.default_rng(seed)
    pos = rng.integers(10_000, 2_330_000, size=n)
    kind = rng.choice(3, size=n, p=[0.8, 0.1, 0.1])
    k = rng.integers(1, 6, size=n)
    ref = np.where(kind == 1, ["A" * (int(x) + 1) for x in k], "A")
    alt = np.where(kind == 2, ["A" + "G" * int(x) for x in k], "C")
    alt = np.where(kind == 1, "A", alt)
    return pd.DataFrame({
        "variant_id": [f"v{i}" for i in range(n)], "chrom": "chr2", "pos": pos, "ref": ref, "alt": alt,
        "strand": rng.choice(["+", "-", "."], size=n),
    })


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=50_000)
    parser.add_argument("--length", type=int, default=501)
    args = parser.parse_args(argv)
    table = synthetic_table(args.n)
    t0 = time.perf_counter()
    windows = build_windows(table, FASTA, args.length)
    seconds = time.perf_counter() - t0
    assert windows["ref"].shape == (args.n, args.length)
    print(f"{args.n} variants, L={args.length}: {seconds:.2f} s, {args.n / seconds:,.0f} variants/s "
          f"(target < 60 s: {60 / seconds:.0f}x margin)")


if __name__ == "__main__":
    main()
