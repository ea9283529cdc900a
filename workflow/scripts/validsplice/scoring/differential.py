"""Differential check: the fast engine against the plain exact path on seeded random variants.

The fast engine (``incremental.IncrementalEngine``: cone cropping, shared references, incremental alternates)
has index arithmetic that depends on the variant's shape, strand, D and position (allele left or
right of the outputs, long alleles, N padding). Hand-picked tests missed whole classes of shapes
(long deletions and insertions crashed), so this module draws variants of every shape and compares
the two engines on the same tasks:

- shapes: SNVs, MNVs (skipped by the original's rule: the skip itself is compared), deletions
  anchored and non-anchored, insertions anchored and non-anchored;
- places: inside a gene, within 5,000 + D bases of a transcript start or end (N padding), near
  the contig end (extended mode; a minus-strand gene or no gene);
- both strands, any D, masking 0 and 1.

Compared per task: shapes and probabilities of ref and alt (max absolute difference), then per
mask the four delta scores (absolute difference) and positions (exact, except where the plain
path's own deltas tie within the tolerance). Used by tests/test_spliceai_differential.py (a seeded
CI sample) and bench/bench_differential.py (the full sweep).
"""
from __future__ import annotations

import copy
from collections import Counter
from dataclasses import dataclass, field

import numpy as np
import torch

from ..io.annotation import GeneAnnotation, strip_chr
from .delta import PlainEngine, Reference, VariantRecord, finalize, prepare
from .incremental import IncrementalEngine

PLACES = ("gene", "tx_start", "tx_end", "contig_end")
BASES = "ACGT"
REACH = 5_000  # half the network's context: how far N padding reaches into a window


@dataclass
class Case:
    record: VariantRecord
    shape: str
    place: str
    strand: str  # the strand asked for ("+" near the contig end means: no gene)
    size: int  # REF length (snv, mnv, del) or inserted bases (ins)
    anchored: bool = True

    def describe(self) -> str:
        r = self.record
        return f"{self.shape} {self.size} {self.place} {self.strand} {r.chrom}:{r.pos} {r.ref[:12]}>{r.alts[0][:12]}"


def _other_base(rng: np.random.Generator, base: str) -> str:
    return rng.choice([b for b in BASES if b != base.upper()])


def _random_bases(rng: np.random.Generator, n: int) -> str:
    return "".join(rng.choice(list(BASES), size=n))


def make_case(rng: np.random.Generator, reference: Reference, annotation: GeneAnnotation, contig: str,
              shape: str, size: int, place: str, strand: str, anchored: bool = True) -> Case:
    """One variant of ``shape`` (REF length or inserted bases ``size``) at ``place`` on ``strand``."""
    n = reference.lengths[contig]
    ref_len = size if shape in ("mnv", "del") else 1
    genes = [i for i in np.nonzero(annotation.chroms == strip_chr(contig))[0]
             if annotation.strands[i] == strand and annotation.tx_ends[i] <= n]
    for _ in range(10_000):
        if place == "contig_end":
            # windows reach past the end for every D; "+" there means the gene-free tail
            pos = int(rng.integers(n - REACH + 10, n - ref_len + 2))
            hits = annotation.overlapping(contig, pos)
            ok = (len(hits) == 0) if strand == "+" else any(annotation.strands[i] == strand for i in hits)
        else:
            g = int(rng.choice(genes))
            lo, hi = int(annotation.tx_starts[g]), int(annotation.tx_ends[g])
            if place == "gene":
                pos = int(rng.integers(lo, hi - ref_len + 2))
            elif place == "tx_start":
                pos = lo + int(rng.integers(0, REACH + 100))
            else:
                pos = hi - ref_len + 1 - int(rng.integers(0, REACH + 100))
            ok = lo <= pos <= hi
        if ok and "N" not in reference.text(contig, pos, pos + ref_len - 1).upper():
            break
    else:
        raise RuntimeError(f"no position found for {shape} at {place} on {strand}")
    ref = reference.text(contig, pos, pos + ref_len - 1).upper()
    if shape == "snv":
        alt = _other_base(rng, ref)
    elif shape == "mnv":
        alt = "".join(_other_base(rng, b) for b in ref)
    elif shape == "del":
        alt = ref[0] if anchored else _other_base(rng, ref[0])
    else:
        alt = (ref if anchored else _other_base(rng, ref)) + _random_bases(rng, size)
    return Case(VariantRecord(contig, pos, ref, (alt,)), shape, place, strand, size, anchored)


