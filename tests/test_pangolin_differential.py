"""The fast Pangolin engine (cone cropping, shared references, incremental alternates) against the
plain path (full zero-padded passes per window, the original's computation): same tracks to float
rounding and the same Pangolin= strings, for SNVs, insertions, deletions (anchored or not) and MNVs
on both strands, windows that share a reference, two distances, and no fallbacks."""
from pathlib import Path

import numpy as np
import pytest

from validsplice.io.annotation import GeneAnnotation
from validsplice.scoring.delta import Reference
from validsplice.scoring.pangolin.engine import PangolinEngine
from validsplice.scoring.pangolin.network import load_pangolin_folder
from validsplice.scoring.pangolin.score import PangolinSettings, PlainPangolinEngine, score_records

FASTA = Path(__file__).resolve().parents[1] / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def _cases(reference: Reference):
    """(chrom, pos, ref, alt): near exon boundaries of ACP1 (+), SH3YL1 (-) and PXDN (-)."""
    rng = np.random.default_rng(7)
    out = []
    for centre in (272192, 224865):  # exon boundaries (+, -)
        for offset in sorted(rng.choice(np.arange(-40, 40), 4, replace=False)):
            pos = int(centre + offset)
            base = reference.text("chr2", pos, pos + 7)
            kind = len(out) % 5
            if kind == 0:
                out.append(("chr2", pos, base[0], "ACGT"[("ACGT".index(base[0].upper()) + 1) % 4]))
            elif kind == 1:
                out.append(("chr2", pos, base[0], base[0] + "GT"))
            elif kind == 2:
                out.append(("chr2", pos, base[:6], base[0]))
            elif kind == 3:
                out.append(("chr2", pos, base[:2], "TA" if base[:2].upper() != "TA" else "GC"))
            else:
                out.append(("chr2", pos, base[:4], "C" if base[0].upper() != "C" else "G"))  # not anchored
    return [(c, p, r.upper(), a) for c, p, r, a in out]


@pytest.fixture(scope="module")
def setup(tmp_path_factory, pangolin_model_dir):
    # one distinct network under all twelve names keeps the plain path cheap
    nets = load_pangolin_folder(pangolin_model_dir(tmp_path_factory.mktemp("one_net"), "final.1.0.3.v2"))
    reference = Reference(str(FASTA))
    annotation = GeneAnnotation(
        names=np.array(["ACP1", "SH3YL1", "PXDN"]), chroms=np.array(["2"] * 3), strands=np.array(["+", "-", "-"]),
        tx_starts=np.array([264869, 218153, 1631887]), tx_ends=np.array([278283, 264179, 1744506]),
        exon_starts=[np.array([271866, 272192]), np.array([224864, 229966]), np.array([1643368, 1644618])],
        exon_ends=[np.array([271939, 272305]), np.array([224920, 230044]), np.array([1643596, 1644726])])
    return nets, reference, annotation


@pytest.mark.parametrize("distance", [50, pytest.param(10, marks=pytest.mark.slow)])
def test_fast_engine_matches_plain_path(setup, distance):
    nets, reference, annotation = setup
    records = _cases(reference)
    settings = PangolinSettings(distance=distance, mask=False)
    fast = PangolinEngine(nets, reference, batch_size=3)  # small batches: several per group
    got = score_records(records, reference, annotation, fast, settings)
    want = score_records(records, reference, annotation, PlainPangolinEngine(nets, reference), settings)
    assert fast.fallbacks == 0 and fast.errors == 0
    scored = [k for k, w in enumerate(want) if w.status == "scored"]
    assert len(scored) == len(records)
    kinds = {(len(records[k][2]) > 1, len(records[k][3]) > 1) for k in scored}
    assert kinds == {(False, False), (False, True), (True, False), (True, True)}
    assert {s for k in scored for s in want[k].tasks} == {"+", "-"}
    worst = 0.0
    for k in scored:
        assert got[k].entries == want[k].entries, records[k]
        for strand in want[k].loss:
            worst = max(worst, np.abs(got[k].loss[strand] - want[k].loss[strand]).max(),
                        np.abs(got[k].gain[strand] - want[k].gain[strand]).max())
    assert worst < 1e-5
    assert max(abs(float(v.split(":")[1])) for k in scored for e in want[k].entries
               for v in e.split("|")[1:3]) > 0.05  # real effects among the cases


def test_window_cut_at_the_contig_end_is_scored_over_what_is_left(setup):
    """Near the contig end the original's FASTA library returns a shorter window and Pangolin scores
    the positions left; the engines send such windows through the plain path."""
    nets, reference, _ = setup
    length = reference.lengths["chr2"]
    pos = length - 5000 - 20  # the window would end at pos + 5,000 + 50: 30 bases past the end
    annotation = GeneAnnotation(names=np.array(["TAIL"]), chroms=np.array(["2"]), strands=np.array(["-"]),
                                tx_starts=np.array([length - 9000]), tx_ends=np.array([length]),
                                exon_starts=[np.array([length - 8000])], exon_ends=[np.array([length - 7000])])
    ref = reference.text("chr2", pos, pos).upper()
    alt = "A" if ref != "A" else "C"
    res = score_records([("chr2", pos, ref, alt)], reference, annotation, PangolinEngine(nets, reference),
                        PangolinSettings(distance=50, mask=False))[0]
    assert res.status == "scored" and res.tasks["-"].truncated
    assert len(res.loss["-"]) == 2 * 50 + 1 - 30
