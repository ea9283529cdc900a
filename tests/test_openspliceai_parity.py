"""Parity with the original ``openspliceai variant`` (PyPI openspliceai 0.0.7, ``-f 10000 -t pytorch``).

``tests/data/openspliceai/`` holds the original tool's outputs (source line and commands in its README) for
the SpliceAI parity VCF and the long-indel VCF of ``tests/data/spliceai/``:

- ``rs10.*.vcf``: with the one real OpenSpliceAI-MANE checkpoint committed as the CI fixture
  (``mane_rs10/model_10000nt_rs10.pt``, GPL-3.0, README beside it), so CI checks parity without a download;
- ``mane.*.vcf``: with all five OpenSpliceAI-MANE checkpoints (rs10..rs14), checked when
  ``VALIDSPLICE_OPENSPLICEAI_MANE`` names a folder holding them (their SHA-256s are checked first).

``python -m validsplice score --model openspliceai`` must write the same ``OpenSpliceAI=`` strings, record by
record, and the original's header line.
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pysam
import pytest

from validsplice.__main__ import main
from validsplice.scoring.vcf_stream import OPENSPLICEAI_HEADER_LINE

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "openspliceai"
INPUTS = {"parity": ROOT / "tests" / "data" / "spliceai" / "spliceai_cli_input.vcf",
          "long_indels": ROOT / "tests" / "data" / "spliceai" / "long_indels_input.vcf"}
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"
FIXTURE = DATA / "mane_rs10"
# SHA-256 of the released OpenSpliceAI-MANE checkpoints (models/openspliceai-mane/10000nt/ in
# Kuanhao-Chao/OpenSpliceAI, commit 394109aad9d7a60c5139d3262b1e8ced2bd81209)
MANE_SHA256 = {
    "model_10000nt_rs10.pt": "7b0d6af6239e27392226bbada310ee9e2ce0ced149fb6fdff8996c12cba3cc85",
    "model_10000nt_rs11.pt": "38fe4469eff09ffe5caa291bc224248c81ed68acca0b729afb87450909a8130e",
    "model_10000nt_rs12.pt": "49f38e3fd0e87b81ce22d986d1168eb9b2c55668bfd6aaa064da1082ee668667",
    "model_10000nt_rs13.pt": "bae2756b452f31d45b74604816561da79284d791be37f467491a68342c819b20",
    "model_10000nt_rs14.pt": "cfe2741311ed02dab3042492a5be14029b18d63be693751e9534315a9e4c6271",
}
MANE_ENV = "VALIDSPLICE_OPENSPLICEAI_MANE"


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def read(path: Path, key: str = "OpenSpliceAI"):
    """(chrom, pos, ref, alts, entries under ``key``) per record."""
    with pysam.VariantFile(str(path)) as vcf:
        return [(r.chrom, r.pos, r.ref, tuple(r.alts or ()), list(r.info[key]) if key in r.info else [])
                for r in vcf]


def header_lines(path: Path) -> list[str]:
    with open(path) as handle:
        return [line.rstrip("\n") for line in handle if line.startswith("##")]


def references(weights: str) -> list[tuple[str, str, int, int]]:
    """(file name, input, D, M) of every committed reference output for ``weights`` (rs10 or mane)."""
    found = []
    for path in sorted(DATA.glob(f"{weights}.*.vcf")):
        _, vcf, d, m, _ = path.name.split(".")
        found.append((path.name, vcf, int(d[1:]), int(m[1:])))
    return found


def score(tmp_path: Path, model_dir: Path, vcf: str, distance: int, mask: int, *extra: str) -> Path:
    out = tmp_path / "out.vcf"
    rc = main(["score", "-I", str(INPUTS[vcf]), "-O", str(out), "-R", str(FASTA), "-A", "grch38",
               "-D", str(distance), "-M", str(mask), "--model", "openspliceai", "--model-dir", str(model_dir),
               "--device", "cpu", "--threads", "2", *extra])
    assert rc == 0
    return out


def mismatches(got, want) -> list[str]:
    assert [g[:4] for g in got] == [w[:4] for w in want]
    return [f"{w[0]}:{w[1]} {w[2][:12]}>{','.join(w[3])[:12]}: got {g[4]}, original {w[4]}"
            for g, w in zip(got, want) if g[4] != w[4]]


def test_fixture_is_the_released_checkpoint():
    """The committed fixture is the unmodified rs10 checkpoint, and the only .pt in its folder."""
    assert [p.name for p in FIXTURE.glob("*.pt")] == ["model_10000nt_rs10.pt"]
    assert sha256(FIXTURE / "model_10000nt_rs10.pt") == MANE_SHA256["model_10000nt_rs10.pt"]
    assert "GPL-3.0" in (FIXTURE / "README.md").read_text()


def test_reference_outputs_belong_to_the_inputs():
    """Each committed output holds the input's records, in order, with the original's header line; the
    fixture's cover both inputs at D 50, M 0 and M 1, with enough scores far from zero that the comparison
    means something."""
    assert {(vcf, d, m) for _, vcf, d, m in references("rs10")} >= {
        ("parity", 50, 0), ("parity", 50, 1), ("long_indels", 50, 0), ("long_indels", 50, 1)}
    for name, vcf, _, _ in references("rs10") + references("mane"):
        got, want = read(DATA / name), read(INPUTS[vcf], key="SpliceAI")
        assert [g[:4] for g in got] == [w[:4] for w in want], name
        assert OPENSPLICEAI_HEADER_LINE in header_lines(DATA / name), name
    parity = read(DATA / "rs10.parity.D50.M0.vcf")
    values = [float(x) for r in parity for e in r[4] for x in e.split("|")[2:6] if x != "."]
    assert sum(r[4] != [] for r in parity) >= 70 and sum(v >= 0.2 for v in values) >= 10


@pytest.mark.parametrize("name, vcf, distance, mask", references("rs10"))
def test_cli_matches_original_with_the_fixture(tmp_path, name, vcf, distance, mask):
    """The committed real checkpoint: identical OpenSpliceAI= strings and header line (no download)."""
    out = score(tmp_path, FIXTURE, vcf, distance, mask)
    diff = mismatches(read(out), read(DATA / name))
    assert not diff, "\n".join(diff)
    assert OPENSPLICEAI_HEADER_LINE in header_lines(out)


def mane_folder() -> Path:
    folder = Path(os.environ.get(MANE_ENV, ""))
    if not os.environ.get(MANE_ENV) or not folder.is_dir():
        pytest.skip(f"set {MANE_ENV} to a folder of the five OpenSpliceAI-MANE 10,000 nt checkpoints")
    found = {p.name: sha256(p) for p in folder.glob("*.pt")}
    assert found == MANE_SHA256, f"{folder} must hold exactly the five released checkpoints"
    return folder


@pytest.mark.parametrize("name, vcf, distance, mask", references("mane"))
def test_cli_matches_original_with_all_five_checkpoints(tmp_path, name, vcf, distance, mask):
    out = score(tmp_path, mane_folder(), vcf, distance, mask)
    diff = mismatches(read(out), read(DATA / name))
    assert not diff, "\n".join(diff)


def test_info_key_switches_back_to_spliceai(tmp_path):
    """``--info-key SpliceAI``: the same strings under SpliceAI=, with SpliceAI's header line only
    (on the first 20 parity records, enough for every kind of record and entry)."""
    from validsplice.scoring.vcf_stream import HEADER_LINE

    subset = tmp_path / "subset.vcf"
    with pysam.VariantFile(str(INPUTS["parity"])) as src, pysam.VariantFile(str(subset), "w", header=src.header) as dst:
        for _, rec in zip(range(20), src):
            dst.write(rec)
    out = tmp_path / "out.vcf"
    assert main(["score", "-I", str(subset), "-O", str(out), "-R", str(FASTA), "-A", "grch38", "--model",
                 "openspliceai", "--model-dir", str(FIXTURE), "--info-key", "SpliceAI", "--device", "cpu",
                 "--threads", "2"]) == 0
    lines = header_lines(out)
    assert HEADER_LINE in lines and OPENSPLICEAI_HEADER_LINE not in lines
    assert not [r for r in read(out) if r[4]]  # nothing under OpenSpliceAI=
    got, want = read(out, key="SpliceAI"), read(DATA / "rs10.parity.D50.M0.vcf")[:20]
    assert sum(bool(r[4]) for r in want) >= 15 and not mismatches(got, want)
