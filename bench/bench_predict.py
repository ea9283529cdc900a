"""Benchmark: `validsplice predict` throughput (variants/s) against `validsplice score` on the same VCF,
same engine settings (FastEngine, batch size, threads, device), so the ratio is the cost of windows,
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
from validsplice.predict_vcf import predict_vcf  # noqa: E402


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
        t0 = time.perf_counter()
        cli(["score", "-I", vcf, "-O", str(tmp / "score.vcf"), "-R", args.fasta, "-A", args.annotation,
             "--device", args.device, "--threads", str(args.threads), "--batch-size", str(args.batch_size)])
        score_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        counts = predict_vcf(vcf, tmp / "predict.vcf.gz", args.fasta, args.annotation, args.model,
                             batch_size=args.batch_size, device=args.device, threads=args.threads)
        predict_s = time.perf_counter() - t0
    print(f"score:   {score_s:7.1f} s  {n / score_s:6.2f} variants/s")
    print(f"predict: {predict_s:7.1f} s  {n / predict_s:6.2f} variants/s  ({len(args.model)} model(s), "
          f"{counts['allele_gene_rows']} allele-gene rows; incl. loading the model folders)")
    print(f"predict / score time: {predict_s / score_s:.2f}x; load average at end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
