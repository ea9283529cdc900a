"""Sequential VCF input for the ``score`` command: plain, gzip or bgzip files, or stdin; no index.

Streaming reads the records once, in file order, so an index is never needed. Plain VCF and
BCF files go straight to pysam. Gzip-compressed text (bgzip or plain gzip, which pysam cannot
open by path) and stdin are decompressed in Python on a feeder thread and handed to pysam
through a pipe, whole lines only: when the input ends early (truncated or corrupt gzip) the
partial last line is dropped and the error is kept, so the caller writes every complete record
read before it and then reports the problem.
"""
from __future__ import annotations

import contextlib
import gzip
import os
import sys
import threading
import zlib
from collections import Counter
from pathlib import Path

import pysam

from ..common.errors import UserError
from .delta import info_entries

GZIP_MAGIC = b"\x1f\x8b"
BGZF_EOF = bytes.fromhex("1f8b08040000000000ff0600424302001b0003000000000000000000")


@contextlib.contextmanager
def htslib_quiet(level: int = 0):
    """Silence htslib's stderr messages (index look-ups, 'index file is older', contig warnings);
    every failure they would announce is reported by the caller in its own words."""
    saved = pysam.set_verbosity(level)
    try:
        yield
    finally:
        pysam.set_verbosity(saved)


class VcfInput:
    """Open ``path`` ('-' for stdin) for one sequential pass; ``vcf`` is the pysam VariantFile."""

    def __init__(self, path: str):
        self.path = path
        self.name = "standard input" if path == "-" else path
        self.feed_error: BaseException | None = None
        self.warning = ""
        self._thread: threading.Thread | None = None
        source = self._source()
        with htslib_quiet():
            try:
                if source is None:
                    self.vcf = pysam.VariantFile(path)
                else:
                    rfd, wfd = os.pipe()
                    self._thread = threading.Thread(target=self._feed, args=(source, wfd), daemon=True)
                    self._thread.start()
                    self.vcf = pysam.VariantFile(os.fdopen(rfd, "rb"))
            except (OSError, ValueError) as exc:
                self._join()
                detail = f" ({self.feed_error})" if self.feed_error else ""
                raise UserError(f"Cannot read VCF {self.name}: {str(exc).rstrip('?.')}{detail}. Expected a VCF (plain, "
                                "gzip or bgzip) or BCF file.") from None

    def _source(self):
        """A binary stream to feed through the pipe, or None when pysam reads the file itself."""
        if self.path == "-":
            stdin = sys.stdin.buffer
            if stdin.peek(2)[:2] == GZIP_MAGIC:
                return gzip.GzipFile(fileobj=stdin, mode="rb")
            return stdin
        if not os.path.isfile(self.path):
            raise UserError(f"Input VCF {self.path} does not exist (or is not a file).")
        try:
            with open(self.path, "rb") as f:
                magic = f.read(18)
                if magic[:2] != GZIP_MAGIC:
                    return None  # plain text VCF
                is_bgzf = magic[12:14] == b"BC"
                if is_bgzf:
                    f.seek(-len(BGZF_EOF), os.SEEK_END)
                    if f.read() != BGZF_EOF:
                        self.warning = (f"{self.path} has no BGZF end-of-file marker: it may be truncated; "
                                        "records are read up to where it ends")
            with gzip.open(self.path, "rb") as g:
                if g.read(3) == b"BCF":
                    return None  # BCF: pysam reads it (no index needed either)
        except (OSError, EOFError, zlib.error):
            pass  # reported by the feeder with the records read before the damage
        return gzip.open(self.path, "rb")

    def _feed(self, source, wfd: int) -> None:
        tail = b""
        read = getattr(source, "read1", source.read)  # what is decoded so far, not all-or-nothing
        with open(wfd, "wb", closefd=True) as out:
            try:
                while True:
                    try:
                        block = read(1 << 16)
                    except (OSError, EOFError, zlib.error) as exc:
                        self.feed_error = exc
                        return  # the partial last line in ``tail`` is dropped
                    if not block:
                        break
                    data = tail + block
                    cut = data.rfind(b"\n") + 1
                    out.write(data[:cut])
                    tail = data[cut:]
                out.write(tail)
            except (BrokenPipeError, ValueError):
                pass  # the reader stopped early (an error the caller reports)
            except OSError:
                pass

    def _join(self) -> None:
        if self._thread is not None:
            self._thread.join(timeout=5)

    def check_complete(self, n_read: int) -> None:
        """After the last record: raise if the input ended because it was damaged."""
        self._join()
        if self.feed_error is not None:
            raise UserError(f"Input VCF {self.name} ends early after record {n_read}: {self.feed_error} "
                            "(truncated or corrupt gzip). The records before it were written.")

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.vcf.close()
        self._join()


