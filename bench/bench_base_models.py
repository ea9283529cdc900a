"""Benchmark: each base model's ``validsplice score`` against its original tool, in the same run, on the same VCF.

Both commands run as subprocesses (start-up and model loading included for both), one right after the
other so they see similar load; the script prints each one's wall and CPU seconds (user + system of the
process and its threads, from ``wait4``), the ratios original / ours, and whether the score strings are
identical record by record. Under a load above the core count the wall ratio mostly measures the
scheduler; the CPU-time ratio measures the work each tool needed.

One function per base model (``bench_<model>``), registered in ``BENCHES``:

- ``spliceai``: ``spliceai`` (PyPI spliceai 1.3.1, TensorFlow) from ``--spliceai-venv``, against
  ``validsplice score``; ``SpliceAI=`` strings. (bench_scoring.py also times the engine in-process
  against the plain exact path.)
- ``openspliceai``: ``openspliceai variant -f 10000 -t pytorch`` (PyPI openspliceai 0.0.7) from
  ``--openspliceai-venv`` with ``--openspliceai-dir`` (a folder of checkpoints, e.g. the five
  OpenSpliceAI-MANE models; the original loads every ``*.pt`` in it, as we do), against
  ``validsplice score --model openspliceai``; ``OpenSpliceAI=`` strings.

Make the original tools' virtual environments outside the repository (never a project dependency);
see bench/README.md. The FASTA must be a plain (not gzipped) copy for the originals (pyfaidx).

    python bench/bench_base_models.py --models openspliceai --openspliceai-venv /tmp/osai/venv \\
        --openspliceai-dir /tmp/osai/mane --fasta /tmp/osai/chr2_1-2333275.fa [--vcf V] [-D 50] [-M 0]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pysam

ROOT = Path(__file__).resolve().parents[1]
PARITY_VCF = ROOT / "tests" / "data" / "spliceai" / "spliceai_cli_input.vcf"


@dataclass
class Run:
    """One command's cost and the score strings it wrote (one list per record)."""
    wall_s: float
    cpu_s: float
    max_rss_mb: float
    texts: list[list[str]]


