"""Peak memory (RSS) of `python -m validsplice score` on 1k and 100k synthetic records.

Each size runs in a fresh child process (`os.wait4` gives that child's own peak RSS), on a VCF
made by `bench/make_synthetic_vcf.py` (seeded; 0.3% of the records inside genes and scored by the
network, the rest between genes and written through unchanged). Streaming keeps memory flat: the
two peaks should be about the same, and at most 1.5 GB.

    python bench/bench_cli_memory.py                      # 1,000 and 100,000 records, 2 threads
    python bench/bench_cli_memory.py --sizes 1000 --threads 1
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
    parser.add_argument("--in-gene", type=float, default=0.003)
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
          f"threads {args.threads}, chunk size {args.chunk_size}, device {args.device}; files in {work}")
    print("| CLI | records | in genes (scored) | peak RSS | wall time | summary |")
    print("|---|---|---|---|---|---|")
    for n in args.sizes:
        vcf = work / f"synthetic_{n}.vcf"
        info = make(n, vcf, args.in_gene, seed=1)
        runs = [("streaming", None)]
        if args.baseline_scripts:
            runs.append(("baseline", Path(args.baseline_scripts)))
        for name, scripts in runs:
            res = run_one(vcf, work / f"synthetic_{n}.{name}.out.vcf", args, scripts)
            print(f"| {name} | {n:,} | {info['in_gene']:,} | {res['peak_rss_mb']:.0f} MB | {res['wall_s']:.1f} s | "
                  f"{res['summary']} |", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
