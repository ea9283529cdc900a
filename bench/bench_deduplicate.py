"""`normalize.deduplicate` at export scale: this checkout against an earlier one, in one run.

Builds a normalized-variant table of ``--rows`` rows of which ``--groups`` (chrom, pos, ref, alt)
groups are duplicated 2-4 times, with agreeing and disagreeing classes, ids, genes, HGVS and
locations partly empty (seeded). Times ``deduplicate`` of this checkout and of ``--baseline`` (a
git revision: its ``normalize.py`` is loaded from ``git show``; default the last commit with the
per-group loop), checks that both return the same table, merge records and conflict count, and
prints the ratio.

    python bench/bench_deduplicate.py --rows 50000 --groups 5000
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import time
import types
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

import validsplice.variants.normalize as normalize  # noqa: E402

CLASSES = ["Splice-altering", "Normal", "Low-frequency"]


def make_table(rows: int, groups: int, seed: int = 1) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    copies = rng.integers(2, 5, groups)
    n_single = rows - int(copies.sum())
    if n_single < 0:
        raise SystemExit("--groups too large for --rows")
    pos = np.concatenate([np.repeat(np.arange(groups) * 7 + 1_000, copies),
                          1_000_000 + np.arange(n_single) * 7])
    n = len(pos)

    def maybe_empty(values, share):
        return np.where(rng.random(n) < share, "", values)

    table = pd.DataFrame({
        "chrom": "chr2", "pos": pos, "ref": "A", "alt": rng.choice(list("CGT"), n),
        "label": rng.choice(CLASSES, n, p=[0.45, 0.45, 0.1]),
        "source_row": np.arange(n) + 2,
        "variant_id": [f"v{i % (n - 50)}" for i in range(n)],  # a few reused ids
        "gene": maybe_empty(rng.choice(["SNTG2", "TPO", "MYT1L"], n), 0.3),
        "hgvs": maybe_empty([f"c.{i}A>C" for i in range(n)], 0.4),
        "location": maybe_empty(rng.choice(["Exonic", "Intronic"], n), 0.2),
    })
    # identical alleles within a group (the draw above gave each row its own alt)
    first_alt = table.groupby("pos")["alt"].transform("first")
    table["alt"] = np.where(pos < 1_000_000, first_alt, table["alt"])
    return table.sample(frac=1.0, random_state=seed).reset_index(drop=True)


def load_baseline(revision: str):
    """``normalize`` as of ``revision``, as a module inside the package (its relative imports resolve)."""
    text = subprocess.run(["git", "-C", str(ROOT), "show", f"{revision}:workflow/scripts/validsplice/variants/normalize.py"],
                          check=True, capture_output=True, text=True).stdout
    module = types.ModuleType("validsplice._baseline_normalize")
    module.__package__ = "validsplice"
    exec(compile(text, f"{revision}:normalize.py", "exec"), module.__dict__)
    return module


def timed(fn, table):
    start = time.perf_counter()
    out = fn(table, "export.tsv")
    return time.perf_counter() - start, out


def same(a, b) -> bool:
    (ta, ma, ca), (tb, mb, cb) = a, b
    return (ca == cb and ta.astype(str).equals(tb.astype(str))
            and ma.astype(str).reset_index(drop=True).equals(mb.astype(str).reset_index(drop=True)))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=50_000)
    parser.add_argument("--groups", type=int, default=5_000)
    parser.add_argument("--baseline", default="05668a9", help="git revision with the per-group loop")
    args = parser.parse_args(argv)
    table = make_table(args.rows, args.groups)
    baseline = load_baseline(args.baseline)
    t_new, new = timed(normalize.deduplicate, table)
    t_old, old = timed(baseline.deduplicate, table)
    print(f"{len(table):,} rows, {args.groups:,} duplicate groups ({len(new[1]):,} rows merged, "
          f"{new[2]:,} conflicting)")
    print(f"this checkout: {t_new:.2f} s; baseline {args.baseline}: {t_old:.2f} s; ratio {t_old / t_new:.1f}x; "
          f"identical results: {same(new, old)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
