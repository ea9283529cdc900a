"""Time ``validsplice annotation`` on a synthetic GENCODE-sized GTF.

The file is the real GENCODE v29 excerpt of the tests (216 lines, 5 genes, 18 transcripts)
copied over and over, each copy moved to a new position and with its gene/transcript IDs and
gene names suffixed, until it has ``--lines`` lines (GENCODE v44's full GTF has about 3.4
million lines, 1.5 GB). Prints lines, size, wall and CPU seconds, peak RSS and the load average for the default and the
``--all-genes --all-transcripts`` conversion.

    PYTHONPATH=workflow/scripts python bench/bench_annotation_convert.py --lines 3000000 [--gzip]
"""
from __future__ import annotations

import argparse
import gzip
import os
import re
import resource
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

from validsplice.io.annotation_convert import convert  # noqa: E402

TEMPLATE = ROOT / "tests" / "data" / "annotation" / "gencode_v29_chr1_excerpt.gtf"
ID_RE = re.compile(r'((?:gene_id|transcript_id|gene_name) "[^"]*)"')


def make_gtf(path: Path, n_lines: int) -> int:
    rows = [line.rstrip("\n").split("\t") for line in TEMPLATE.read_text().splitlines() if not line.startswith("#")]
    written = 0
    with open(path, "w") as out:
        out.write("##description: synthetic, copies of a GENCODE v29 excerpt\n")
        copy = 0
        while written < n_lines:
            chrom = f"chr{copy % 22 + 1}"
            shift = (copy // 22) * 1_200_000
            suffix = f"_{copy}"
            block = []
            for r in rows:
                attrs = ID_RE.sub(lambda m: m.group(1) + suffix + '"', r[8])
                block.append("\t".join([chrom, r[1], r[2], str(int(r[3]) + shift), str(int(r[4]) + shift),
                                        r[5], r[6], r[7], attrs]))
            out.write("\n".join(block) + "\n")
            written += len(block)
            copy += 1
    return written


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=3_000_000)
    parser.add_argument("--gzip", action="store_true", help="also time the gzipped file")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "synthetic.gtf"
        t0 = time.perf_counter()
        n = make_gtf(path, args.lines)
        print(f"made {n:,} lines, {path.stat().st_size / 1e9:.2f} GB in {time.perf_counter() - t0:.0f} s")
        inputs = [path]
        if args.gzip:
            packed = path.with_suffix(".gtf.gz")
            with open(path, "rb") as src, gzip.open(packed, "wb", compresslevel=1) as dst:
                shutil.copyfileobj(src, dst, 1 << 20)
            inputs.append(packed)
        for source in inputs:
            for options in ({}, {"all_genes": True, "all_transcripts": True}):
                t0, c0 = time.perf_counter(), time.process_time()
                table, summary = convert(source, **options)
                seconds, cpu = time.perf_counter() - t0, time.process_time() - c0
                rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e6
                print(f"{source.name} {options or 'default'}: {seconds:.1f} s wall, {cpu:.1f} s CPU, "
                      f"{len(table):,} rows, peak RSS so far {rss:.2f} GB, load {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
