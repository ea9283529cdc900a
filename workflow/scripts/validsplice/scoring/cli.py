"""Drop-in replacement for the ``spliceai`` command: ``python -m validsplice score``.

Same options (-I -O -R -A -D -M, stdin and stdout by default), same header line and ``SpliceAI=``
entries, same skip rules and warnings; plus ``--chunk-size``, ``--model``/``--model-dir``
(OpenSpliceAI checkpoints), ``--info-key``, ``--batch-size``, ``--device`` and ``--threads``. Uses the
fast engine. With ``--model openspliceai`` it is a drop-in for ``openspliceai variant -f 10000 -t pytorch``
as well: the entries go under ``OpenSpliceAI=`` with that tool's header line (``--info-key SpliceAI``
switches back), so the parsers of either tool keep working.

Streaming: records are read, scored and written ``--chunk-size`` at a time, in input order, and the
output is flushed after each chunk, so memory stays flat and a failure late in a large VCF keeps
every chunk already written. Every input problem ends with one clear message (no traceback) after
the records before it have been written.
"""
from __future__ import annotations

import argparse
import errno
import logging
import os
import sys
import time
from pathlib import Path

import pysam
import torch

from validsplice import __version__

from ..common.device import resolve_device
from ..common.errors import UserError
from ..io.annotation import GeneAnnotation
from .delta import Reference, VariantRecord, info_entries, score_records
from .vcf_stream import (  # noqa: F401 (re-exported)
    DEFAULT_INFO_KEY,
    HEADER_LINE,
    INFO_HEADER_LINES,
    Counts,
    VcfInput,
    check_writable,
    htslib_quiet,
    read_chunk,
)

log = logging.getLogger(__name__)

MAX_DISTANCE = 4999  # the original's choices=range(0, 5000)



