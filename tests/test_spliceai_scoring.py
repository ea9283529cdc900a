"""Delta scores: identical SpliceAI= strings to the original tool; fast engine == plain engine."""
from pathlib import Path

import numpy as np
import pysam
import pytest
import torch

from validsplice.io.annotation import GeneAnnotation
from validsplice.scoring.delta import (
    PlainEngine,
    Reference,
    VariantRecord,
    finalize,
    info_entries,
    prepare,
    score_records,
)
from validsplice.scoring.incremental import IncrementalEngine, make_clusters
from validsplice.scoring.weights import load_ensemble

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "tests" / "data" / "spliceai"
FASTA = ROOT / "resources" / "demo" / "chr2_1-2333275.fa.gz"


def read_vcf(path):
    return list(pysam.VariantFile(str(path)))


@pytest.fixture(scope="module")
def env():
    torch.set_num_threads(2)
    return Reference(str(FASTA)), GeneAnnotation.load("grch38"), load_ensemble()


@pytest.fixture(scope="module")
def records():
    return [VariantRecord(r.chrom, r.pos, r.ref, tuple(r.alts)) for r in read_vcf(DATA / "spliceai_cli_input.vcf")]


def expected(name):
    return [list(r.info["SpliceAI"]) if "SpliceAI" in r.info else [] for r in read_vcf(DATA / name)]


@pytest.fixture(scope="module")
def d50(env, records):
    """Engine outputs for -D 50, computed once and finalized with and without masking."""
    ref, ann, nets = env
    slots = prepare(records, ref, ann, 50)
    todo = [s for rec in slots for s in rec if s.task is not None]
    outputs = IncrementalEngine(nets, ref, batch_size=32).compute([s.task for s in todo])
    return slots, todo, outputs


@pytest.mark.parametrize("mask,name", [(False, "spliceai_cli_output.D50.M0.vcf"),
                                       (True, "spliceai_cli_output.D50.M1.vcf")])
def test_d50_strings_identical_to_original(d50, mask, name):
    slots, todo, outputs = d50
    for s, (y_ref, y_alt) in zip(todo, outputs):
        finalize(s, y_ref, y_alt, mask)
    got = [info_entries(rec) for rec in slots]
    want = expected(name)
    assert len(got) == 77
    assert sum(1 for w in want if w) > 60
    assert got == want


def test_one_pass_gives_both_mask_settings(d50):
    """finalize keeps the masked and unmasked DS of the same probabilities: scored once with -M 0,
    the masked values still reproduce the original tool's -M 1 output (and the unmasked its -M 0)."""
    slots, todo, outputs = d50
    for s, (y_ref, y_alt) in zip(todo, outputs):
        finalize(s, y_ref, y_alt, mask=False)
    fmt = "{}|{}|{:.2f}|{:.2f}|{:.2f}|{:.2f}|{}|{}|{}|{}"
    for values, name in (("ds_masked", "spliceai_cli_output.D50.M1.vcf"),
                         ("ds_unmasked", "spliceai_cli_output.D50.M0.vcf")):
        got = [[fmt.format(s.alt, s.gene, *getattr(s, values), *s.dp) if s.status == "scored" else s.text
                for s in rec if s.text] for rec in slots]
        assert got == expected(name)
    assert any((s.ds_masked != s.ds_unmasked).any() for s in todo)  # the mask changes some values here
    assert all(np.array_equal(s.ds, s.ds_unmasked) for s in todo)  # DS_* follow the mask setting


def test_d500_strings_identical_to_original(env, records):
    ref, ann, nets = env
    slots = score_records(records, ref, ann, IncrementalEngine(nets, ref, batch_size=32), distance=500)
    assert [info_entries(rec) for rec in slots] == expected("spliceai_cli_output.D500.M0.vcf")
    scored = [s for rec in slots for s in rec if s.status == "scored"]
    assert all(s.profile.shape == (1001, 2) for s in scored)


