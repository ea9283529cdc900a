"""Command line: ``python -m validsplice score -I in.vcf -O out.vcf -R ref.fa -A grch38 [-D 50] [-M 0]``
(a drop-in for the original ``spliceai`` command, same output),
``python -m validsplice predict -I in.vcf -O out.vcf.gz -R ref.fa -A grch38 --model results/models/<experiment>``
(P(splice-altering) from trained experiments, INFO ``VALIDSPLICE=``), and
``python -m validsplice annotation -i in.gtf.gz -o genes.txt`` (GTF/GFF3 → gene table for ``-A``)."""
from __future__ import annotations

import argparse
import logging
import sys

from .common.errors import UserError


def add_predict_arguments(parser: argparse.ArgumentParser) -> None:
    from .scoring.cli import positive_int

    parser.add_argument("-I", metavar="input", required=True, help="input VCF: plain, gzip or bgzip, or '-' (stdin)")
    parser.add_argument("-O", metavar="output", default="-", help="output VCF; .gz writes bgzipped (default: stdout)")
    parser.add_argument("-R", metavar="reference", required=True, help="reference FASTA (indexed)")
    parser.add_argument("-A", metavar="annotation", required=True,
                        help='"grch37", "grch38" or a gene table file (as for score)')
    parser.add_argument("--model", action="append", required=True, metavar="FOLDER",
                        help="a trained experiment's folder (results/models/<experiment>); repeat for several")
    parser.add_argument("--tsv", metavar="PATH", help="also write one row per allele and gene as a TSV")
    parser.add_argument("--openspliceai-dir", default="",
                        help="OpenSpliceAI checkpoints, when the models used them (as primary or additional base model)")
    parser.add_argument("--pangolin-dir", default="",
                        help="Pangolin's weights folder (final.*.*.3.v2), when a model reads Pangolin's scores")
    parser.add_argument("--batch-size", type=positive_int, default=64, help="variants per forward pass")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")


def run_predict(args: argparse.Namespace) -> int:
    from .apply.predict import predict_vcf

    predict_vcf(args.I, args.O, args.R, args.A, args.model, tsv_path=args.tsv, batch_size=args.batch_size,
                device=args.device, threads=args.threads, openspliceai_dir=args.openspliceai_dir,
                pangolin_dir=args.pangolin_dir)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m validsplice")
    sub = parser.add_subparsers(dest="command", required=True)
    from .scoring.cli import add_score_arguments, run_score

    add_score_arguments(sub.add_parser("score", help="SpliceAI delta scores for a VCF (drop-in for 'spliceai')"))
    add_predict_arguments(sub.add_parser(
        "predict", help="P(splice-altering) per allele and gene from trained experiments (INFO VALIDSPLICE=)"))
    from .io.annotation_convert import add_annotation_arguments, run_annotation

    add_annotation_arguments(sub.add_parser(
        "annotation", help="Convert a GTF/GFF3 (GENCODE, Ensembl, RefSeq, MANE) into a gene table for -A"))
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr)
    try:
        if args.command == "score":
            return run_score(args)
        if args.command == "predict":
            return run_predict(args)
        if args.command == "annotation":
            return run_annotation(args)
    except UserError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