def distance_arg(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if not 0 <= value <= MAX_DISTANCE:
        raise argparse.ArgumentTypeError(f"{value} is out of range: use 0 to {MAX_DISTANCE}")
    return value


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid integer {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} must be at least 1")
    return value


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("-I", metavar="input", default="-",
                        help="input VCF: plain, gzip or bgzip (no index needed) or BCF; '-' or "
                             "omitted: standard input")
    parser.add_argument("-O", metavar="output", default="-",
                        help="output VCF ('-' or omitted: standard output; *.gz: bgzipped)")
    parser.add_argument("-R", metavar="reference", required=True, help="reference FASTA (indexed)")
    parser.add_argument("-A", metavar="annotation", required=True,
                        help='"grch37", "grch38" (tables of PyPI spliceai) or a gene table file')
    parser.add_argument("-D", "-d", metavar="distance", dest="D", default=50, type=distance_arg,
                        help=f"maximum distance between the variant and gained/lost splice site, "
                             f"0 to {MAX_DISTANCE} (50)")
    parser.add_argument("-M", metavar="mask", default=None, type=int, choices=[0, 1],
                        help="mask scores of annotated gains and unannotated losses: 0 or 1 (0; "
                             "pangolin: 1)")
    parser.add_argument("--model", choices=["spliceai", "openspliceai", "pangolin"], default=None,
                        help="base model (default: openspliceai when --model-dir holds .pt "
                             "checkpoints, pangolin when it holds final.*.3.v2 files, else spliceai)")
    parser.add_argument("--model-dir", metavar="DIR", default="",
                        help="folder of OpenSpliceAI .pt checkpoints, or of spliceai1..5.h5 "
                             "(default: the models of the installed PyPI spliceai)")
    parser.add_argument("--info-key", choices=sorted(INFO_HEADER_LINES), default=None,
                        help="INFO key of the scores (default: the key the model's original tool writes: "
                             "SpliceAI for spliceai, OpenSpliceAI for openspliceai, as 'openspliceai variant' "
                             "does); the header line is that tool's")
    parser.add_argument("--chunk-size", type=positive_int, default=1000,
                        help="records read, scored and written at a time (1000)")
    parser.add_argument("--batch-size", type=positive_int, default=None,
                        help="alternates per forward pass (default: 8 on CPU, 64 on a GPU)")
    parser.add_argument("--device", default="auto", help="auto, cpu or cuda")
    parser.add_argument("--threads", type=int, default=0, help="CPU threads (0: torch default)")
    from .pangolin.cli import add_pangolin_arguments  # the pangolin command's own flags

    add_pangolin_arguments(parser)


def resolve_model(model: str | None, model_dir: str) -> str:
    """The base model kind, inferred from ``model_dir`` when not given; checks the folder early."""
    if model_dir:
        folder = Path(model_dir)
        if not folder.is_dir():
            raise UserError(f"--model-dir {model_dir} does not exist or is not a folder.")
        has_pt = any(folder.glob("*.pt"))
        has_h5 = any(folder.glob("spliceai*.h5"))
        if model is None:
            if any(folder.glob("final.*.3.v2")):
                model = "pangolin"
            elif has_pt:
                model = "openspliceai"
            elif has_h5:
                model = "spliceai"
            else:
                raise UserError(f"--model-dir {model_dir} holds neither OpenSpliceAI .pt checkpoints nor "
                                "SpliceAI spliceai1..5.h5 files.")
        if model == "openspliceai" and not has_pt:
            raise UserError(f"--model openspliceai: no .pt checkpoints in {model_dir}.")
    elif model == "pangolin":
        raise UserError("--model pangolin needs --model-dir, the folder pangolin/models of tkzeng/Pangolin.")
    elif model == "openspliceai":
        raise UserError("--model openspliceai needs --model-dir, a folder of OpenSpliceAI .pt checkpoints.")
    return model or "spliceai"


def settings_line(args, model: str) -> str:
    model_dir = os.path.abspath(args.model_dir) if args.model_dir else "PyPI spliceai package models"
    return (f"##validsplice_score=version {__version__}; -D {args.D}; -M {args.M or 0}; -A {args.A}; "
            f"model {model}; model dir {model_dir}")


def run_score(args: argparse.Namespace) -> int:
    from .incremental import IncrementalEngine
    from .weights import load_ensemble

    with htslib_quiet(1):  # errors only; the problems htslib would warn about are checked here
        check_writable(args.O)
        model = resolve_model(args.model, args.model_dir)
        if model == "pangolin":
            from .pangolin.cli import run_pangolin

            return run_pangolin(args)
        if args.threads:
            torch.set_num_threads(args.threads)
        device = resolve_device(args.device, where="--device")
        annotation = GeneAnnotation.load(args.A)
        with htslib_quiet():
            reference = Reference(args.R)
        if args.I == "-" and sys.stdin.isatty():
            log.info("reading the VCF from standard input (give -I FILE to read a file)")
        source = VcfInput(args.I)
        try:
            if source.warning:
                log.warning(source.warning)
            header = source.vcf.header
            contigs, has_end = set(header.contigs), "END" in header.info
            info_key = args.info_key or DEFAULT_INFO_KEY[model]
            header.add_line(INFO_HEADER_LINES[info_key])
            header.add_line(settings_line(args, model))
            try:
                with htslib_quiet():
                    out = pysam.VariantFile(args.O, mode="w", header=header)
            except (OSError, ValueError) as exc:
                raise UserError(f"Cannot write output {args.O}: {exc}") from None
            failed = True
            try:
                nets = load_ensemble(model, args.model_dir, device)
                engine = IncrementalEngine(nets, reference, device=device, batch_size=args.batch_size or 0)
                counts = _stream(source, out, reference, annotation, engine, args, contigs, has_end, info_key)
                if engine.fallbacks or engine.errors:
                    log.warning("%d variant(s) scored by the plain exact path after fast-engine errors, %d "
                                "unscorable (no %s= entry); see the warnings above", engine.fallbacks,
                                engine.errors, info_key)
                failed = False
            finally:
                try:
                    out.close()
                except OSError as exc:
                    if not failed:  # after a failure the reported error says it all
                        raise UserError(f"Cannot write output {args.O}: {_why(exc)}") from None
        finally:
            source.close()
    log.info("done: %s", counts.summary())
    return 0


def _stream(source: VcfInput, out, reference, annotation, engine, args, contigs, has_end,
            info_key: str = "SpliceAI") -> Counts:
    counts = Counts()
    start = time.time()
    vcf_iter = iter(source.vcf)
    out_name = "standard output" if args.O == "-" else args.O
    at_end = False
    try:
        while not at_end:
            chunk, error, at_end = read_chunk(vcf_iter, args.chunk_size, counts, contigs, has_end, source.name)
            if chunk:
                records = [VariantRecord(r.chrom, r.pos, r.ref, tuple(r.alts) if r.alts else (),
                                         label=str(r).rstrip("\n")) for r in chunk]
                slots = score_records(records, reference, annotation, engine, args.D, bool(args.M))
                _write(out, chunk, slots, counts, out_name, info_key)
                log.info("%d records written (%.1f s)", counts.read, time.time() - start)
            if error is not None:
                raise error
        source.check_complete(counts.read)
    except UserError:
        log.info("stopped: %s", counts.summary())
        raise
    return counts


def _write(out, chunk, slots, counts: Counts, out_name: str, info_key: str = "SpliceAI") -> None:
    for k, (rec, rec_slots) in enumerate(zip(chunk, slots)):
        entries = info_entries(rec_slots)
        if entries:
            rec.info[info_key] = entries
        try:
            out.write(rec)
        except (OSError, ValueError) as exc:
            n = counts.read - len(chunk) + k + 1
            raise UserError(f"Cannot write record {n} ({rec.chrom}:{rec.pos}) to {out_name}: {_why(exc)}") from None
        counts.add(rec_slots)
    try:
        out.flush()
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot write to {out_name}: {_why(exc)}") from None


def _why(exc: Exception) -> str:
    if getattr(exc, "errno", None) == errno.EPIPE:
        return "the reading end of the pipe was closed"
    if getattr(exc, "errno", None) == errno.ENOSPC:
        return "no space left on the device"
    return str(exc)
