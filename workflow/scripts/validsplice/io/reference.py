"""Getting the reference FASTA ready: optional download, bgzip, samtools index.

The workflow never writes next to its inputs (on a cluster the reference sits in a shared,
read-only folder that many jobs read at once). ``stage_fasta`` gives the workflow its own indexed
reference under ``results/reference/``: a symbolic link to the user's FASTA with that FASTA's own
index copied beside the link when the index is valid, else an index built beside the link; a
FASTA that htslib cannot read by position (plain gzip) becomes a bgzipped copy there instead.
"""
from __future__ import annotations

import gzip
import logging
import os
import shutil
import struct
import urllib.request
from pathlib import Path

import pysam

from ..common.errors import UserError
from .sniff import compression

log = logging.getLogger(__name__)

# IUPAC nucleotide codes and '*'/'-' as samtools accepts them: what a sequence byte may be
_SEQUENCE_BYTES = frozenset(b"ACGTUNRYKMSWBDHVacgtunrykmswbdhv*-")


def index_suffixes(fasta: str | Path) -> tuple[str, ...]:
    """The index files samtools faidx writes for this FASTA name: .fai, plus .gzi for .gz names."""
    return (".fai", ".gzi") if str(fasta).endswith(".gz") else (".fai",)


def stage_fasta(source: str | Path, dest: str | Path) -> None:
    """Make ``dest`` an indexed reference with the content of ``source``, writing only at ``dest``.

    ``dest`` becomes a symbolic link to ``source`` (absolute path) and ``dest.fai`` (+ ``.gzi``)
    copies of the index beside ``source`` when that index is valid (``index_problem``), else an
    index built for ``dest``. A ``.gz`` FASTA that is not bgzipped (plain gzip, or not compressed)
    is written to ``dest`` as a bgzipped copy and indexed there. ``source`` and its folder are only read.
    """
    source, dest = Path(source), Path(dest)
    if not source.is_file():
        raise UserError(f"Reference FASTA {source} does not exist: set reference.fasta in the config.")
    kind = compression(source)
    if not str(source).endswith(".gz") and kind != "none":
        raise UserError(
            f"Reference FASTA {source} is compressed ({kind}) but its name does not end in .gz: name it "
            f"{source.name}.gz (reference.fasta in the config) so the index gets its .gzi file."
        )
    dest.parent.mkdir(parents=True, exist_ok=True)
    for path in [dest, *(Path(f"{dest}{s}") for s in (".fai", ".gzi"))]:
        if path.is_symlink() or path.exists():
            path.unlink()
    if str(source).endswith(".gz") and kind != "bgzf":
        log.info("%s is %s, not bgzipped (htslib cannot read it by position): writing a bgzipped copy to %s",
                 source, "plain gzip" if kind == "gzip" else "not compressed", dest)
        _bgzip_copy(source, dest)
        index_fasta(dest)
        return
    _link(source, dest)
    problem = index_problem(source)
    if problem is None:
        for suffix in index_suffixes(source):
            shutil.copyfile(f"{source}{suffix}", f"{dest}{suffix}")
        log.info("reusing the index beside %s (copied to %s)", source, dest.parent)
        return
    log.info("not using an index beside %s (%s): building one for %s", source, problem, dest)
    index_fasta(dest)


def index_problem(fasta: str | Path) -> str | None:
    """Why the index beside ``fasta`` cannot be used, or None when it is valid.

    Valid: the ``.fai`` (and ``.gzi`` for a bgzipped FASTA) exist and parse, and at every contig the
    byte before the first base ends the header line, the first and last bases are sequence letters
    and the byte after the last base ends a line (or the file). Reads a few bytes per contig.
    """
    fasta = Path(fasta)
    missing = [f"{fasta.name}{s}" for s in index_suffixes(fasta) if not Path(f"{fasta}{s}").is_file()]
    if missing:
        return f"no {' or '.join(missing)}"
    try:
        contigs = _read_fai(Path(f"{fasta}.fai"))
        with _UncompressedReader(fasta) as reader:
            for name, length, offset, line_bases, line_bytes in contigs:
                last = offset + (length - 1) // line_bases * line_bytes + (length - 1) % line_bases
                before, first = reader.read_at(offset - 1, 2)
                end = reader.read_at(last, 2)
                if before != ord("\n") or first not in _SEQUENCE_BYTES or not end or end[0] not in _SEQUENCE_BYTES \
                        or (len(end) == 2 and end[1] not in b"\r\n"):
                    return f"its entry for {name} does not match the FASTA (written for another file?)"
    except (OSError, ValueError, EOFError, struct.error) as exc:
        return f"it cannot be read: {exc}"
    return None


