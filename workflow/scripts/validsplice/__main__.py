"""Command line: ``python -m validsplice score -I in.vcf -O out.vcf -R ref.fa -A grch38 [-D 50] [-M 0]``
(a drop-in for the original ``spliceai`` command, same output), and
``python -m validsplice annotation -i in.gtf.gz -o genes.txt`` (GTF/GFF3 → gene table for ``-A``)."""
from __future__ import annotations

import argparse
import logging
import sys

from .rule_io import UserError


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validsplice")
    sub = parser.add_subparsers(dest="command", required=True)
    from .spliceai.cli import add_score_arguments, run_score

    add_score_arguments(sub.add_parser("score", help="SpliceAI delta scores for a VCF (drop-in for 'spliceai')"))
    from .annotation_convert import add_annotation_arguments, run_annotation

    add_annotation_arguments(sub.add_parser(
        "annotation", help="Convert a GTF/GFF3 (GENCODE, Ensembl, RefSeq, MANE) into a gene table for -A"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "score":
            return run_score(args)
        if args.command == "annotation":
            return run_annotation(args)
    except UserError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
