"""Parity with the original ``pangolin`` command (tkzeng/Pangolin; source line, versions and commands in
tests/data/pangolin/README.md), on the committed weights fixture.

``tests/data/pangolin/original_fixture/`` holds the original's outputs for the SpliceAI parity VCF
(77 records: SNVs, insertions, deletions, both strands, some outside genes) and the long-indel VCF
(47 records), at ``-d 50`` and ``-d 500``, ``-m True`` and ``-m False``, run with a models folder in which
replicate 1 of each tissue model stands in for replicates 2 and 3 (conftest's ``pangolin_model_dir``), against
the upper-cased demo FASTA and the annotation db built from ``grch38_chr2_fragment.gtf``; and
``parity_softmasked.*``: the same VCF against the soft-masked FASTA as stored, where the original skips
variants in lower-case sequence. Ours must write identical ``Pangolin=`` strings, record by record, and
the same skip warnings. The CLI runs end to end for the default settings; the other settings reuse its
network outputs through the library (the networks' inputs do not depend on -m or the FASTA's case).
"""
import logging
import re
from pathlib import Path

import numpy as np
import pytest

from validsplice.__main__ import main
from validsplice.io.annotation import GeneAnnotation
from validsplice.scoring.delta import Reference
from validsplice.scoring.pangolin.engine import PangolinEngine
from validsplice.scoring.pangolin.network import load_pangolin_folder
from validsplice.scoring.pangolin.score import PangolinSettings, score_records

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "pangolin"
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"
ORIGINAL = DATA / "original_fixture"
INPUTS = {"parity": ROOT / "tests" / "data" / "spliceai" / "spliceai_cli_input.vcf",
          "long_indels": ROOT / "tests" / "data" / "spliceai" / "long_indels_input.vcf",
          "parity_softmasked": ROOT / "tests" / "data" / "spliceai" / "spliceai_cli_input.vcf"}
SETTINGS = [("parity", 50, True), ("parity", 50, False), ("long_indels", 50, True), ("long_indels", 50, False),
            ("parity", 500, True), ("parity", 500, False), ("long_indels", 500, True), ("long_indels", 500, False),
            ("parity_softmasked", 50, True), ("parity_softmasked", 50, False)]
SLOW = {("parity", 500), ("long_indels", 500)}  # as much network work again as the default run


def read_vcf(path: Path) -> list[tuple[int, str, str, str]]:
    """(pos, ref, first alt, Pangolin value or '') per record, from the VCF text."""
    out = []
    for line in path.read_text().splitlines():
        if line.startswith("#"):
            continue
        f = line.split("\t")
        value = next((x[len("Pangolin="):] for x in f[7].split(";") if x.startswith("Pangolin=")), "")
        out.append((int(f[1]), f[3], f[4].split(",")[0], value))
    return out


def original_warnings(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.startswith("[Line ")]


def reference_name(name: str, distance: int, mask: bool) -> Path:
    return ORIGINAL / f"{name}.D{distance}.m{mask}.vcf"


def mismatches(got: list, want: list) -> list[str]:
    assert [g[:3] for g in got] == [w[:3] for w in want]
    return [f"{w[0]} {w[1]}>{w[2]}: got {g[3]!r}, original {w[3]!r}" for g, w in zip(got, want) if g[3] != w[3]]


def test_reference_outputs_cover_the_shapes():
    """The committed outputs belong to the inputs and hold what the comparison needs."""
    for name, distance, mask in SETTINGS:
        out = read_vcf(reference_name(name, distance, mask))
        assert [r[:3] for r in out] == [r[:3] for r in read_vcf(INPUTS[name])], (name, distance, mask)
    d50 = read_vcf(reference_name("parity", 50, True))
    scored = [r for r in d50 if r[3]]
    assert len(scored) >= 60
    assert {(len(r[1]) > 1, len(r[2]) > 1) for r in scored} == {(False, False), (True, False), (False, True)}
    genes = {e.split("|")[0] for r in scored for e in r[3].split(",")}
    assert {"ACP1", "TPO", "SH3YL1", "PXDN"} <= genes  # both strands
    assert sum(1 for r in scored if max(abs(float(v.split(":")[1])) for v in r[3].split("|")[1:3]) >= 0.2) >= 10
    warnings = " ".join(original_warnings(ORIGINAL / "long_indels.D50.mTrue.log"))
    assert "Deletion too large" in warnings and "Variant format not supported" in warnings
    assert "Mismatch between FASTA" in " ".join(original_warnings(ORIGINAL / "parity_softmasked.D50.mTrue.log"))
    soft = read_vcf(reference_name("parity_softmasked", 50, True))
    assert 0 < sum(1 for r in soft if r[3]) < len(scored)
    # -m False differs from -m True somewhere, and -d 500 from -d 50
    assert read_vcf(reference_name("parity", 50, False)) != d50
    assert read_vcf(reference_name("parity", 500, True)) != d50