def _read_fai(fai: Path) -> list[tuple[str, int, int, int, int]]:
    contigs = []
    for number, line in enumerate(fai.read_text().splitlines(), 1):
        fields = line.split("\t")
        if len(fields) < 5:
            raise ValueError(f"{fai} line {number} has {len(fields)} fields, not 5")
        name, *numbers = fields[:5]
        length, offset, line_bases, line_bytes = (int(x) for x in numbers)
        if length < 1 or offset < 1 or line_bases < 1 or line_bytes < line_bases:
            raise ValueError(f"{fai} line {number} has impossible numbers: {line!r}")
        contigs.append((name, length, offset, line_bases, line_bytes))
    if not contigs:
        raise ValueError(f"{fai} is empty")
    return contigs


class _UncompressedReader:
    """Bytes at uncompressed offsets of a plain or bgzipped file (bgzipped: through its .gzi)."""

    def __init__(self, path: Path):
        self.bgzf = compression(path) == "bgzf"
        if self.bgzf:
            data = Path(f"{path}.gzi").read_bytes()
            (count,) = struct.unpack_from("<Q", data)
            # (compressed, uncompressed) start of every block after the first, ascending
            self.blocks = [(0, 0)] + [struct.unpack_from("<QQ", data, 8 + 16 * i) for i in range(count)]
            self.handle = pysam.BGZFile(str(path), "rb")
        else:
            self.handle = open(path, "rb")

    def read_at(self, offset: int, n: int) -> bytes:
        if self.bgzf:
            lo, hi = 0, len(self.blocks) - 1
            while lo < hi:  # last block starting at or before offset
                mid = (lo + hi + 1) // 2
                lo, hi = (mid, hi) if self.blocks[mid][1] <= offset else (lo, mid - 1)
            coffset, uoffset = self.blocks[lo]
            within = offset - uoffset
            if within >= 1 << 16:
                raise ValueError(f"the .gzi does not cover offset {offset}")
            self.handle.seek((coffset << 16) | within)
        else:
            self.handle.seek(offset)
        return self.handle.read(n)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.handle.close()


def _link(source: Path, dest: Path) -> None:
    """``dest`` -> absolute ``source``, made under a temporary name and renamed (never half-made)."""
    tmp = dest.with_name(f".{dest.name}.link")
    if tmp.is_symlink() or tmp.exists():
        tmp.unlink()
    os.symlink(os.path.abspath(source), tmp)
    os.replace(tmp, dest)


def _bgzip_copy(source: Path, dest: Path) -> None:
    tmp = dest.with_name(f".{dest.name}.partial")
    opener = gzip.open if compression(source) != "none" else open
    with opener(source, "rb") as src, pysam.BGZFile(str(tmp), "wb") as out:
        shutil.copyfileobj(src, out, length=1 << 20)
    os.replace(tmp, dest)


def index_fasta(fasta: str | Path) -> None:
    """Write ``.fai`` (and ``.gzi`` for bgzipped files) beside the FASTA (a file the workflow wrote)."""
    fasta = Path(fasta)
    try:
        pysam.faidx(str(fasta))
    except pysam.SamtoolsError as exc:
        raise UserError(
            f"Cannot index reference {fasta}: {exc}. A compressed FASTA must be bgzipped "
            f"(not plain gzip): recompress with 'zcat {fasta.name} | bgzip > ref.fa.gz'."
        ) from None
    log.info("indexed %s", fasta)


def download_fasta(url: str, dest: str | Path) -> None:
    """Download ``url`` to ``dest`` (bgzipped) and index it.

    Plain-gzip downloads (as UCSC and Ensembl serve them) are recompressed with bgzip so the
    file can be read by position.
    """
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    raw = dest.with_name(dest.name + ".download")
    log.info("downloading %s", url)
    try:
        with urllib.request.urlopen(url) as response, open(raw, "wb") as out:
            shutil.copyfileobj(response, out, length=1 << 20)
    except OSError as exc:
        raise UserError(
            f"Could not download the reference from {url}: {exc}. Download it yourself and set "
            "reference.fasta in the config to its path (and reference.url to '')."
        ) from None
    _bgzip_copy(raw, dest)
    raw.unlink()
    index_fasta(dest)

