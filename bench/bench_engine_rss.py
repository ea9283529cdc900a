"""RSS of the fast engine over thousands of in-gene records: a plateau or a leak?

Scores records that all lie inside genes (``make_synthetic_vcf.py --in-gene 1``, seeded) in
chunks, as ``validsplice score`` does, and prints the process's current RSS (``VmRSS``) and peak
RSS (``ru_maxrss``) after every chunk. A leak shows as current RSS climbing chunk after chunk; a
working set as a peak reached early and held. ``--models 1`` runs one SpliceAI model instead of
five: 5x faster, and the same working set, because the engine's jobs are (model, cluster) pairs
and ``workers`` of them run at a time whatever the number of models.

    python bench/bench_engine_rss.py -n 2000 --chunk-size 250 --models 1
"""
from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pysam  # noqa: E402
import torch  # noqa: E402
from make_synthetic_vcf import FASTA, make  # noqa: E402

from validsplice.io.annotation import GeneAnnotation  # noqa: E402
from validsplice.scoring.delta import Reference, VariantRecord, score_records  # noqa: E402
from validsplice.scoring.incremental import IncrementalEngine  # noqa: E402
from validsplice.scoring.weights import load_ensemble  # noqa: E402


def rss_mb() -> tuple[float, float]:
    """(current, peak) RSS of this process in MB."""
    with open("/proc/self/status") as f:
        current = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    return current / 1024, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-n", type=int, default=2000, help="in-gene records (2000)")
    ap.add_argument("--chunk-size", type=int, default=250)
    ap.add_argument("--models", type=int, default=5, help="SpliceAI models to run (5)")
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=0, help="0: the engine's default")
    ap.add_argument("--max-cluster-span", type=int, default=0, help="0: the engine's default")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        vcf = Path(tmp) / "in_gene.vcf"
        make(args.n, vcf, in_gene=1.0, seed=1)
        records = [VariantRecord(r.chrom, r.pos, r.ref, tuple(r.alts)) for r in pysam.VariantFile(str(vcf))]
    reference, annotation = Reference(str(FASTA)), GeneAnnotation.load("grch38")
    nets = load_ensemble()[:args.models]
    options = {k: v for k, v in (("batch_size", args.batch_size), ("max_cluster_span", args.max_cluster_span)) if v}
    engine = IncrementalEngine(nets, reference, **options)
    print(f"{len(records)} in-gene records, {args.models} model(s), {args.threads} threads, batch "
          f"{engine.batch_size}, max cluster span {engine.max_cluster_span}; after loading: "
          f"RSS {rss_mb()[0]:.0f} MB")
    print("| records scored | RSS now MB | peak RSS MB | s |")
    print("|---|---|---|---|")
    start, scored = time.time(), 0
    for lo in range(0, len(records), args.chunk_size):
        slots = score_records(records[lo:lo + args.chunk_size], reference, annotation, engine)
        scored += sum(1 for rec in slots for s in rec if s.status == "scored")
        now, peak = rss_mb()
        print(f"| {scored} | {now:.0f} | {peak:.0f} | {time.time() - start:.0f} |", flush=True)


if __name__ == "__main__":
    main()
