"""Small on-disk references for tests: an indexed one-contig FASTA and a SpliceAI-style gene table."""
from __future__ import annotations

from pathlib import Path

import pysam


def write_reference(folder: Path, sequence: str, annotation: str | None = None,
                    contig: str = "chr1") -> tuple[Path, Path | None]:
    """``folder/ref.fa`` (60 bases a line, faidx-indexed) and, given its text, ``folder/genes.txt``."""
    fasta = folder / "ref.fa"
    fasta.write_text(f">{contig}\n" + "\n".join(sequence[i:i + 60] for i in range(0, len(sequence), 60)) + "\n")
    pysam.faidx(str(fasta))
    genes = None
    if annotation is not None:
        genes = folder / "genes.txt"
        genes.write_text(annotation)
    return fasta, genes
