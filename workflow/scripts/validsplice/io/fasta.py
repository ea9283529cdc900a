"""Reading the reference FASTA: contig names/lengths, `chr` harmonization, upper-cased codes.

Every stage reads the reference through these helpers so that soft-masked (lower-case)
bases, `chr`-prefix differences between variant files and the FASTA, and missing index
files are handled the same way everywhere.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pysam

from ..common.errors import UserError
from ..common.sequence import encode
from .annotation import strip_chr


def first_path(path_or_list) -> str:
    """Snakemake passes ``input.fasta`` as a list (FASTA, .fai, .gzi); the FASTA comes first."""
    if isinstance(path_or_list, (list, tuple)) or (
        hasattr(path_or_list, "__iter__") and not isinstance(path_or_list, (str, Path))
    ):
        items = list(path_or_list)
        if not items:
            raise UserError("No reference FASTA given: set reference.fasta in the config.")
        return str(items[0])
    return str(path_or_list)


def open_fasta(path) -> pysam.FastaFile:
    """Open an indexed FASTA (plain or bgzipped) with a clear message when that fails."""
    path = first_path(path)
    if not Path(path).is_file():
        raise UserError(f"Reference FASTA {path} does not exist: set reference.fasta in the config.")
    try:
        return pysam.FastaFile(path)
    except (OSError, ValueError) as exc:
        raise UserError(
            f"Cannot open reference FASTA {path}: {exc}. It must be plain or bgzipped (not plain "
            f"gzip) and indexed: run 'samtools faidx {path}'."
        ) from None


def contig_lengths(path) -> dict[str, int]:
    """Contig name -> length, in FASTA (.fai) order."""
    with open_fasta(path) as fa:
        return dict(zip(fa.references, fa.lengths))


def chrom_mapping(names, fasta_contigs) -> dict[str, str | None]:
    """Map variant contig names onto FASTA contig names.

    An exact match wins; otherwise ``13`` matches ``chr13`` and ``chr13`` matches ``13``
    (also ``chrM``/``MT``). Names with no counterpart map to ``None`` (the caller rejects them).
    """
    fasta_contigs = list(fasta_contigs)
    exact = set(fasta_contigs)
    by_stripped: dict[str, str] = {}
    for c in fasta_contigs:
        by_stripped.setdefault(strip_chr(c), c)
    aliases = {"M": "MT", "MT": "M"}
    out: dict[str, str | None] = {}
    for name in set(map(str, names)):
        if name in exact:
            out[name] = name
            continue
        key = strip_chr(name)
        out[name] = by_stripped.get(key) or by_stripped.get(aliases.get(key, ""))
    return out


def contig_codes(fa: pysam.FastaFile, contig: str) -> np.ndarray:
    """The whole contig as uint8 codes (upper-cased: soft-masked repeats are ordinary bases)."""
    return encode(fa.fetch(contig).upper())


def contig_text(fa: pysam.FastaFile, contig: str) -> str:
    """The whole contig as an upper-case string (for REF checks by slicing)."""
    return fa.fetch(contig).upper()
