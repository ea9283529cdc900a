"""Gene annotation in SpliceAI's table format.

Format (tab-separated, header ``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``;
starts 0-based, ends 1-based inclusive, exon lists comma-terminated). The GRCh37/GRCh38
tables that ship inside the PyPI package ``spliceai`` are used by name (``grch37``,
``grch38``); any path in the same format works too.

Coordinates held here follow SpliceAI's ``Annotator``: 1-based ``tx_start``/``exon_start``
(the file's 0-based value + 1) and 1-based inclusive ends. Contig names are stored without a
``chr`` prefix and looked up with either naming.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError

PACKAGED_ANNOTATIONS = ("grch37", "grch38")
REQUIRED_COLUMNS = ["#NAME", "CHROM", "STRAND", "TX_START", "TX_END", "EXON_START", "EXON_END"]


def spliceai_package_dir() -> Path:
    """Folder of the installed PyPI package ``spliceai`` (found without importing it:
    importing would pull in Keras)."""
    spec = importlib.util.find_spec("spliceai")
    if spec is None or not spec.submodule_search_locations:
        raise UserError(
            "The PyPI package 'spliceai' is not installed; its packaged weights and gene tables "
            "are needed. Install it without its TensorFlow dependencies: "
            "pip install --no-deps spliceai==1.3.1"
        )
    return Path(list(spec.submodule_search_locations)[0])


def resolve_annotation_path(name_or_path: str | Path) -> Path:
    """``grch37``/``grch38`` → the table inside the ``spliceai`` package; else a file path."""
    text = str(name_or_path)
    if text.lower() in PACKAGED_ANNOTATIONS:
        return spliceai_package_dir() / "annotations" / f"{text.lower()}.txt"
    path = Path(text)
    if not path.is_file():
        raise UserError(
            f"Gene annotation {text!r} is neither 'grch37'/'grch38' nor an existing file. "
            "Set 'annotation' in the config to one of those names or to a table in SpliceAI's "
            "format (#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END)."
        )
    return path


def strip_chr(chrom: str) -> str:
    return chrom[3:] if chrom.startswith("chr") else chrom


def _parse_positions(cell: str, offset: int, path: Path, row: int, column: str) -> np.ndarray:
    try:
        return np.array([int(x) + offset for x in str(cell).split(",") if x != ""], dtype=np.int64)
    except ValueError:
        raise UserError(
            f"{path}: data row {row}: column {column} must be a comma-separated list of integers, "
            f"got {cell!r}. Fix the annotation table or use the packaged 'grch38'."
        ) from None


@dataclass
class GeneAnnotation:
    """Transcripts (one per gene in SpliceAI's tables) with vectorized position queries."""

    names: np.ndarray
    chroms: np.ndarray  # without 'chr'
    strands: np.ndarray
    tx_starts: np.ndarray  # 1-based
    tx_ends: np.ndarray  # 1-based inclusive
    exon_starts: list[np.ndarray]  # 1-based
    exon_ends: list[np.ndarray]
    source: str = ""

    @classmethod
    def load(cls, name_or_path: str | Path) -> "GeneAnnotation":
        path = resolve_annotation_path(name_or_path)
        try:
            df = pd.read_csv(path, sep="\t", dtype={"CHROM": str})
        except (OSError, pd.errors.ParserError) as exc:
            raise UserError(f"Cannot read gene annotation {path}: {exc}") from None
        missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
        if missing:
            raise UserError(
                f"Gene annotation {path} lacks column(s) {missing}; expected the header "
                f"{' '.join(REQUIRED_COLUMNS)} (tab-separated)."
            )
        exon_starts = [
            _parse_positions(c, 1, path, i + 1, "EXON_START") for i, c in enumerate(df["EXON_START"])
        ]
        exon_ends = [_parse_positions(c, 0, path, i + 1, "EXON_END") for i, c in enumerate(df["EXON_END"])]
        return cls(
            names=df["#NAME"].astype(str).to_numpy(),
            chroms=np.array([strip_chr(c) for c in df["CHROM"].astype(str)]),
            strands=df["STRAND"].astype(str).to_numpy(),
            tx_starts=df["TX_START"].to_numpy(np.int64) + 1,
            tx_ends=df["TX_END"].to_numpy(np.int64),
            exon_starts=exon_starts,
            exon_ends=exon_ends,
            source=str(path),
        )

    @cached_property
    def _by_chrom(self) -> dict[str, np.ndarray]:
        out: dict[str, list[int]] = {}
        for i, c in enumerate(self.chroms):
            out.setdefault(c, []).append(i)
        return {c: np.array(v, dtype=np.int64) for c, v in out.items()}

    def overlapping(self, chrom: str, pos: int) -> np.ndarray:
        """Indices of transcripts with tx_start <= pos <= tx_end (SpliceAI's rule), file order."""
        idx = self._by_chrom.get(strip_chr(chrom))
        if idx is None:
            return np.empty(0, dtype=np.int64)
        hit = (self.tx_starts[idx] <= pos) & (pos <= self.tx_ends[idx])
        return idx[hit]

    def overlapping_many(self, chroms, positions) -> list[np.ndarray]:
        """``overlapping`` for many variants; vectorized per contig."""
        chroms = np.asarray([strip_chr(str(c)) for c in chroms])
        positions = np.asarray(positions, dtype=np.int64)
        result: list[np.ndarray] = [np.empty(0, dtype=np.int64)] * len(positions)
        for chrom in np.unique(chroms):
            genes = self._by_chrom.get(chrom)
            rows = np.nonzero(chroms == chrom)[0]
            if genes is None:
                continue
            pos = positions[rows][:, None]
            hits = (self.tx_starts[genes][None, :] <= pos) & (pos <= self.tx_ends[genes][None, :])
            for r, h in zip(rows, hits):
                result[r] = genes[h]
        return result

    def boundaries(self, idx: int) -> np.ndarray:
        return np.union1d(self.exon_starts[idx], self.exon_ends[idx])

    def exon_boundary_distance(self, idx: int, pos: int) -> int:
        """Signed distance (boundary − pos) to the nearest exon boundary, as SpliceAI's
        ``get_pos_data`` (ties resolved like Python's ``min(..., key=abs)``)."""
        d = self.boundaries(idx) - pos
        return int(d[np.argmin(np.abs(d))])

    def is_exonic(self, idx: int, pos: int) -> bool:
        return bool(np.any((self.exon_starts[idx] <= pos) & (pos <= self.exon_ends[idx])))

    def nearest_site(self, idx: int, pos: int) -> str:
        """``acceptor`` or ``donor``: the kind of the nearest exon boundary on the gene's strand.

        On the + strand an exon start is entered from an intron (acceptor) and an exon end
        is left into one (donor); on the − strand it is the other way round.
        """
        starts, ends = self.exon_starts[idx], self.exon_ends[idx]
        d_start = np.min(np.abs(starts - pos)) if len(starts) else np.inf
        d_end = np.min(np.abs(ends - pos)) if len(ends) else np.inf
        at_start = d_start <= d_end
        plus = self.strands[idx] == "+"
        return "acceptor" if at_start == plus else "donor"

    def index_of(self, name: str) -> int | None:
        hits = np.nonzero(self.names == name)[0]
        return int(hits[0]) if len(hits) else None
