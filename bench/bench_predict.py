"""Benchmark: `validsplice predict` throughput (variants/s) against `validsplice score` on the same VCF,
same engine settings (IncrementalEngine, batch size, threads, device), so the ratio is the cost of windows,
models and calibration on top of the base model.

Needs trained model folders (model.pt, model.json, calibrator.json), e.g. from the demo run:

    python bench/bench_predict.py --model results/models/paired_cnn_spliceai --model results/models/spliceai_raw \
        [--vcf results/variants/normalized.vcf.gz] [--threads 1] [--batch-size 64] [--limit N]
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

import pysam  # noqa: E402
import torch  # noqa: E402

from validsplice.__main__ import main as cli  # noqa: E402
from validsplice.apply.predict import predict_vcf  # noqa: E402


def limited_vcf(path: str, limit: int, folder: Path) -> str:
    if not limit:
        return path
    out = folder / "input.vcf"
    with pysam.VariantFile(path) as vcf, pysam.VariantFile(str(out), "w", header=vcf.header) as dst:
        for k, rec in enumerate(vcf):
            if k >= limit:
                break
            dst.write(rec)
    return str(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--vcf", default="results/variants/normalized.vcf.gz")
    ap.add_argument("--fasta", default=str(ROOT / "resources/demo/chr2_1-2333275.fa.gz"))
    ap.add_argument("--annotation", default="grch38")
    ap.add_argument("--model", action="append", required=True)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=64)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--limit", type=int, default=0, help="first N records only (0: all)")
    ap.add_argument("--repeats", type=int, default=2, help="alternating runs of each; the best is reported")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        vcf = limited_vcf(args.vcf, args.limit, tmp)
        with pysam.VariantFile(vcf) as f:
            n = sum(1 for _ in f)
        print(f"{n} records from {args.vcf}; threads={args.threads}, batch={args.batch_size}, device={args.device}, "
              f"cores={os.cpu_count()}, load average at start {os.getloadavg()[0]:.2f}")
        # warm-up: load the SpliceAI weights once (both commands share the cached ensemble)
        cli(["score", "-I", vcf, "-O", str(tmp / "warm.vcf"), "-R", args.fasta, "-A", args.annotation,
             "--device", args.device, "--threads", str(args.threads), "--batch-size", str(args.batch_size)])
        # wall and CPU time (all threads of this process): on a shared machine the CPU time is what
        # an idle machine would need; score and predict alternate so both see similar load
        times = {"score": [], "predict": []}
        for _ in range(args.repeats):
            for what in ("score", "predict"):
                w0, c0 = time.perf_counter(), time.process_time()
                if what == "score":
                    cli(["score", "-I", vcf, "-O", str(tmp / "score.vcf"), "-R", args.fasta, "-A", args.annotation,
                         "--device", args.device, "--threads", str(args.threads), "--batch-size",
                         str(args.batch_size)])
                else:
                    counts = predict_vcf(vcf, tmp / "predict.vcf.gz", args.fasta, args.annotation, args.model,
                                         batch_size=args.batch_size, device=args.device, threads=args.threads)
                times[what].append((time.perf_counter() - w0, time.process_time() - c0))
    best = {k: (min(w for w, _ in v), min(c for _, c in v)) for k, v in times.items()}
    for what, (wall, cpu) in best.items():
        print(f"{what:8s} wall {wall:7.1f} s ({n / wall:6.2f} variants/s)   CPU {cpu:7.1f} s ({n / cpu:6.2f} variants/s)")
    print(f"predict: {len(args.model)} model(s), {counts['allele_gene_rows']} allele-gene rows, incl. loading the "
          f"model folders; best of {args.repeats}")
    print(f"predict / score: wall {best['predict'][0] / best['score'][0]:.2f}x, "
          f"CPU {best['predict'][1] / best['score'][1]:.2f}x; load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
