"""Getting the reference FASTA ready: optional download, bgzip, samtools index."""
from __future__ import annotations

import gzip
import logging
import shutil
import urllib.request
from pathlib import Path

import pysam

from ..common.errors import UserError

log = logging.getLogger(__name__)


def index_fasta(fasta: str | Path) -> None:
    """Write ``.fai`` (and ``.gzi`` for bgzipped files) beside the FASTA."""
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
    opener = gzip.open if _is_gzip(raw) else open
    with opener(raw, "rb") as src, pysam.BGZFile(str(dest), "wb") as out:
        shutil.copyfileobj(src, out, length=1 << 20)
    raw.unlink()
    index_fasta(dest)


def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"
