"""Benchmark: each base model's drop-in CLI against its original tool, in the same run, on the same VCF,
with identical strings required. Prints wall times, the ratio and peak memory.

OpenSpliceAI (``bench_openspliceai``): the original ``openspliceai variant -f 10000 -t pytorch`` (PyPI
openspliceai 0.0.7 in a scratch environment, its default per-variant path; tests/data/openspliceai/README.md
says how to make one) against ``validsplice score --model openspliceai``, both on every checkpoint in
``--model-dir`` (e.g. the five OpenSpliceAI-MANE models), the same FASTA (a plain copy: the original reads it
with pyfaidx) and gene table; ``OpenSpliceAI=`` strings compared record by record. The original runs first,
ours right after, so both see similar load; under a load above the core count the CPU-time ratio is the
measure of the work each needed.

Pangolin (``bench_pangolin``): the original ``pangolin`` (tkzeng/Pangolin in a scratch environment; driver
tests/data/pangolin/run_original.py) against ``validsplice score --model pangolin``, ``Pangolin=`` strings compared.

SpliceAI (``bench_spliceai``): the original ``spliceai`` (PyPI spliceai 1.3.1, TensorFlow) against
``validsplice score``; bench_scoring.py also times the engine in-process against the plain exact path.

    python bench/bench_base_models.py openspliceai --original /tmp/osai/venv/bin/openspliceai \\
        --model-dir /tmp/osai/mane --fasta /tmp/osai/chr2_1-2333275.fa [--vcf V] [--limit N] [-D 50] [-M 0]
    python bench/bench_base_models.py spliceai --original /tmp/sai/bin/spliceai --fasta chr2_1-2333275.fa
"""
from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PARITY_VCF = ROOT / "tests" / "data" / "spliceai" / "spliceai_cli_input.vcf"


def run_measured(cmd: list[str], env: dict, stdout=subprocess.DEVNULL) -> tuple[float, float, float]:
    """(wall seconds, peak RSS in MB, CPU seconds) of one child process. CPU time is reported too: on
    a shared machine the wall time of either tool depends on the other jobs running meanwhile."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, env=env, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace")
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"failed ({proc.returncode}): {' '.join(cmd)}\n{err[-3000:]}")
    return wall, usage.ru_maxrss / 1024, usage.ru_utime + usage.ru_stime


def subset_vcf(vcf: Path, out: Path, limit: int, repeat: int = 1) -> int:
    lines = vcf.read_text().splitlines(keepends=True)
    header = [x for x in lines if x.startswith("#")]
    body = [x for x in lines if not x.startswith("#")][:limit or None]
    out.write_text("".join(header + body * repeat))
    return len(body) * repeat


def info_values(path: Path, key: str) -> list[tuple[str, str, str, str]]:
    """(pos, ref, alt, value of INFO ``key``) per record, from the VCF text."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        value = next((x[len(key) + 1:] for x in f[7].split(";") if x.startswith(key + "=")), "")
        out.append((f[1], f[3], f[4], value))
    return out


