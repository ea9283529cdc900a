"""Drop-in replacement for the ``spliceai`` command: ``python -m validsplice score``.

Same options (-I -O -R -A -D -M), same header line and ``SpliceAI=`` entries, same skip rules
and warnings; plus ``--batch-size``, ``--device`` and ``--threads``. Uses the fast engine.
"""
from __future__ import annotations

import argparse
import logging
import time

import pysam
import torch

from ..annotation import GeneAnnotation
from ..rule_io import UserError
from .scoring import Reference, VariantRecord, info_entries, score_records

log = logging.getLogger(__name__)

HEADER_LINE = ('##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3.1 variant '
               'annotation. These include delta scores (DS) and delta positions (DP) for '
               'acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). '
               'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">')


def resolve_device(device: str) -> str:
    """'auto' -> cuda when available else cpu (with a warning); 'cuda' without a GPU is an error."""
    if device == "auto":
        if torch.cuda.is_available():
            return "cuda"
        log.warning("no CUDA device available; running on CPU")
        return "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        raise UserError(f"--device {device} was requested but no CUDA device is available "
                        "(torch.cuda.is_available() is False). Use --device cpu or auto.")
    if device not in ("cpu",) and not device.startswith("cuda"):
        raise UserError(f"Unknown device {device!r}; use auto, cpu or cuda.")
    return device


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-I", metavar="input", required=True, help="input VCF")
    parser.add_argument("-O", metavar="output", default="-", help="output VCF (default: stdout)")
    parser.add_argument("-R", metavar="reference", required=True, help="reference FASTA (indexed)")
    parser.add_argument("-A", metavar="annotation", required=True,
                        help='"grch37", "grch38" (tables of PyPI spliceai) or a gene table file')
    parser.add_argument("-D", metavar="distance", default=50, type=int, choices=range(0, 5000),
                        help="maximum distance between the variant and gained/lost splice site (50)")
    parser.add_argument("-M", metavar="mask", default=0, type=int, choices=[0, 1],
                        help="mask annotated gains and unannotated losses (0)")
    parser.add_argument("--batch-size", type=int, default=64, help="variants per forward pass")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")


def run_score(args: argparse.Namespace) -> int:
    from .fast import FastEngine
    from .weights import load_ensemble

    if args.threads:
        torch.set_num_threads(args.threads)
    device = resolve_device(args.device)
    annotation = GeneAnnotation.load(args.A)
    reference = Reference(args.R)
    try:
        vcf = pysam.VariantFile(args.I)
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read VCF {args.I}: {exc}") from None
    records = []
    for rec in vcf:
        alts = tuple(rec.alts) if rec.alts else ()
        records.append(VariantRecord(rec.chrom, rec.pos, rec.ref, alts, label=str(rec).rstrip("\n")))
    vcf.close()
    nets = load_ensemble("spliceai", "", device)
    engine = FastEngine(nets, reference, device=device, batch_size=args.batch_size)
    start = time.time()
    slots = score_records(records, reference, annotation, engine, args.D, bool(args.M))
    log.info("scored %d records in %.1f s", len(records), time.time() - start)
    if engine.fallbacks or engine.errors:
        log.warning("%d variant(s) scored by the plain exact path after fast-engine errors, %d unscorable "
                    "(no SpliceAI= entry); see the warnings above", engine.fallbacks, engine.errors)
    # second pass over the input streams records to the output as the original does
    vcf = pysam.VariantFile(args.I) if args.I != "-" else None
    if vcf is None:
        raise UserError("reading the VCF from stdin is not supported; pass -I FILE")
    header = vcf.header
    header.add_line(HEADER_LINE)
    with pysam.VariantFile(args.O, mode="w", header=header) as out:
        for rec, rec_slots in zip(vcf, slots):
            entries = info_entries(rec_slots)
            if entries:
                rec.info["SpliceAI"] = entries
            out.write(rec)
    vcf.close()
    return 0
