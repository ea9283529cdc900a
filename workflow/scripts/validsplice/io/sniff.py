"""What kind of file a variant input is, from its first bytes: compression and VCF vs SpliceVarDB.

Cheap (reads a few kilobytes), so the workflow calls it at parse time as well as in the
ingest rule: a VCF configured as a SpliceVarDB export is reported before anything runs.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

from ..common.errors import UserError

GZIP_MAGIC = b"\x1f\x8b"
_HEAD_BYTES = 4096


def compression(path: str | Path) -> str:
    """``"bgzf"`` (bgzip), ``"gzip"`` (plain gzip, not seekable by htslib) or ``"none"``."""
    with open(path, "rb") as handle:
        head = handle.read(18)
    if not head.startswith(GZIP_MAGIC):
        return "none"
    # BGZF: a gzip member with FEXTRA (flag 4) whose extra field is the 'BC' subfield (SAM spec 4.1)
    if len(head) >= 14 and head[3] & 4 and head[12:14] == b"BC":
        return "bgzf"
    return "gzip"


def head_text(path: str | Path, n_bytes: int = _HEAD_BYTES) -> str:
    """The first ``n_bytes`` of the file as text, decompressed when it is (b)gzipped."""
    path = Path(path)
    try:
        if compression(path) == "none":
            with open(path, "rb") as handle:
                data = handle.read(n_bytes)
        else:
            with gzip.open(path, "rb") as handle:
                data = handle.read(n_bytes)
    except (OSError, EOFError, zlib.error) as exc:
        raise UserError(f"Variant file {path} cannot be read ({exc}); check that it is not truncated.") from None
    return data.decode("utf-8", errors="replace")


def detect_kind(path: str | Path) -> str:
    """``"vcf"`` (starts with ``##fileformat=VCF`` or a ``#CHROM`` header), ``"splicevardb"``
    (a tab-separated header holding ``variant_id`` and ``classification``) or ``"unknown"``."""
    text = head_text(path).lstrip("\ufeff")
    first = text.split("\n", 1)[0].rstrip("\r")
    if first.startswith("##fileformat=VCF") or first.startswith("#CHROM"):
        return "vcf"
    columns = {c.strip().strip('"') for c in first.split("\t")}
    if {"variant_id", "classification"} <= columns:
        return "splicevardb"
    return "unknown"


def check_source(path: str | Path, source: str, key: str = "variants.source") -> None:
    """UserError when the file is plainly the other kind than ``source`` says."""
    kind = detect_kind(path)
    if source == "splicevardb" and kind == "vcf":
        raise UserError(
            f"{path} is a VCF, but {key} is 'splicevardb' (a SpliceVarDB TSV export). "
            f"Set `{key}: vcf` in the config (and variants.label_field to the INFO field holding "
            "the class, CLASS by default)."
        )
    if source == "vcf" and kind == "splicevardb":
        raise UserError(
            f"{path} is a SpliceVarDB export (tab-separated, header with variant_id and classification), "
            f"but {key} is 'vcf'. Set `{key}: splicevardb` in the config."
        )
