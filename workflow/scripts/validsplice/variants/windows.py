"""Reference and alternative sequence windows centred on each variant, on the gene's strand.

Window of odd length L, centre index ``L // 2`` = the variant's first REF base (1-based
``pos``). The alt window is the ``L // 2`` bases left of ``pos``, then ALT, then the reference
after REF, cut or filled from the reference to length L, so ref and alt windows have equal
length and the variant stays at the centre whatever the indel size. Positions past a contig
end are N. Windows of ``-`` strand genes are reverse-complemented (``.`` = no gene: ``+``).

Everything is built with numpy fancy indexing per contig (each contig is read once); there
is no Python loop over bases or variants.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..common.sequence import N_CODE, encode, reverse_complement_codes
from ..io.fasta import contig_codes, first_path, open_fasta

log = logging.getLogger(__name__)

CHUNK = 4096  # variants per vectorized batch: keeps the (batch, L) int64 index arrays ~16 MB


def _allele_matrix(alleles: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Alleles -> (codes (n, max_len) N-filled, lengths). One join + one encode, no per-base loop."""
    lengths = np.fromiter((len(a) for a in alleles), dtype=np.int64, count=len(alleles))
    width = max(int(lengths.max(initial=1)), 1)
    flat = encode("".join(alleles))
    out = np.full((len(alleles), width), N_CODE, dtype=np.uint8)
    rows = np.repeat(np.arange(len(alleles)), lengths)
    cols = np.arange(len(flat)) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    out[rows, cols] = flat
    return out, lengths


def contig_windows(
    codes: np.ndarray, pos: np.ndarray, ref_len: np.ndarray, alt: np.ndarray, alt_len: np.ndarray, length: int
) -> tuple[np.ndarray, np.ndarray]:
    """Ref and alt windows (+ strand) for variants on one contig.

    ``codes``: the contig's uint8 codes; ``pos``: 1-based positions; ``alt``: (n, w) allele
    codes with lengths ``alt_len``.
    """
    half = length // 2
    pad = half + int(ref_len.max(initial=1)) + 1
    padded = np.concatenate([np.full(pad, N_CODE, np.uint8), codes, np.full(pad, N_CODE, np.uint8)])
    j = np.arange(length)[None, :]
    start = (pos - 1 + pad)[:, None]  # padded index of the first REF base
    ref = padded[start - half + j]
    # alt: left flank | ALT | reference after REF (its index shifts by ref_len - alt_len)
    after = start + ref_len[:, None] + (j - half - alt_len[:, None])
    genomic = np.where(j < half, start - half + j, after)
    genomic = np.clip(genomic, 0, len(padded) - 1)  # only reachable by huge insertions: filled below
    win_alt = padded[genomic]
    in_allele = (j >= half) & (j < half + alt_len[:, None])
    col = np.clip(j - half, 0, alt.shape[1] - 1)
    allele_codes = np.take_along_axis(alt, np.broadcast_to(col, (len(pos), length)), axis=1)
    win_alt = np.where(in_allele, allele_codes, win_alt)
    return ref.astype(np.uint8), win_alt.astype(np.uint8)


def build_windows(table: pd.DataFrame, fasta_path, length: int = 501) -> dict[str, np.ndarray]:
    """Windows for every row of the variant table (row order kept)."""
    length = int(length)
    if length < 1 or length % 2 == 0:
        raise UserError(f"config windows.length is {length}; it must be a positive odd number (e.g. 501).")
    missing = [c for c in ("variant_id", "chrom", "pos", "ref", "alt", "strand") if c not in table]
    if missing:
        raise UserError(f"The variant table lacks column(s) {missing}; rerun the normalize_variants rule.")
    n = len(table)
    ref_out = np.full((n, length), N_CODE, dtype=np.uint8)
    alt_out = np.full((n, length), N_CODE, dtype=np.uint8)
    pos_all = table["pos"].to_numpy(np.int64)
    ref_len_all = table["ref"].str.len().to_numpy(np.int64)
    alt_all = table["alt"].astype(str).to_numpy()
    fa = open_fasta(fasta_path)
    try:
        for chrom in pd.unique(table["chrom"]):
            if chrom not in fa.references:
                raise UserError(
                    f"Contig {chrom!r} of the variant table is not in {first_path(fasta_path)}: use the FASTA "
                    "the variants were normalized against (rerun normalize_variants)."
                )
            t0 = time.perf_counter()
            rows = np.nonzero((table["chrom"] == chrom).to_numpy())[0]
            codes = contig_codes(fa, chrom)
            for chunk in np.array_split(rows, max(1, -(-len(rows) // CHUNK))):  # bounded int64 temporaries
                alt_codes, alt_len = _allele_matrix(alt_all[chunk])
                r, a = contig_windows(codes, pos_all[chunk], ref_len_all[chunk], alt_codes, alt_len, length)
                ref_out[chunk], alt_out[chunk] = r, a
            log.info("%s: %d windows in %.2f s", chrom, len(rows), time.perf_counter() - t0)
    finally:
        fa.close()
    strand = table["strand"].fillna(".").astype(str).to_numpy()
    minus = strand == "-"
    ref_out[minus] = reverse_complement_codes(ref_out[minus])
    alt_out[minus] = reverse_complement_codes(alt_out[minus])
    return {
        "ref": ref_out,
        "alt": alt_out,
        "variant_id": table["variant_id"].astype(str).to_numpy().astype(str),
        "strand": strand.astype(str),
        "length": np.int64(length),
    }


def extract_windows(table_path, fasta_path, windows_path, length: int = 501) -> dict[str, np.ndarray]:
    """The ``extract_windows`` rule: variants.parquet + FASTA -> windows.npz."""
    table = pd.read_parquet(table_path)
    t0 = time.perf_counter()
    windows = build_windows(table, fasta_path, length)
    Path(windows_path).parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(str(windows_path) + ".tmp.npz")
    np.savez(tmp, **windows)
    tmp.replace(windows_path)
    log.info("wrote %d windows of %d bases in %.2f s to %s", len(table), int(length), time.perf_counter() - t0, windows_path)
    return windows
