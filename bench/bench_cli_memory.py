"""Peak memory (RSS) of `python -m validsplice score` on 1k and 100k synthetic records.

Each size runs in a fresh child process (`os.wait4` gives that child's own peak RSS), on a VCF
made by `bench/make_synthetic_vcf.py` (seeded). In-gene records are scored by the network and
come in bursts of 30 within 15 kb (one burst is a gene cluster of the engine's maximum span,
25 kb); the rest lie between genes and are written through unchanged. By default the 1k file has
every record in genes (one chunk of 1,000 in-gene records: the densest chunk any file can hold)
and the 100k file 3% (position-sorted, they collect into the chunks that cross genes: up to ~900
in-gene records in one chunk). Streaming keeps memory flat in the number of records: the two
peaks should be about the same, and at most 1.5 GB.

    python bench/bench_cli_memory.py                      # 1,000 and 100,000 records, 2 threads
    python bench/bench_cli_memory.py --sizes 1000 --in-gene 1.0 --threads 1
"""
from __future__ import annotations

import argparse
import os
import platform
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(Path(__file__).resolve().parent))

from make_synthetic_vcf import FASTA, make  # noqa: E402


def run_one(vcf: Path, out: Path, args, scripts: Path | None = None) -> dict:
    """One `score` run in a child process; ``scripts``: another checkout's workflow/scripts (the
    baseline, run without --chunk-size)."""
    env = dict(os.environ, PYTHONPATH=str(scripts or ROOT / "workflow" / "scripts"),
               OMP_NUM_THREADS=str(args.threads))
    cmd = [sys.executable, "-m", "validsplice", "score", "-I", str(vcf), "-O", str(out), "-R", str(FASTA),
           "-A", "grch38", "--device", args.device, "--threads", str(args.threads)]
    if scripts is None:
        cmd += ["--chunk-size", str(args.chunk_size)]
    log = out.with_suffix(".log")
    start = time.time()
    with open(log, "w") as err:
        proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
    wall = time.time() - start
    text = log.read_text()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"score failed:\n{text[-3000:]}")
    done = re.search(r"done: (.*)", text)
    return {"peak_rss_mb": usage.ru_maxrss / 1024, "wall_s": wall, "summary": done.group(1) if done else "?"}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 100_000])
    parser.add_argument("--in-gene", type=float, nargs="+", default=[1.0, 0.03],
                        help="share of records inside genes, one per size or one for all (1.0 0.03)")
    parser.add_argument("--burst", type=int, default=30, help="in-gene records per burst (30; 1: isolated)")
    parser.add_argument("--burst-width", type=int, default=15_000,
                        help="bases a burst spans (15000: with the 10,101-base windows, the engine's 25 kb cluster cap)")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--baseline-scripts", default="",
                        help="also run this checkout's workflow/scripts (e.g. the pre-streaming CLI from "
                             "'git archive e477bc8 workflow/scripts | tar -x -C /tmp/old')")
    parser.add_argument("--workdir", default="", help="keep the VCFs and logs here (default: a temp folder)")
    args = parser.parse_args(argv)
    work = Path(args.workdir or tempfile.mkdtemp(prefix="bench_cli_memory_"))
    work.mkdir(parents=True, exist_ok=True)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs, python {platform.python_version()}; "
          f"threads {args.threads}, chunk size {args.chunk_size}, device {args.device}; in-gene records "
          f"in bursts of {args.burst} within {args.burst_width:,} b; load average {os.getloadavg()[0]:.2f}; "
          f"files in {work}")
    print("| CLI | records | in genes (scored) | peak RSS | wall time | summary |")
    print("|---|---|---|---|---|---|")
    if len(args.in_gene) not in (1, len(args.sizes)):
        parser.error("--in-gene: give one share, or one per --sizes value")
    shares = args.in_gene * len(args.sizes) if len(args.in_gene) == 1 else args.in_gene
    for n, share in zip(args.sizes, shares):
        vcf = work / f"synthetic_{n}_{share:g}.vcf"
        info = make(n, vcf, share, seed=1, burst=args.burst, burst_width=args.burst_width)
        runs = [("streaming", None)]
        if args.baseline_scripts:
            runs.append(("baseline", Path(args.baseline_scripts)))
        for name, scripts in runs:
            res = run_one(vcf, work / f"{vcf.stem}.{name}.out.vcf", args, scripts)
            print(f"| {name} | {n:,} | {info['in_gene']:,} | {res['peak_rss_mb']:.0f} MB | {res['wall_s']:.1f} s | "
                  f"{res['summary']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