def run_command(cmd: list[str], output: Path, key: str, env: dict | None = None) -> Run:
    """Run ``cmd`` (which writes the VCF ``output``) and read the ``key`` INFO strings back."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env={**os.environ, **(env or {})})
    _, status, usage = os.wait4(proc.pid, 0)  # the child's own CPU time and peak RSS
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} ... failed:\n{err[-3000:]}")
    with pysam.VariantFile(str(output)) as vcf:
        texts = [list(r.info[key]) if key in r.info else [] for r in vcf]
    return Run(wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024, texts)


def ours_command(args, vcf: Path, out: Path, *model: str) -> list[str]:
    return [sys.executable, "-m", "validsplice", "score", "-I", str(vcf), "-O", str(out), "-R", args.fasta,
            "-A", args.annotation, "-D", str(args.D), "-M", str(args.M), "--device", "cpu",
            "--threads", str(args.threads), *model]


def ours_env() -> dict:
    return {"PYTHONPATH": os.pathsep.join([str(ROOT / "workflow" / "scripts"), os.environ.get("PYTHONPATH", "")])}


def report(name: str, vcf: Path, ours: Run, original: Run, original_name: str) -> dict:
    identical = sum(a == b for a, b in zip(ours.texts, original.texts))
    entries = sum(len(t) for t in original.texts)
    same = ours.texts == original.texts
    print(f"[{name}] {vcf.name}: {len(original.texts)} records, {entries} score entries")
    print(f"[{name}] {original_name}: wall {original.wall_s:.1f} s, CPU {original.cpu_s:.1f} s, "
          f"peak RSS {original.max_rss_mb:.0f} MB")
    print(f"[{name}] validsplice score: wall {ours.wall_s:.1f} s, CPU {ours.cpu_s:.1f} s, "
          f"peak RSS {ours.max_rss_mb:.0f} MB")
    print(f"[{name}] ratio original/ours: wall {original.wall_s / ours.wall_s:.1f}x, "
          f"CPU {original.cpu_s / ours.cpu_s:.1f}x; strings identical: {same} "
          f"({identical}/{len(original.texts)} records)")
    return {"model": name, "records": len(original.texts), "identical": identical, "same": same,
            "ours_wall": ours.wall_s, "ours_cpu": ours.cpu_s, "orig_wall": original.wall_s, "orig_cpu": original.cpu_s}


def bench_spliceai(args, vcf: Path, tmp: Path) -> dict:
    """``validsplice score`` against ``spliceai`` (TensorFlow) from ``args.spliceai_venv``."""
    if not args.spliceai_venv:
        raise SystemExit("--spliceai-venv is needed for the spliceai bench (a venv with spliceai 1.3.1)")
    ours = run_command(ours_command(args, vcf, tmp / "ours.spliceai.vcf"), tmp / "ours.spliceai.vcf", "SpliceAI",
                       ours_env())
    exe = Path(args.spliceai_venv) / "bin" / "spliceai"
    original = run_command([str(exe), "-I", str(vcf), "-O", str(tmp / "orig.spliceai.vcf"), "-R", args.fasta,
                            "-A", args.annotation, "-D", str(args.D), "-M", str(args.M)],
                           tmp / "orig.spliceai.vcf", "SpliceAI", {"TF_CPP_MIN_LOG_LEVEL": "2"})
    return report("spliceai", vcf, ours, original, "spliceai 1.3.1")


def bench_openspliceai(args, vcf: Path, tmp: Path) -> dict:
    """``validsplice score --model openspliceai`` against ``openspliceai variant -f 10000 -t pytorch``
    (per-variant path, its default ``--batch-size 1``) from ``args.openspliceai_venv``, both on every
    checkpoint in ``args.openspliceai_dir``."""
    if not (args.openspliceai_venv and args.openspliceai_dir):
        raise SystemExit("--openspliceai-venv and --openspliceai-dir are needed for the openspliceai bench")
    ours = run_command(ours_command(args, vcf, tmp / "ours.openspliceai.vcf", "--model", "openspliceai",
                                    "--model-dir", args.openspliceai_dir),
                       tmp / "ours.openspliceai.vcf", "OpenSpliceAI", ours_env())
    exe = Path(args.openspliceai_venv) / "bin" / "openspliceai"
    out = tmp / "orig.openspliceai.vcf"
    original = run_command([str(exe), "variant", "-I", str(vcf), "-O", str(out), "-R", args.fasta,
                            "-A", args.annotation, "-D", str(args.D), "-M", str(args.M), "-m", args.openspliceai_dir,
                            "-f", "10000", "-t", "pytorch"], out, "OpenSpliceAI")
    if args.keep:
        Path(args.keep).mkdir(parents=True, exist_ok=True)
        (Path(args.keep) / f"openspliceai.D{args.D}.M{args.M}.vcf").write_bytes(out.read_bytes())
    return report("openspliceai", vcf, ours, original, "openspliceai variant 0.0.7")


BENCHES = {
    "spliceai": bench_spliceai,
    "openspliceai": bench_openspliceai,
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default="openspliceai", help=f"comma-separated, of {', '.join(BENCHES)}")
    ap.add_argument("--vcf", default=str(PARITY_VCF), help="input VCF (default: the SpliceAI parity VCF)")
    ap.add_argument("--limit", type=int, default=0, help="only the first N records (0: all)")
    ap.add_argument("--fasta", required=True, help="plain FASTA with .fai (the originals use pyfaidx)")
    ap.add_argument("--annotation", default="grch38")
    ap.add_argument("-D", type=int, default=50)
    ap.add_argument("-M", type=int, default=0, choices=[0, 1])
    ap.add_argument("--threads", type=int, default=2, help="threads of validsplice score (the originals: torch/TF default)")
    ap.add_argument("--spliceai-venv", default="")
    ap.add_argument("--openspliceai-venv", default="")
    ap.add_argument("--openspliceai-dir", default="")
    ap.add_argument("--keep", default="", help="copy the original tool's output VCF into this folder")
    args = ap.parse_args()
    models = [m.strip() for m in args.models.split(",") if m.strip()]
    unknown = [m for m in models if m not in BENCHES]
    if unknown:
        raise SystemExit(f"unknown --models {unknown}; use {', '.join(BENCHES)}")
    print(f"machine: {os.cpu_count()} cores, load average at start {os.getloadavg()[0]:.2f}; D={args.D} M={args.M}")
    with tempfile.TemporaryDirectory() as tmp:
        vcf = Path(args.vcf)
        if args.limit:
            vcf = Path(tmp) / "input.vcf"
            with pysam.VariantFile(args.vcf) as src, pysam.VariantFile(str(vcf), "w", header=src.header) as out:
                for _, rec in zip(range(args.limit), src):
                    out.write(rec)
        results = [BENCHES[m](args, vcf, Path(tmp)) for m in models]
    print(f"load average at end {os.getloadavg()[0]:.2f}")
    if not all(r["same"] for r in results):
        raise SystemExit("strings differ from the original's")


if __name__ == "__main__":
    main()
