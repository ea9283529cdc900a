"""The workflow's own indexed reference (io.reference.stage_fasta): nothing written beside the user's FASTA."""
from __future__ import annotations

import gzip
import os
import random
import shutil
from pathlib import Path

import pysam
import pytest

from validsplice.common.errors import UserError
from validsplice.io.reference import index_problem, stage_fasta

CONTIGS = {name: "".join(random.Random(i).choice("ACGTN") for _ in range(length))
           for i, (name, length) in enumerate([("chr1", 5000), ("chr2", 123), ("chrM", 61)])}


def write_fasta(path: Path, line_width: int = 60, header_suffix: str = "") -> Path:
    text = "".join(f">{name}{header_suffix}\n" + "\n".join(seq[i:i + line_width] for i in range(0, len(seq), line_width))
                   + "\n" for name, seq in CONTIGS.items())
    if path.name.endswith(".gz"):
        with pysam.BGZFile(str(path), "wb") as out:
            out.write(text.encode())
    else:
        path.write_text(text)
    return path


def assert_reads_the_contigs(fasta: Path) -> None:
    with pysam.FastaFile(str(fasta)) as fa:
        assert {name: fa.fetch(name) for name in fa.references} == CONTIGS


@pytest.fixture
def inputs(tmp_path, read_only):
    folder = tmp_path / "shared"
    folder.mkdir()
    yield folder
    read_only.restore(folder)


@pytest.mark.parametrize("name", ["ref.fa", "ref.fa.gz"])
def test_a_valid_index_is_reused_and_the_input_folder_is_untouched(inputs, tmp_path, name, read_only):
    source = write_fasta(inputs / name)
    pysam.faidx(str(source))
    read_only.protect(inputs)
    before = read_only.state(inputs)
    dest = tmp_path / "results/reference" / name
    stage_fasta(source, dest)
    assert read_only.state(inputs) == before
    assert dest.is_symlink() and os.readlink(dest) == str(source.resolve())
    for suffix in [".fai", ".gzi"] if name.endswith(".gz") else [".fai"]:
        assert Path(f"{dest}{suffix}").read_bytes() == Path(f"{source}{suffix}").read_bytes()
    assert_reads_the_contigs(dest)


@pytest.mark.parametrize("name", ["ref.fa", "ref.fa.gz"])
def test_without_an_index_one_is_built_beside_the_link(inputs, tmp_path, name, read_only):
    source = write_fasta(inputs / name)
    read_only.protect(inputs)
    before = read_only.state(inputs)
    dest = tmp_path / "results/reference" / name
    stage_fasta(source, dest)
    assert read_only.state(inputs) == before
    assert dest.is_symlink() and Path(f"{dest}.fai").is_file()
    assert Path(f"{dest}.gzi").is_file() == name.endswith(".gz")
    assert_reads_the_contigs(dest)


@pytest.mark.parametrize("name", ["ref.fa", "ref.fa.gz"])
def test_an_index_of_another_layout_is_not_used(inputs, tmp_path, name):
    """The FASTA rewritten after indexing (longer headers, other line width): the old index would
    read the wrong bytes, so a new one is built and the sequences read back exactly."""
    source = write_fasta(inputs / name)
    pysam.faidx(str(source))
    stale_index = Path(f"{source}.fai").read_bytes()
    write_fasta(source, line_width=70, header_suffix=" assembled")
    assert index_problem(source) is not None and "does not match" in index_problem(source)
    dest = tmp_path / "results/reference" / name
    stage_fasta(source, dest)
    assert Path(f"{source}.fai").read_bytes() == stale_index  # left as it was
    assert Path(f"{dest}.fai").read_bytes() != stale_index
    assert_reads_the_contigs(dest)


def test_plain_gzip_becomes_a_bgzipped_copy(inputs, tmp_path, read_only):
    plain = write_fasta(inputs / "ref.fa")
    source = inputs / "ref.fa.gz"
    with open(plain, "rb") as src, gzip.open(source, "wb") as out:
        shutil.copyfileobj(src, out)
    plain.unlink()
    read_only.protect(inputs)
    before = read_only.state(inputs)
    dest = tmp_path / "results/reference/ref.fa.gz"
    stage_fasta(source, dest)
    assert read_only.state(inputs) == before
    assert not dest.is_symlink() and Path(f"{dest}.gzi").is_file()
    assert_reads_the_contigs(dest)


def test_restaging_replaces_the_previous_link_and_index(inputs, tmp_path):
    source = write_fasta(inputs / "ref.fa.gz")
    dest = tmp_path / "results/reference/ref.fa.gz"
    stage_fasta(source, dest)
    stage_fasta(source, dest)  # a rerun over existing outputs
    assert_reads_the_contigs(dest)


def test_a_compressed_fasta_without_gz_name_is_a_clear_error(inputs, tmp_path):
    source = write_fasta(inputs / "ref.fa.gz")
    renamed = source.rename(inputs / "ref.fa")
    with pytest.raises(UserError, match=r"name it ref.fa.gz"):
        stage_fasta(renamed, tmp_path / "results/reference/ref.fa")


def test_a_missing_fasta_is_a_clear_error(tmp_path):
    with pytest.raises(UserError, match="reference.fasta"):
        stage_fasta(tmp_path / "nowhere.fa", tmp_path / "results/reference/nowhere.fa")
