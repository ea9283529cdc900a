"""Full differential sweep: fast engine (share + incremental) vs the plain exact path.

Every deletion REF length from 2 to 2D+2 (every 10th beyond 120, plus the D/2D edges), insertions
of 1..10,000 bases, SNVs, MNVs, both strands, inside genes, near transcript ends and near the
contig end, D 0, 50 and 500, masking 0 and 1 (``validsplice.scoring.differential``). Prints the
number of variants compared, the mismatches, the largest differences and the machine. The CI
sample of the same strata is tests/test_spliceai_differential.py.

    python bench/bench_differential.py [--models 1] [-D 0 50 500] [--seed 9]
"""
from __future__ import annotations

import argparse
import logging
import os
import platform
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

import torch  # noqa: E402

from validsplice.io.annotation import GeneAnnotation  # noqa: E402
from validsplice.scoring.delta import Reference  # noqa: E402
from validsplice.scoring.differential import run_plan  # noqa: E402
from validsplice.scoring.weights import load_ensemble  # noqa: E402


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fasta", default=str(ROOT / "resources/demo/chr2_1-2333275.fa.gz"))
    ap.add_argument("-D", type=int, nargs="+", default=[0, 50, 500])
    ap.add_argument("--models", type=int, default=1, help="SpliceAI models in the ensemble (1-5)")
    ap.add_argument("--seed", type=int, default=9)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--sample", action="store_true", help="the CI sample instead of the full sweep")
    ap.add_argument("--part", default="0/1", help="i/n: only every n-th variant from the i-th (parallel runs)")
    ap.add_argument("--quiet", action="store_true", help="hide the scorer's per-record skip warnings")
    args = ap.parse_args()
    if args.quiet:
        logging.getLogger("validsplice.scoring.delta").setLevel(logging.ERROR)
    part = tuple(int(x) for x in args.part.split("/"))
    torch.set_num_threads(args.threads)
    print(f"machine: {platform.machine()} {os.cpu_count()} cores, cpu={torch.backends.cpu.get_cpu_capability()}, "
          f"torch {torch.__version__}, threads {args.threads}, load {os.getloadavg()[0]:.2f}; "
          f"{args.models} model(s), seed {args.seed}, D {args.D}, {'sample' if args.sample else 'full sweep'}, "
          f"part {args.part}")
    start = time.perf_counter()

    def progress(distance, rep):
        print(f"  D={distance}: {rep.cases} variants, {rep.tasks} scored and compared, "
              f"{len(rep.mismatches)} mismatches, max |prob diff| {rep.max_prob_diff:.2e}, "
              f"max |DS diff| {rep.max_ds_diff:.2e}, fallbacks {rep.fallbacks}, skipped {dict(rep.skipped)} "
              f"({time.perf_counter() - start:.0f} s)", flush=True)

    rep = run_plan(args.seed, args.D, Reference(args.fasta), GeneAnnotation.load("grch38"),
                   load_ensemble()[:args.models], full=not args.sample, progress=progress, part=part)
    shapes = Counter((shape, strand) for (_, shape, strand, _), n in rep.covered.items() for _ in range(n))
    places = Counter(place for (_, _, _, place), n in rep.covered.items() for _ in range(n))
    print(f"total: {rep.cases} variants, {rep.tasks} scored and compared (x2 masks), "
          f"{len(rep.mismatches)} mismatches, fallbacks {rep.fallbacks}, max |prob diff| {rep.max_prob_diff:.2e}, "
          f"max |DS diff| {rep.max_ds_diff:.2e}, DP ties within tolerance {rep.dp_ties}, "
          f"{time.perf_counter() - start:.0f} s, load at end {os.getloadavg()[0]:.2f}")
    print(f"scored by shape/strand: {dict(sorted(shapes.items()))}")
    print(f"scored by place: {dict(sorted(places.items()))}")
    print(f"skipped: {dict(rep.skipped)}")
    for m in rep.mismatches[:50]:
        print("MISMATCH", m)
    return 1 if rep.mismatches or rep.fallbacks else 0


if __name__ == "__main__":
    sys.exit(main())