def compare_tools(name: str, key: str, original_cmd: list[str], ours_cmd: list[str], vcf: Path, limit: int,
                  threads: int, keep: str = "") -> dict:
    """Run the original, then ours, on the same records; print and return times, ratios and identity."""
    env = dict(os.environ, PYTHONPATH=str(ROOT / "workflow" / "scripts"), TF_CPP_MIN_LOG_LEVEL="2")
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n = subset_vcf(vcf, tmp / "in.vcf", limit)
        io = ["-I", str(tmp / "in.vcf"), "-O"]
        t_orig, rss_orig, cpu_orig = run_measured(original_cmd + io + [str(tmp / "orig.vcf")], env)
        t_ours, rss_ours, cpu_ours = run_measured(ours_cmd + io + [str(tmp / "ours.vcf")], env)
        want, got = info_values(tmp / "orig.vcf", key), info_values(tmp / "ours.vcf", key)
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            (Path(keep) / f"{name}.original.vcf").write_bytes((tmp / "orig.vcf").read_bytes())
    if [w[:3] for w in want] != [g[:3] for g in got]:
        raise SystemExit("the two outputs hold different records")
    identical = sum(w == g for w, g in zip(want, got))
    scored = sum(1 for w in want if w[3])
    print(f"{name}: {n} records ({scored} scored by the original), {threads} threads for ours, "
          f"{os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
    print(f"  identical {key}= strings: {identical}/{n}")
    print(f"  original: {t_orig:.1f} s wall, {cpu_orig:.1f} s CPU, peak RSS {rss_orig:.0f} MB")
    print(f"  validsplice score: {t_ours:.1f} s wall, {cpu_ours:.1f} s CPU, peak RSS {rss_ours:.0f} MB")
    print(f"  ratio (original / ours): {t_orig / t_ours:.1f}x wall, {cpu_orig / cpu_ours:.1f}x CPU")
    if identical != n:
        raise SystemExit(f"{key}= strings differ")
    return dict(records=n, scored=scored, identical=identical, original_s=t_orig, ours_s=t_ours,
                ratio=t_orig / t_ours, original_cpu_s=cpu_orig, ours_cpu_s=cpu_ours, cpu_ratio=cpu_orig / cpu_ours,
                original_rss_mb=rss_orig, ours_rss_mb=rss_ours)


def bench_openspliceai(original: str, model_dir: str, fasta: str, vcf: Path = PARITY_VCF, limit: int = 0,
                       distance: int = 50, mask: int = 0, threads: int = 2, annotation: str = "grch38",
                       keep: str = "") -> dict:
    """``openspliceai variant`` (``original``: its executable) against ``score --model openspliceai``."""
    common = ["-R", fasta, "-A", annotation, "-D", str(distance), "-M", str(mask)]
    return compare_tools(
        "openspliceai", "OpenSpliceAI",
        [original, "variant", *common, "-m", model_dir, "-f", "10000", "-t", "pytorch"],
        [sys.executable, "-m", "validsplice", "score", *common, "--model", "openspliceai", "--model-dir", model_dir,
         "--device", "cpu", "--threads", str(threads)],
        vcf, limit, threads, keep)


def bench_spliceai(original: str, fasta: str, vcf: Path = PARITY_VCF, limit: int = 0, distance: int = 50,
                   mask: int = 0, threads: int = 2, annotation: str = "grch38", keep: str = "") -> dict:
    """``spliceai`` (``original``: its executable, PyPI spliceai 1.3.1) against ``score``."""
    common = ["-R", fasta, "-A", annotation, "-D", str(distance), "-M", str(mask)]
    return compare_tools("spliceai", "SpliceAI", [original, *common],
                         [sys.executable, "-m", "validsplice", "score", *common, "--device", "cpu",
                          "--threads", str(threads)], vcf, limit, threads, keep)


def pangolin_values(path: Path) -> list[tuple[str, str, str, str]]:
    """(pos, ref, alt, Pangolin value) per record, from the VCF text."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        value = next((x[len("Pangolin="):] for x in f[7].split(";") if x.startswith("Pangolin=")), "")
        out.append((f[1], f[3], f[4], value))
    return out


def bench_pangolin(pangolin: str, model_dir: str, db: str, fasta: str, vcf: Path = PARITY_VCF, limit: int = 0,
                   distance: int = 50, threads: int = 2, gene_table: str = "grch38", repeat: int = 4,
                   chunk_size: int = 10) -> dict:
    """Time the original ``pangolin`` and ours on the same records; identical strings required."""
    import pysam

    env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
               PYTHONPATH=str(ROOT / "workflow" / "scripts"))
    if not Path(fasta + ".fai").exists():
        pysam.faidx(fasta)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        n = subset_vcf(vcf, tmp / "in.vcf", limit)  # the original wants a name ending in .vcf
        t_orig, rss_orig, cpu_orig = run_measured(shlex.split(pangolin) + [str(tmp / "in.vcf"), fasta, db, str(tmp / "orig"),
                                         "-d", str(distance)], env)
        ours_cmd = [sys.executable, "-m", "validsplice", "score", "--model", "pangolin", "--model-dir", model_dir,
                    "-R", fasta, "-A", gene_table, "-d", str(distance), "--threads", str(threads),
                    "--device", "cpu", "--case-sensitive-ref"]
        t_ours, rss_ours, cpu_ours = run_measured(ours_cmd + ["-I", str(tmp / "in.vcf"), "-O", str(tmp / "ours.vcf")], env)
        want, got = pangolin_values(tmp / "orig.vcf"), pangolin_values(tmp / "ours.vcf")
        if [w[:3] for w in want] != [g[:3] for g in got]:
            raise SystemExit("the two outputs hold different records")
        identical = sum(w == g for w, g in zip(want, got))
        scored = sum(1 for w in want if w[3])
        # memory: the same records once and ``repeat`` times, streamed ``chunk_size`` at a time
        rss = []
        for times in (1, repeat):
            m = subset_vcf(vcf, tmp / f"mem{times}.vcf", min(limit or 10**9, 3 * chunk_size), times)
            _, peak, _ = run_measured(ours_cmd + ["--chunk-size", str(chunk_size), "-I", str(tmp / f"mem{times}.vcf"),
                                               "-O", str(tmp / f"mem{times}.out.vcf")], env)
            rss.append((m, peak))
    result = dict(records=n, scored=scored, identical=identical, original_s=t_orig, ours_s=t_ours,
                  ratio=t_orig / t_ours, original_cpu_s=cpu_orig, ours_cpu_s=cpu_ours,
                  cpu_ratio=cpu_orig / cpu_ours, original_rss_mb=rss_orig, ours_rss_mb=rss_ours, ours_rss_by_records=rss)
    print(f"pangolin: {n} records ({scored} scored by the original), -d {distance}, {threads} threads")
    print(f"  identical Pangolin= strings: {identical}/{n}")
    print(f"  original pangolin: {t_orig:.1f} s wall, {cpu_orig:.1f} s CPU, peak RSS {rss_orig:.0f} MB")
    print(f"  validsplice score --model pangolin: {t_ours:.1f} s wall, {cpu_ours:.1f} s CPU, peak RSS {rss_ours:.0f} MB")
    print(f"  ratio (original / ours): {t_orig / t_ours:.1f}x wall, {cpu_orig / cpu_ours:.1f}x CPU")
    print("  ours, peak RSS by records streamed (--chunk-size %d): %s" % (
        chunk_size, ", ".join(f"{m} records {p:.0f} MB" for m, p in rss)))
    if identical != n:
        raise SystemExit("Pangolin= strings differ")
    return result


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="model", required=True)
    for model in ("openspliceai", "spliceai"):
        p = sub.add_parser(model, help=f"original {model} vs score" + (" --model openspliceai" if model == "openspliceai" else ""))
        p.add_argument("--original", required=True, help=f"the original's {model} executable (scratch environment)")
        if model == "openspliceai":
            p.add_argument("--model-dir", required=True, help="a checkpoint folder (the five OpenSpliceAI-MANE models)")
        p.add_argument("--fasta", required=True, help="plain FASTA with .fai (the originals read it with pyfaidx)")
        p.add_argument("--annotation", default="grch38")
        p.add_argument("--vcf", type=Path, default=PARITY_VCF)
        p.add_argument("--limit", type=int, default=0, help="first N records only (0: all)")
        p.add_argument("-D", type=int, default=50)
        p.add_argument("-M", type=int, default=0, choices=[0, 1])
        p.add_argument("--threads", type=int, default=2)
        p.add_argument("--keep", default="", help="copy the original's output VCF into this folder")
    p = sub.add_parser("pangolin", help="original pangolin vs score --model pangolin")
    p.add_argument("--pangolin", required=True,
                   help="the original's pangolin command (scratch environment), e.g. '/tmp/pang/bin/python "
                        "tests/data/pangolin/run_original.py --command' with PyVCF3")
    p.add_argument("--model-dir", required=True, help="Pangolin's pangolin/models folder (all twelve files)")
    p.add_argument("--db", required=True, help="the original's gffutils annotation db")
    p.add_argument("--fasta", required=True, help="reference FASTA (both tools)")
    p.add_argument("--gene-table", default="grch38", help="ours: the gene table the db was built from")
    p.add_argument("--vcf", type=Path, default=PARITY_VCF)
    p.add_argument("--limit", type=int, default=0, help="first N records only (0: all)")
    p.add_argument("-d", type=int, default=50)
    p.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    if args.model == "pangolin":
        bench_pangolin(args.pangolin, args.model_dir, args.db, args.fasta, args.vcf, args.limit, args.d,
                       args.threads, args.gene_table)
    elif args.model == "openspliceai":
        bench_openspliceai(args.original, args.model_dir, args.fasta, args.vcf, args.limit, args.D, args.M,
                           args.threads, args.annotation, args.keep)
    elif args.model == "spliceai":
        bench_spliceai(args.original, args.fasta, args.vcf, args.limit, args.D, args.M, args.threads,
                       args.annotation, args.keep)


if __name__ == "__main__":
    main()
