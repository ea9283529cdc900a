"""Benchmark: variants/s of the optimized base-model path vs the plain path on the same VCF.

Plain path = the verbatim computation (one variant at a time, full 'same'-padded passes over the
10,000+2D+1 window, no sharing). Optimized = ``IncrementalEngine`` (cone cropping, shared references,
incremental alternates, batching). Prints both rates, their ratio, and whether the
``SpliceAI=`` strings are identical. ``--original-venv`` also times the original ``spliceai``
command from a separate virtual environment (see bench/README.md for how to make one).

``--set`` picks the variants: ``parity`` (tests/data/spliceai/spliceai_cli_input.vcf, the
default), or ``spread`` / ``clustered`` (made by ``make_speed_sets.py``, seeded: variants over
every gene of the demo fragment, or over 20 kb of one gene); ``--vcf`` gives any other file.

    python bench/bench_scoring.py [--set spread] [--vcf V] [-D 50] [--threads 2] [--limit N]
"""
from __future__ import annotations

import argparse
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

import pysam  # noqa: E402
import torch  # noqa: E402

from validsplice.io.annotation import GeneAnnotation  # noqa: E402
from validsplice.scoring.delta import PlainEngine, Reference, VariantRecord, info_entries, score_records  # noqa: E402
from validsplice.scoring.incremental import IncrementalEngine  # noqa: E402
from validsplice.scoring.weights import load_ensemble  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--set", choices=["parity", "spread", "clustered"], default="parity")
    ap.add_argument("-n", type=int, default=40, help="records of a spread/clustered set (40)")
    ap.add_argument("--vcf", default="", help="score this VCF instead of a --set")
    ap.add_argument("--fasta", default=str(ROOT / "resources/demo/chr2_1-2333275.fa.gz"))
    ap.add_argument("--annotation", default="grch38")
    ap.add_argument("-D", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--batch-size", type=int, default=0, help="alternates per batch (0: the engine's default)")
    ap.add_argument("--workers", type=int, default=0, help="engine worker threads (0: --threads)")
    ap.add_argument("--limit", type=int, default=0, help="score only the first N records (0: all)")
    ap.add_argument("--skip-plain", action="store_true")
    ap.add_argument("--original-venv", default="", help="venv with the original spliceai (tensorflow) installed")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if not args.vcf:
        args.vcf = str(ROOT / "tests/data/spliceai/spliceai_cli_input.vcf")
        if args.set != "parity":
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            from make_speed_sets import make
            args.vcf = str(Path(tempfile.mkdtemp()) / f"{args.set}.vcf")
            make(args.set, args.n, args.vcf)
    ref, ann, nets = Reference(args.fasta), GeneAnnotation.load(args.annotation), load_ensemble()
    raw = list(pysam.VariantFile(args.vcf))
    if args.limit:
        raw = raw[:args.limit]
    records = [VariantRecord(r.chrom, r.pos, r.ref, tuple(r.alts)) for r in raw]
    print(f"{args.vcf}: {len(records)} records, D={args.D}, threads={torch.get_num_threads()}, "
          f"cpu={torch.backends.cpu.get_cpu_capability()}, cores={os.cpu_count()}, "
          f"load average at start {os.getloadavg()[0]:.2f}")

    def run(engine):
        start, cpu_start = time.perf_counter(), cpu_seconds(resource.RUSAGE_SELF)
        slots = score_records(records, ref, ann, engine, args.D)
        seconds = time.perf_counter() - start
        cpu[engine] = cpu_seconds(resource.RUSAGE_SELF) - cpu_start
        n = sum(1 for rec in slots for s in rec if s.status == "scored")
        return [info_entries(rec) for rec in slots], seconds, n

    cpu: dict = {}

    # order: optimized, original (adjacent, so they see similar load), then the slow plain path
    options = {k: v for k, v in (("batch_size", args.batch_size), ("workers", args.workers)) if v}
    engine = IncrementalEngine(nets, ref, **options)
    fast_txt, fast_s, n = run(engine)
    print(f"optimized engine: batch {engine.batch_size}, {engine._workers()} workers, fallbacks {engine.fallbacks}")
    print(f"optimized: {n} scored in {fast_s:.1f} s = {n / fast_s:.3f} variants/s; CPU {cpu[engine]:.1f} s")
    if args.original_venv:
        orig_txt, orig_s, startup_s, orig_cpu = run_original(args, raw)
        print(f"original:  {n} scored in {orig_s:.1f} s (incl. TensorFlow start-up) = {n / orig_s:.3f} variants/s")
        net_s = max(orig_s - startup_s, 1e-9)
        print(f"original start-up + model loading (empty VCF): {startup_s:.1f} s; without it "
              f"{net_s:.1f} s = {n / net_s:.3f} variants/s")
        print(f"speed-up optimized/original: {orig_s / fast_s:.2f}x (excluding its start-up: "
              f"{net_s / fast_s:.2f}x); strings identical to the original's: {orig_txt == fast_txt}")
        # under a load above the core count, wall times mostly measure the scheduler; CPU seconds
        # (user + system, all threads) measure the work each tool needed
        net_cpu = orig_cpu["all"] - orig_cpu["empty"]
        print(f"CPU seconds: original {orig_cpu['all']:.1f} (start-up {orig_cpu['empty']:.1f}), optimized "
              f"{cpu[engine]:.1f}; CPU-time ratio {orig_cpu['all'] / cpu[engine]:.2f}x (excluding its start-up: "
              f"{net_cpu / cpu[engine]:.2f}x)")
    if not args.skip_plain:
        plain_txt, plain_s, _ = run(PlainEngine(nets, ref))
        print(f"plain:     {n} scored in {plain_s:.1f} s = {n / plain_s:.3f} variants/s")
        print(f"speed-up optimized/plain: {plain_s / fast_s:.2f}x; strings identical: {plain_txt == fast_txt}")
        if args.original_venv:
            print(f"plain/original: {orig_s / plain_s:.2f}x; plain strings identical to the original's: "
                  f"{orig_txt == plain_txt}")
    print(f"load average at end {os.getloadavg()[0]:.2f}")


def cpu_seconds(who) -> float:
    usage = resource.getrusage(who)
    return usage.ru_utime + usage.ru_stime


def run_original(args, raw) -> tuple[list[list[str]], float, float, dict]:
    """Time the original ``spliceai`` command on ``raw`` records and on an empty VCF (start-up):
    (SpliceAI= texts, wall seconds, start-up wall seconds, {"empty"/"all": CPU seconds})."""
    exe = Path(args.original_venv) / "bin" / "spliceai"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as tmp:
        times, cpu = {}, {}
        for name, recs in (("empty", []), ("all", raw)):
            vcf_in = Path(tmp) / f"{name}.vcf"
            with pysam.VariantFile(args.vcf) as src, pysam.VariantFile(str(vcf_in), "w", header=src.header) as out:
                for r in recs:
                    out.write(r)
            start = time.perf_counter()
            proc = subprocess.Popen([str(exe), "-I", str(vcf_in), "-O", str(Path(tmp) / f"{name}.out.vcf"), "-R",
                                     args.fasta, "-A", args.annotation, "-D", str(args.D)], env=env,
                                    stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU time
            times[name], cpu[name] = time.perf_counter() - start, usage.ru_utime + usage.ru_stime
            if os.waitstatus_to_exitcode(status) != 0:
                raise SystemExit(f"the original spliceai failed:\n{proc.stderr.read().decode()[-2000:]}")
        texts = [list(r.info["SpliceAI"]) if "SpliceAI" in r.info else []
                 for r in pysam.VariantFile(str(Path(tmp) / "all.out.vcf"))]
    return texts, times["all"], times["empty"], cpu


if __name__ == "__main__":
    main()
