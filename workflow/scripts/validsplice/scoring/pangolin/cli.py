"""``validsplice score --model pangolin --model-dir DIR``: a drop-in for the original ``pangolin`` command.

Mapping of the original's arguments (``pangolin VARIANTS FASTA DB PREFIX [-d] [-m] [-s]``):
- VARIANTS -> ``-I`` (VCF, BCF, gzip or bgzip, or standard input; the original's CSV input is not
  taken), PREFIX -> ``-O`` (a file, or standard output; the original writes PREFIX.vcf);
- FASTA -> ``-R`` (indexed: ``samtools faidx``);
- DB (a gffutils database of a GTF) -> ``-A``: a gene table in SpliceAI's format, or ``grch37`` /
  ``grch38``; convert a GTF with ``validsplice annotation`` (docs/pangolin.md says how the two
  annotations correspond);
- ``-d`` distance (50), ``-m True|False`` mask (True; ``-M 1|0`` works too), ``-s`` score cutoff;
  ``--score_exons`` and ``-c`` (CSV columns) are not offered.
Pangolin weights: ``--model-dir``, the folder ``pangolin/models`` of tkzeng/Pangolin (GPL-3.0).

Streaming as ``score`` does for SpliceAI: ``--chunk-size`` records at a time, written in input order
and flushed per chunk, so memory stays flat. Records the original skips keep no ``Pangolin=`` key and
log the original's warning ``[Line N] WARNING, skipping variant: ...`` (standard error).
"""
from __future__ import annotations

import argparse
import gzip
import logging
import os
import sys
import time
from collections import Counter

import pysam
import torch

from validsplice import __version__

from ...common.device import resolve_device
from ...common.errors import UserError
from ...io.annotation import GeneAnnotation
from ..delta import Reference
from ..vcf_stream import Counts, VcfInput, check_writable, htslib_quiet, read_chunk
from .score import HEADER_LINE, INFO_KEY, PangolinSettings, score_records

log = logging.getLogger(__name__)


def add_pangolin_arguments(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("pangolin (with --model pangolin; the original's flags)")
    group.add_argument("-m", "--mask", dest="pangolin_mask", choices=["False", "True"], default=None,
                       help="gains at annotated splice sites and losses at unannotated ones set to 0 "
                            "(True; same as -M 1)")
    group.add_argument("-s", "--score_cutoff", dest="score_cutoff", type=float, default=None,
                       help="write every site with |score change| >= cutoff instead of the largest gain and loss")
    group.add_argument("--case-sensitive-ref", action="store_true",
                       help="compare REF with the FASTA case-sensitively, as the original does: it then skips "
                            "variants in soft-masked (lower-case) sequence")
    group.add_argument("--float-style", choices=["repr", "short"], default="repr",
                       help="numbers as the original prints them with numpy >= 2 (repr, e.g. 0.36000001430511475 "
                            "for float32 values) or with numpy < 2 (short, 0.36)")


def pangolin_settings(args) -> PangolinSettings:
    if args.pangolin_mask is not None:
        mask = args.pangolin_mask == "True"
    else:
        mask = True if args.M is None else bool(args.M)
    return PangolinSettings(distance=args.D, mask=mask, score_cutoff=args.score_cutoff,
                            case_sensitive=args.case_sensitive_ref, float_style=args.float_style)


def header_line_count(path: str, header: pysam.VariantHeader) -> int:
    """Header lines of the input file (the original numbers warnings by file line)."""
    if path != "-" and os.path.isfile(path):
        with open(path, "rb") as fh:
            magic = fh.read(2)
        if magic != b"BC":  # BCF has no lines: fall back on the parsed header
            opener = gzip.open if magic == b"\x1f\x8b" else open
            n = 0
            with opener(path, "rt", errors="replace") as fh:
                for line in fh:
                    if not line.startswith("#"):
                        break
                    n += 1
            return n
    return len(str(header).splitlines())


def settings_text(args, settings: PangolinSettings) -> str:
    return (f"##validsplice_score=version {__version__}; model pangolin; -d {settings.distance}; "
            f"-m {settings.mask}; -s {settings.score_cutoff}; -A {args.A}; model dir {os.path.abspath(args.model_dir)}; "
            f"case-sensitive REF {settings.case_sensitive}; float style {settings.float_style}")


def run_pangolin(args: argparse.Namespace) -> int:
    from .engine import PangolinEngine
    from .network import load_pangolin_folder

    settings = pangolin_settings(args)
    with htslib_quiet(1):
        check_writable(args.O)
        if args.threads:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device, where="--device")
        annotation = GeneAnnotation.load(args.A)
        nets = load_pangolin_folder(args.model_dir)
        with htslib_quiet():
            reference = Reference(args.R)
        if args.I == "-" and sys.stdin.isatty():
            log.info("reading the VCF from standard input (give -I FILE to read a file)")
        source = VcfInput(args.I)
        try:
            if source.warning:
                log.warning(source.warning)
            header = source.vcf.header
            first_line = header_line_count(args.I, header) + 1
            contigs, has_end = set(header.contigs), "END" in header.info
            header.add_line(HEADER_LINE)
            header.add_line(settings_text(args, settings))
            try:
                with htslib_quiet():
                    out = pysam.VariantFile(args.O, mode="w", header=header)
            except (OSError, ValueError) as exc:
                raise UserError(f"Cannot write output {args.O}: {exc}") from None
            engine = PangolinEngine(nets, reference, device=device, batch_size=args.batch_size or 0)
            try:
                tally = _stream(source, out, reference, annotation, engine, args, settings, contigs, has_end,
                                first_line)
            finally:
                out.close()
            if engine.fallbacks or engine.errors:
                log.warning("%d window(s) scored by the plain exact path after fast-engine errors, %d unscorable",
                            engine.fallbacks, engine.errors)
        finally:
            source.close()
    log.info("done: %s", tally)
    return 0


def _stream(source, out, reference, annotation, engine, args, settings, contigs, has_end, first_line) -> str:
    counts = Counts()  # read_chunk counts the records read
    statuses: Counter = Counter()
    start = time.time()
    vcf_iter = iter(source.vcf)
    at_end = False
    while not at_end:
        before = counts.read
        chunk, error, at_end = read_chunk(vcf_iter, args.chunk_size, counts, contigs, has_end, source.name)
        if chunk:
            records = [(r.chrom, r.pos, r.ref, r.alts[0] if r.alts else ".") for r in chunk]
            results = score_records(records, reference, annotation, engine, settings)
            for k, (rec, res) in enumerate(zip(chunk, results)):
                if res.warning:
                    log.warning("[Line %d] WARNING, skipping variant: %s", first_line + before + k, res.warning)
                if res.entries:
                    rec.info[INFO_KEY] = res.entries
                statuses[res.status] += 1
                try:
                    out.write(rec)
                except (OSError, ValueError) as exc:
                    raise UserError(f"Cannot write record {before + k + 1} ({rec.chrom}:{rec.pos}): {exc}") from None
            out.flush()
            log.info("%d records written (%.1f s)", counts.read, time.time() - start)
        if error is not None:
            raise error
    source.check_complete(counts.read)
    return f"{counts.read} records read; " + ", ".join(f"{k} {v}" for k, v in statuses.most_common())