HEADER_LINE = ('##INFO=<ID=SpliceAI,Number=.,Type=String,Description="SpliceAIv1.3.1 variant '
               'annotation. These include delta scores (DS) and delta positions (DP) for '
               'acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). '
               'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">')
# ``openspliceai variant`` (PyPI openspliceai 0.0.7, openspliceai/variant/variant.py) writes its scores under
# its own key, with this header line; ``score --model openspliceai`` writes the same so its parsers keep working
OPENSPLICEAI_HEADER_LINE = ('##INFO=<ID=OpenSpliceAI,Number=.,Type=String,Description="OpenSpliceAI variant '
                            'annotation. These include delta scores (DS) and delta positions (DP) for '
                            'acceptor gain (AG), acceptor loss (AL), donor gain (DG), and donor loss (DL). '
                            'Format: ALLELE|SYMBOL|DS_AG|DS_AL|DS_DG|DS_DL|DP_AG|DP_AL|DP_DG|DP_DL">')
# the INFO key each base model's original tool writes, and its header line
INFO_HEADER_LINES = {"SpliceAI": HEADER_LINE, "OpenSpliceAI": OPENSPLICEAI_HEADER_LINE}
DEFAULT_INFO_KEY = {"spliceai": "SpliceAI", "openspliceai": "OpenSpliceAI"}
# skip reasons that apply to the whole record (the others apply to one ALT allele)
RECORD_SKIPS = ("no gene", "fasta issue", "ref mismatch", "near contig end", "ref too long")


def check_writable(path: str) -> None:
    """Fail before any work when the output cannot be created."""
    if path == "-":
        return
    target = Path(path)
    if target.is_dir():
        raise UserError(f"Output {path} is a folder; give a file name for -O.")
    parent = target.parent if str(target.parent) else Path(".")
    if not parent.is_dir():
        raise UserError(f"Cannot write output {path}: folder {parent} does not exist.")
    if target.exists() and not os.access(target, os.W_OK):
        raise UserError(f"Cannot write output {path}: permission denied.")
    if not target.exists() and not os.access(parent, os.W_OK | os.X_OK):
        raise UserError(f"Cannot write output {path}: folder {parent} is not writable.")


def record_problem(rec, contigs: set[str], has_end: bool) -> str:
    """Why htslib could not write ``rec`` with the input's header ('' when it can)."""
    if rec.chrom not in contigs:
        return (f"contig {rec.chrom!r} is not declared in the VCF header (##contig lines). Add the "
                "reference's contigs to the header, e.g. bcftools reheader --fai REF.fa.fai")
    if not has_end and any(a.startswith("<") for a in (rec.alts or ())):
        return ("symbolic ALT allele " + ",".join(rec.alts) + " but the header declares no INFO/END; add "
                "'##INFO=<ID=END,Number=1,Type=Integer,Description=\"End position\">' to the header")
    return ""


class Counts:
    def __init__(self):
        self.read = self.annotated = self.scores = 0
        self.records = Counter()  # record-level skip reasons
        self.alleles = Counter()  # allele-level skip reasons

    def add(self, slots) -> None:
        if not slots:
            self.records["no ALT allele"] += 1
        if info_entries(slots):
            self.annotated += 1
        for s in slots:
            if s.status == "scored":
                self.scores += 1
                continue
            reason = s.status.removeprefix("skipped: ")
            (self.records if reason in RECORD_SKIPS else self.alleles)[reason] += 1

    def summary(self) -> str:
        parts = [f"{self.read} records read", f"{self.annotated} annotated ({self.scores} scores)"]
        if self.records:
            parts.append("records skipped: " + ", ".join(f"{k} {v}" for k, v in self.records.most_common()))
        if self.alleles:
            parts.append("alleles skipped: " + ", ".join(f"{k} {v}" for k, v in self.alleles.most_common()))
        return "; ".join(parts)


def read_chunk(vcf_iter, size: int, counts: Counts, contigs: set[str], has_end: bool, name: str):
    """Up to ``size`` records; stops early at a bad record. Returns (records, error or None, at_end)."""
    chunk = []
    while len(chunk) < size:
        try:
            rec = next(vcf_iter)
        except StopIteration:
            return chunk, None, True
        except (OSError, ValueError) as exc:
            return chunk, UserError(f"Cannot read record {counts.read + 1} of {name}: {exc}. "
                                    "The records before it were written."), True
        problem = record_problem(rec, contigs, has_end)
        if problem:
            return chunk, UserError(f"Record {counts.read + 1} of {name} ({rec.chrom}:{rec.pos}): {problem}. "
                                    "The records before it were written."), True
        counts.read += 1
        chunk.append(rec)
    return chunk, None, False
