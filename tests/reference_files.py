"""Small on-disk references for tests: an indexed one-contig FASTA and a SpliceAI-style gene table;
read-only input folders and their state."""
from __future__ import annotations

import hashlib
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


def folder_state(folder: Path) -> list[tuple]:
    """Every entry's name, size, mtime and content digest: root ignores permission bits, so a
    read-only folder is checked by what is in it, not by the error a write would raise."""
    state = []
    for path in sorted(folder.rglob("*")):
        st = path.lstat()
        digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
        state.append((str(path.relative_to(folder)), st.st_size, st.st_mtime_ns, digest))
    return state


def make_read_only(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode & ~0o222)


def restore_writable(folder: Path) -> None:
    for path in [folder, *folder.rglob("*")]:
        path.chmod(path.stat().st_mode | 0o200)