def plan(rng: np.random.Generator, distance: int, full: bool) -> list[tuple[str, int, str, str, bool]]:
    """(shape, size, place, strand, anchored) to draw for one D.

    ``full``: every deletion REF length from 2 to 2D+2 (every 10th beyond 120, plus the edges
    D, D+1, D+2, 2D, 2D+1, 2D+2), insertions of 1..10,000 bases on a log grid, every place.
    Otherwise a seeded sample with the same strata: per strand a REF length left and right of the
    D+1 boundary (the allele sits left or right of the outputs), 2D+1 (skipped), a short and a long
    insertion, SNVs and an MNV at random places, and each shape near the contig end.
    """
    D = distance
    out = []
    places = [p for p in PLACES if p != "contig_end"]
    pick = lambda: str(rng.choice(places))  # noqa: E731
    for strand in ("+", "-"):
        if full:
            dels = sorted(set(range(2, min(2 * D + 3, 121))) | set(range(120, 2 * D + 3, 10))
                          | {x for x in (D, D + 1, D + 2, 2 * D, 2 * D + 1, 2 * D + 2) if x >= 2})
            ins = sorted({1, 2, 3, 5, 10, 30, 100, 300, 551, 552, 1000, 3000, 5000, 10_000})
            out += [("snv", 1, p, strand, True) for p in places for _ in range(2)]
            out += [("mnv", k, pick(), strand, True) for k in (2, 3)]
            out += [("del", k, pick(), strand, bool(rng.random() < 0.75)) for k in dels]
            out += [("ins", k, pick(), strand, bool(rng.random() < 0.75)) for k in ins]
            out += [(s, k, "contig_end", strand, True) for s, k in (("snv", 1), ("del", 2), ("del", D + 2),
                                                                    ("ins", 40), ("ins", 1000))]
        else:
            out += [("snv", 1, pick(), strand, True), ("snv", 1, pick(), strand, True),
                    ("mnv", 2, pick(), strand, True)]
            if D >= 1:
                out += [("del", int(rng.integers(2, D + 2)), pick(), strand, True),
                        ("del", int(rng.integers(D + 2, 2 * D + 1)), pick(), strand, bool(rng.random() < 0.5))]
            out += [("del", 2 * D + 1 if D else 2, pick(), strand, True),
                    ("ins", int(rng.integers(1, 60)), pick(), strand, bool(rng.random() < 0.5)),
                    ("ins", int(rng.integers(552, 3000)), pick(), strand, True)]
            if D == 50:
                out += [("snv", 1, "contig_end", strand, True), ("del", int(rng.integers(2, 2 * D + 1)),
                        "contig_end", strand, True), ("ins", int(rng.integers(1, 1000)), "contig_end", strand, True),
                        ("ins", 10_000, pick(), strand, True)]
    return out


@dataclass
class Report:
    cases: int = 0
    tasks: int = 0
    max_prob_diff: float = 0.0
    max_ds_diff: float = 0.0
    fallbacks: int = 0
    mismatches: list[str] = field(default_factory=list)
    covered: Counter = field(default_factory=Counter)  # (D, shape, strand, place) of scored tasks
    skipped: Counter = field(default_factory=Counter)  # status of skipped slots
    dp_ties: int = 0

    def add(self, other: "Report") -> None:
        self.cases += other.cases
        self.tasks += other.tasks
        self.max_prob_diff = max(self.max_prob_diff, other.max_prob_diff)
        self.max_ds_diff = max(self.max_ds_diff, other.max_ds_diff)
        self.fallbacks += other.fallbacks
        self.mismatches += other.mismatches
        self.covered.update(other.covered)
        self.skipped.update(other.skipped)
        self.dp_ties += other.dp_ties