def _plain(nets, ref, tasks, valid=True):
    """Plain (cone) outputs on one op thread: two OpenMP threads on a shared 2-core runner spin on
    barriers and run ~10x slower; the results are the same."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return list(PlainEngine(nets, ref, valid=valid).run(tasks))
    finally:
        torch.set_num_threads(saved)


def test_incremental_indels_match_full_cone_both_strands(env, records):
    """Deletions and insertions on both strands take the incremental path (shifted reference
    activations right of the allele) and match a full cone pass over each alt window."""
    ref, ann, nets = env
    picked = [r for r in records if len(r.ref) != len(r.alts[0])]
    slots = prepare(picked, ref, ann, 50)
    tasks = [s.task for rec in slots for s in rec if s.task is not None]
    kinds = {(t.strand, len(t.ref) > len(t.alt)) for t in tasks}
    assert kinds == {("+", True), ("+", False), ("-", True), ("-", False)}
    assert max(len(t.ref) for t in tasks) >= 7 and max(len(t.alt) for t in tasks) >= 4
    one = nets[:1]
    full = IncrementalEngine(one, ref, share=False, incremental=False).compute(tasks)
    fast = IncrementalEngine(one, ref).compute(tasks)
    for t, (fr, fa), (gr, ga) in zip(tasks, full, fast):
        assert ga.shape == fa.shape == (101 - len(t.ref) + len(t.alt), 3)
        np.testing.assert_allclose(gr, fr, atol=1e-5, rtol=0)
        np.testing.assert_allclose(ga, fa, atol=1e-5, rtol=0)


def _pick(records):
    """SNVs on both strands (two in one cluster), a deletion and an insertion."""
    want = {("T", "A", 231193), ("A", "G", 277084), ("C", "T", 280237), ("AAG", "A", 277088),
            ("T", "TTA", 275136), ("T", "G", 275142)}
    return [r for r in records if (r.ref, r.alts[0], r.pos) in want]


def test_fast_engine_matches_plain_engine(env, records):
    ref, ann, nets = env
    picked = _pick(records)
    assert len(picked) == 6
    slots = prepare(picked, ref, ann, 50)
    tasks = [s.task for rec in slots for s in rec if s.task is not None]
    assert {t.strand for t in tasks} == {"+", "-"}
    assert any(len(c.members) > 1 for c in make_clusters(tasks))
    plain = _plain(nets, ref, tasks)  # cone == same: test_spliceai_network
    variants = {
        "cone only": IncrementalEngine(nets, ref, batch_size=1, share=False, incremental=False),
        "cone+share+incremental": IncrementalEngine(nets, ref, batch_size=4),
    }
    for name, engine in variants.items():
        got = engine.compute(tasks)
        for (pr, pa), (fr, fa) in zip(plain, got):
            assert fr.shape == pr.shape and fa.shape == pa.shape, name
            np.testing.assert_allclose(fr, pr, atol=1e-5, rtol=0, err_msg=name)
            np.testing.assert_allclose(fa, pa, atol=1e-5, rtol=0, err_msg=name)
        texts = []
        for outs in (plain, got):
            fresh = prepare(picked, ref, ann, 50)
            todo = [s for rec in fresh for s in rec if s.task is not None]
            for s, (a, b) in zip(todo, outs):
                finalize(s, a, b, False)
            texts.append([s.text for s in todo])
        assert texts[0] == texts[1], name


def test_extended_mode_no_gene_and_contig_end(env):
    ref, ann, nets = env
    near_end = 2_331_000  # inside MYT1L (tx_end 2,331,116), window runs past the fragment's end
    base_end = ref.text("chr2", near_end, near_end)
    no_gene_pos = 150_000
    assert len(ann.overlapping("chr2", no_gene_pos)) == 0
    base_ng = ref.text("chr2", no_gene_pos, no_gene_pos).upper()
    alt = lambda b: "A" if b.upper() != "A" else "C"  # noqa: E731
    recs = [VariantRecord("chr2", near_end, base_end.upper(), (alt(base_end),)),
            VariantRecord("chr2", no_gene_pos, base_ng, (alt(base_ng),))]
    default = prepare(recs, ref, ann, 50)
    assert [s.status for s in default[0]] == ["skipped: near contig end"]
    assert [s.status for s in default[1]] == ["skipped: no gene"]
    slots = prepare(recs, ref, ann, 50, extended=True)
    assert slots[0][0].flags == "contig_end" and slots[0][0].gene == "MYT1L"
    assert slots[1][0].flags == "no_gene" and slots[1][0].strand == "+"
    tasks = [s[0].task for s in slots]
    plain = _plain(nets, ref, tasks)
    fast = IncrementalEngine(nets, ref).compute(tasks)
    for (pr, pa), (fr, fa) in zip(plain, fast):
        np.testing.assert_allclose(fr, pr, atol=1e-5, rtol=0)
        np.testing.assert_allclose(fa, pa, atol=1e-5, rtol=0)


def test_skip_rules(env):
    ref, ann, _ = env
    recs = [VariantRecord("chr2", 231193, "G", ("A",)),  # ref mismatch (FASTA has T)
            VariantRecord("chr2", 231193, "T", ("<DEL>", "*")),
            VariantRecord("chr2", 231193, "T" + ref.text("chr2", 231194, 231293).upper(), ("T",)),
            VariantRecord("chr2", 231193, "TA", ("GC",)),
            VariantRecord("chrZ", 100, "A", ("C",))]
    recs[3].ref = ref.text("chr2", 231193, 231194).upper()
    slots = prepare(recs, ref, ann, 50)
    assert [s.status for s in slots[0]] == ["skipped: ref mismatch"]
    assert [s.status for s in slots[1]] == ["skipped: symbolic or missing alt"] * 2
    assert info_entries(slots[1]) == []
    assert [s.status for s in slots[2]] == ["skipped: ref too long"]
    assert info_entries(slots[3]) == ["GC|SH3YL1|.|.|.|.|.|.|.|."]
    assert [s.status for s in slots[4]] == ["skipped: no gene"]


def _indel(ref, pos, ref_len, alt_len):
    """An anchored deletion (ref_len > 1) or insertion (alt_len > 1) at ``pos`` with real bases."""
    bases = ref.text("chr2", pos, pos + ref_len - 1).upper()
    alt = bases[0] + ("ACGGT" * (alt_len // 5 + 1))[:alt_len - 1]
    return VariantRecord("chr2", pos, bases, (alt,))


@pytest.mark.parametrize("distance,shapes", [
    # deletions with REF 12..100 at D 50 crashed at the skip taps; REF > D+1 puts the minus-strand
    # allele left of the outputs and the plus-strand allele right of them
    (50, [(12, 1), (52, 1), (100, 1)]),
    # insertions of 552+ bases at D 50 read past the cached hidden activations (IndexError)
    (50, [(1, 552), (1, 1500)]),
    # REF ~300-460 crashed at D 500
    (500, [(302, 1), (1000, 1)]),
])
def test_long_indels_match_full_cone_both_strands(env, distance, shapes):
    """Regression: long deletions and insertions on a + gene (TPO) and a - gene (PXDN) run
    incrementally (no crash) and equal a full cone pass over each alt window."""
    ref, ann, nets = env
    recs = [_indel(ref, pos, r, a) for pos in (1_450_001, 1_700_001) for r, a in shapes]
    slots = prepare(recs, ref, ann, distance)
    tasks = [s.task for rec in slots for s in rec if s.task is not None]
    assert len(tasks) == len(recs) and {t.strand for t in tasks} == {"+", "-"}
    one = nets[:1]
    # default workers (the fixture's 2 threads): one op thread per job, as in production
    full = IncrementalEngine(one, ref, share=False, incremental=False).compute(tasks)
    fast = IncrementalEngine(one, ref).compute(tasks)
    for t, (fr, fa), (gr, ga) in zip(tasks, full, fast):
        assert ga.shape == fa.shape == (2 * distance + 1 - len(t.ref) + len(t.alt), 3)
        np.testing.assert_allclose(gr, fr, atol=1e-5, rtol=0)
        np.testing.assert_allclose(ga, fa, atol=1e-5, rtol=0)


def test_fast_engine_error_falls_back_to_plain_path(env, monkeypatch, caplog):
    """An error in one batch of alternates (injected) rescoring that batch's variants with the
    plain exact path: same numbers as the plain path, a WARNING naming the variant, the count in
    ``fallbacks``, the flag ``fallback``; the other variant keeps its fast result. If the plain
    path fails too, the variant is skipped with a reason, never given a partial score."""
    import validsplice.scoring.incremental as incremental

    ref, ann, nets = env
    one = nets[:1]
    snv_base = ref.text("chr2", 1_450_001, 1_450_001).upper()
    recs = [VariantRecord("chr2", 1_450_001, snv_base, ("A" if snv_base != "A" else "C",)),
            _indel(ref, 1_450_101, 5, 1)]  # same cluster, another batch
    tasks = [s.task for rec in prepare(recs, ref, ann, 50) for s in rec if s.task is not None]
    clean = IncrementalEngine(one, ref).compute(tasks)
    real = incremental.incremental_alt

    def failing(net, cache, base, alt_codes, v, ref_len, distance, cluster=None):
        if ref_len == 1:  # the SNV's batch
            raise RuntimeError("injected")
        return real(net, cache, base, alt_codes, v, ref_len, distance, cluster)

    monkeypatch.setattr(incremental, "incremental_alt", failing)
    engine = IncrementalEngine(one, ref)
    with caplog.at_level("WARNING", logger="validsplice.scoring.incremental"):
        got = engine.compute(tasks)
    assert engine.fallbacks == 1 and engine.last_fallbacks == [0] and engine.errors == 0
    name = f"chr2:1450001 {recs[0].ref}>{recs[0].alts[0]}"
    assert any(name in r.getMessage() and "injected" in r.getMessage() and r.levelname == "WARNING"
               for r in caplog.records)
    plain = _plain(one, ref, tasks[:1], valid=False)[0]  # full padded passes
    for a, b in zip(got[0], plain):
        np.testing.assert_array_equal(a, b)  # it is the plain path's output
    for a, b in zip(got[1], clean[1]):
        np.testing.assert_array_equal(a, b)
    slots = score_records(recs, ref, ann, IncrementalEngine(one, ref), 50)
    assert [s.flags for rec in slots for s in rec] == ["fallback", ""]
    assert all(s.status == "scored" for rec in slots for s in rec)

    # a whole cluster: the reference pass fails, every member falls back
    monkeypatch.setattr(incremental, "RefCache", lambda *a, **k: (_ for _ in ()).throw(MemoryError("injected")))
    engine = IncrementalEngine(one, ref)
    got = engine.compute(tasks)
    assert engine.fallbacks == 2 and sorted(engine.last_fallbacks) == [0, 1]
    for a, b in zip(got[1], _plain(one, ref, tasks[1:], valid=False)[0]):
        np.testing.assert_array_equal(a, b)

    # both paths fail: no score, a reason
    monkeypatch.setattr(PlainEngine, "run", lambda self, tasks: (_ for _ in ()).throw(ValueError("injected")))
    engine = IncrementalEngine(one, ref)
    slots = score_records(recs, ref, ann, engine, 50)
    assert engine.errors == 2
    assert [(s.status, s.text, s.ds) for rec in slots for s in rec] == [("skipped: scoring error", "", None)] * 2
