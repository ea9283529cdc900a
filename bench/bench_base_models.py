"""Benchmark: each base model's drop-in CLI against its original tool, in the same run, on the same VCF,
with identical strings required. Prints wall times, the ratio and peak memory.

Pangolin (``bench_pangolin``): the original ``pangolin`` command (tkzeng/Pangolin, in a scratch
environment: tests/data/pangolin/README.md says how to make one and its annotation db) against
``validsplice score --model pangolin`` with the same weights folder, FASTA and annotation, both on
``--threads`` CPU threads. Ours runs with ``--case-sensitive-ref`` so that it is the exact drop-in on
any FASTA. Peak memory: ours on the VCF and on the VCF repeated ``--repeat`` times with a small
``--chunk-size``, to show that it does not grow with the number of records.

    python bench/bench_base_models.py pangolin \\
        --pangolin "/tmp/pang/bin/python tests/data/pangolin/run_original.py --command" \\
        --model-dir PANGOLIN/pangolin/models --db grch38_chr2_fragment.db --fasta chr2_upper.fa \\
        [--vcf V] [--limit N] [-d 50] [--threads 2]
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


def subset_vcf(vcf: Path, out: Path, limit: int, repeat: int = 1) -> int:
    lines = vcf.read_text().splitlines(keepends=True)
    header = [x for x in lines if x.startswith("#")]
    body = [x for x in lines if not x.startswith("#")][:limit or None]
    out.write_text("".join(header + body * repeat))
    return len(body) * repeat


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


if __name__ == "__main__":
    main()