@pytest.mark.parametrize("name", ["parity", "long_indels"])
def test_cli_matches_original(tmp_path, caplog, pangolin_model_dir, name):
    """``python -m validsplice score --model pangolin`` with the original's default flags: identical
    ``Pangolin=`` strings and the same skip warnings, line numbers included."""
    models = pangolin_model_dir(tmp_path / "models")
    out = tmp_path / "out.vcf"
    with caplog.at_level(logging.WARNING):
        rc = main(["score", "--model", "pangolin", "--model-dir", str(models), "-I", str(INPUTS[name]), "-O", str(out),
                   "-R", str(FASTA), "-A", "grch38", "-d", "50", "--threads", "2", "--device", "cpu"])
    assert rc == 0
    diff = mismatches(read_vcf(out), read_vcf(reference_name(name, 50, True)))
    assert not diff, "\n".join(diff)
    ours = [r.getMessage() for r in caplog.records if r.getMessage().startswith("[Line ")]
    assert ours == original_warnings(ORIGINAL / f"{name}.D50.mTrue.log")
    assert '##INFO=<ID=Pangolin,Number=.,Type=String,Description="Pangolin splice scores.' in out.read_text()


class MemoEngine:
    """One fast engine whose outputs are kept per window, shared by the settings' runs."""

    def __init__(self, engine):
        self.engine, self.memo = engine, {}

    def run(self, tasks):
        keys = [(t.contig, t.pos, t.ref, t.alt, t.strand, t.distance, t.end) for t in tasks]
        todo = {k: t for k, t in zip(keys, tasks) if k not in self.memo}
        for k, out in zip(todo, self.engine.run(list(todo.values()))):
            self.memo[k] = out
        return [self.memo[k] for k in keys]


@pytest.fixture(scope="module")
def library(tmp_path_factory, pangolin_model_dir):
    nets = load_pangolin_folder(pangolin_model_dir(tmp_path_factory.mktemp("models")))
    reference = Reference(str(FASTA))
    return reference, GeneAnnotation.load("grch38"), MemoEngine(PangolinEngine(nets, reference))


def score_file(library, name, distance, mask, **extra):
    reference, annotation, engine = library
    records = [(r[0], r[1], r[2]) for r in read_vcf(INPUTS[name])]
    results = score_records([("chr2", p, ref, alt) for p, ref, alt in records], reference, annotation, engine,
                            PangolinSettings(distance=distance, mask=mask,
                                             case_sensitive=name.endswith("softmasked"), **extra))
    return [(p, ref, alt, ",".join(res.entries)) for (p, ref, alt), res in zip(records, results)], results


@pytest.mark.parametrize("name,distance,mask", [
    pytest.param(*s, marks=pytest.mark.slow) if s[:2] in SLOW else s for s in SETTINGS])
def test_library_matches_original(library, name, distance, mask):
    got, _ = score_file(library, name, distance, mask)
    diff = mismatches(got, read_vcf(reference_name(name, distance, mask)))
    assert not diff, "\n".join(diff)


def short_style(value: str) -> str:
    """What numpy < 2 prints for the same number (see score.py): the shortest repr of the scalar's own
    type. A float32 value is exactly representable in float32; the float64 values (deletions) never are
    unless they are the same in both styles."""
    def one(match):
        v = float(match.group(2))
        return match.group(1) + (str(np.float32(v)) if float(np.float32(v)) == v else repr(v))
    return re.sub(r"(-?\d+:)(-?[0-9.e-]+)", one, value)


def test_short_float_style(library):
    got, _ = score_file(library, "parity", 50, True, float_style="short")
    want = [(p, r, a, short_style(v)) for p, r, a, v in read_vcf(reference_name("parity", 50, True))]
    diff = mismatches(got, want)
    assert not diff, "\n".join(diff)
    assert any(re.search(r":-?0\.\d\d?\|", v) for *_, v in got)  # short numbers appear