def _deltas(slot) -> list[np.ndarray]:
    """The four delta arrays (gain/loss acceptor/donor) finalize takes the argmax of."""
    y = np.stack([slot.y_ref, slot.y_alt])
    return [y[1, :, 1] - y[0, :, 1], y[0, :, 1] - y[1, :, 1], y[1, :, 2] - y[0, :, 2], y[0, :, 2] - y[1, :, 2]]


def compare(cases: list[Case], reference: Reference, annotation: GeneAnnotation, nets, distance: int,
            tol: float = 1e-5, batch_size: int = 64) -> Report:
    """Score ``cases`` at ``distance`` with the fast engine (share + incremental) and the plain
    path (full padded passes, batch 1), extended mode, and compare (see the module docstring)."""
    records = [c.record for c in cases]
    slots = prepare(records, reference, annotation, distance, extended=True, context=nets[0].context)
    rep = Report(cases=len(cases))
    todo = []
    for case, rec_slots in zip(cases, slots):
        for s in rec_slots:
            if s.task is None:
                rep.skipped[s.status] += 1
            else:
                todo.append((case, s))
    tasks = [s.task for _, s in todo]
    engine = IncrementalEngine(nets, reference, batch_size=batch_size)
    fast = engine.compute(tasks)
    rep.fallbacks = engine.fallbacks
    saved = torch.get_num_threads()
    torch.set_num_threads(1)  # one op thread: OpenMP barriers on a shared small machine cost ~10x
    try:
        plain = list(PlainEngine(nets, reference).run(tasks))
    finally:
        torch.set_num_threads(saved)
    rep.tasks = len(tasks)
    for (case, slot), f, p in zip(todo, fast, plain):
        name = f"D={distance} {case.describe()}"
        rep.covered[(distance, case.shape, slot.strand, case.place)] += 1
        if f is None or any(a.shape != b.shape for a, b in zip(f, p)):
            rep.mismatches.append(f"{name}: shapes {None if f is None else [a.shape for a in f]} vs "
                                  f"{[b.shape for b in p]}")
            continue
        diff = max(float(np.max(np.abs(a - b))) for a, b in zip(f, p))
        rep.max_prob_diff = max(rep.max_prob_diff, diff)
        if diff > tol:
            rep.mismatches.append(f"{name}: probabilities differ by {diff:.2e}")
        for mask in (False, True):
            fs, ps = copy.copy(slot), copy.copy(slot)
            finalize(fs, f[0], f[1], mask, keep_probs=True)
            finalize(ps, p[0], p[1], mask, keep_probs=True)
            ds_diff = float(np.max(np.abs(fs.ds - ps.ds)))
            rep.max_ds_diff = max(rep.max_ds_diff, ds_diff)
            if ds_diff > tol:
                rep.mismatches.append(f"{name} M={int(mask)}: delta scores {fs.ds} vs {ps.ds}")
            for k, (df, dpl, delta) in enumerate(zip(fs.dp, ps.dp, _deltas(ps))):
                if df != dpl:
                    c = distance  # positions are relative to the centre of the 2D+1 outputs
                    if abs(delta[df + c] - delta[dpl + c]) <= tol:
                        rep.dp_ties += 1
                    else:
                        rep.mismatches.append(f"{name} M={int(mask)}: position {k} {df} vs {dpl}")
    return rep


def run_plan(seed: int, distances, reference: Reference, annotation: GeneAnnotation, nets, contig: str = "chr2",
             full: bool = False, tol: float = 1e-5, progress=None, part: tuple[int, int] = (0, 1)) -> Report:
    """Draw ``plan`` for each D with ``seed`` and compare; the total report. ``part`` (i, n)
    compares only every n-th case from the i-th, to split a sweep over processes."""
    total = Report()
    for distance in distances:
        rng = np.random.default_rng([seed, distance])
        cases = [make_case(rng, reference, annotation, contig, *item) for item in plan(rng, distance, full)]
        cases = cases[part[0]::part[1]]
        rep = compare(cases, reference, annotation, nets, distance, tol)
        if progress is not None:
            progress(distance, rep)
        total.add(rep)
    return total
