"""Delta scores with the original SpliceAI tool's semantics (``spliceai/utils.py`` 1.3.1).

For each variant: the genes whose transcript contains ``pos``; a window of 10,000 + 2D + 1
bases centred on ``pos``; bases beyond the gene's transcript ends replaced by N; reverse
complement for minus-strand genes; the ensemble-mean probabilities of ref and alt; deletions
re-aligned by inserting zeros after the alt allele, insertions collapsed by a max over the inserted
bases; the largest gain/loss per channel within ±D; optional masking with the distance to the
nearest annotated exon boundary. One result per (alt allele, overlapping gene), in the original's
order. Skip rules and log messages are the original's.

Extended mode (off by default) also scores variants in no gene (+ strand, no transcript
padding; flag ``no_gene``) and windows reaching past a contig end (N padding; flag
``contig_end``).

The network evaluation is delegated to an *engine* (``PlainEngine`` here: the verbatim
computation; ``validsplice.scoring.incremental.IncrementalEngine``: cone cropping, shared references,
incremental alternates); both return the same per-task probabilities.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field

import numpy as np
import pysam
import torch

from ..common.errors import UserError
from ..common.sequence import N_CODE, encode, one_hot, reverse_complement_codes
from ..io.annotation import GeneAnnotation
from .network import CONTEXT, ensemble_mean

log = logging.getLogger(__name__)

BAD_ALT_CHARS = (".", "-", "*", "<", ">")


@dataclass
class VariantRecord:
    chrom: str
    pos: int
    ref: str
    alts: tuple[str, ...]
    label: str = ""  # how the record is named in log messages

    def __str__(self) -> str:
        return self.label or f"{self.chrom}\t{self.pos}\t.\t{self.ref}\t{','.join(self.alts)}"


@dataclass
class ScoreTask:
    """One (variant, alt, gene) to run through the network."""

    chrom: str  # contig name as in the FASTA
    pos: int
    ref: str
    alt: str
    strand: str
    tx: tuple[int, int] | None  # (tx_start, tx_end) 1-based, None = no transcript padding
    cluster_key: tuple  # tasks sharing a key share reference sequence and N padding
    distance: int
    context: int = CONTEXT  # flank consumed by the network (10,000 for SpliceAI)


@dataclass
class ScoreResult:
    record: int  # index of the input record
    alt: str
    gene: str
    strand: str
    status: str = "scored"
    flags: str = ""
    ds: np.ndarray | None = None  # DS_AG, DS_AL, DS_DG, DS_DL (unrounded), as the mask setting asks
    ds_masked: np.ndarray | None = None  # the same with SpliceAI's -M 1 mask, whatever the setting
    ds_unmasked: np.ndarray | None = None  # the same without the mask (-M 0)
    dp: np.ndarray | None = None  # DP_AG, DP_AL, DP_DG, DP_DL
    profile: np.ndarray | None = None  # (2D+1, 2) alt - ref (acceptor, donor), re-aligned
    y_ref: np.ndarray | None = None
    y_alt: np.ndarray | None = None
    text: str | None = None  # the SpliceAI= entry ('' when the original writes none)
    task: ScoreTask | None = field(default=None, repr=False)
    exon_distance: int | None = None


class Reference:
    """FASTA access by 1-based inclusive ranges, N outside the contig."""

    def __init__(self, path: str):
        try:
            self.fasta = pysam.FastaFile(str(path))
        except (OSError, ValueError) as exc:
            raise UserError(f"Cannot open reference FASTA {path}: {exc}. It must be plain or bgzipped "
                            "with a .fai (and .gzi) index: run 'samtools faidx' on it.") from None
        self.lengths = dict(zip(self.fasta.references, self.fasta.lengths))
        # pysam's FastaFile is not thread-safe; the fast engine's worker threads share it
        self._fetch_lock = threading.Lock()

    def contig(self, chrom: str) -> str | None:
        """The FASTA's name for ``chrom`` (adds or strips 'chr' like SpliceAI's normalise_chrom)."""
        if chrom in self.lengths:
            return chrom
        alt = chrom[3:] if chrom.startswith("chr") else "chr" + chrom
        return alt if alt in self.lengths else None

    def text(self, contig: str, start: int, end: int) -> str:
        """Bases start..end (1-based inclusive), clipped to the contig."""
        start0, end0 = max(start - 1, 0), min(end, self.lengths[contig])
        if end0 <= start0:
            return ""
        with self._fetch_lock:
            return self.fasta.fetch(contig, start0, end0)

    def codes(self, contig: str, start: int, end: int, tx: tuple[int, int] | None = None) -> np.ndarray:
        """uint8 codes for start..end with N outside the contig and outside ``tx``."""
        out = np.full(end - start + 1, N_CODE, dtype=np.uint8)
        lo, hi = max(start, 1), min(end, self.lengths[contig])
        if tx is not None:
            lo, hi = max(lo, tx[0]), min(hi, tx[1])
        if hi >= lo:
            with self._fetch_lock:
                bases = self.fasta.fetch(contig, lo - 1, hi)
            out[lo - start:hi - start + 1] = encode(bases)
        return out


def window_codes(reference: Reference, task: ScoreTask) -> tuple[np.ndarray, np.ndarray]:
    """(x_ref, x_alt) codes in genomic order, N-padded as the original (before strand flip)."""
    half = (task.context + 2 * task.distance + 1) // 2
    x_ref = reference.codes(task.chrom, task.pos - half, task.pos + half, task.tx)
    x_alt = np.concatenate([x_ref[:half], encode(task.alt), x_ref[half + len(task.ref):]])
    return x_ref, x_alt


def to_input(codes: np.ndarray, strand: str) -> torch.Tensor:
    """(L,) codes -> (4, L) one-hot float32, reverse-complemented for the minus strand."""
    if strand == "-":
        codes = reverse_complement_codes(codes)
    return torch.from_numpy(one_hot(np.ascontiguousarray(codes))).T.contiguous()


class PlainEngine:
    """The verbatim computation: one variant at a time, full 'same'-padded passes, no sharing."""

    def __init__(self, nets, reference: Reference, device="cpu", valid: bool = False):
        self.nets, self.reference, self.device, self.valid = nets, reference, device, valid
        self.context = nets[0].context

    def run(self, tasks: list[ScoreTask]):
        for task in tasks:
            x_ref, x_alt = window_codes(self.reference, task)
            ys = []
            for codes in (x_ref, x_alt):
                x = to_input(codes, task.strand)[None].to(self.device)
                fwd = (lambda n: n.forward_valid(x)) if self.valid else (lambda n: n.forward_same(x))
                y = ensemble_mean([fwd(n) for n in self.nets])[0].cpu().numpy()
                ys.append(y[::-1] if task.strand == "-" else y)
            yield ys[0], ys[1]


def prepare(records: list[VariantRecord], reference: Reference, annotation: GeneAnnotation,
            distance: int = 50, extended: bool = False, context: int = CONTEXT) -> list[list[ScoreResult]]:
    """Apply the original's checks and skip rules; return per record the result slots in output
    order (tasks to run carry ``task``; skipped ones carry ``status``)."""
    wid = context + 2 * distance + 1
    half = wid // 2
    gene_hits = annotation.overlapping_many([r.chrom for r in records], [r.pos for r in records])
    out: list[list[ScoreResult]] = []
    for k, (rec, idxs) in enumerate(zip(records, gene_hits)):
        slots: list[ScoreResult] = []
        out.append(slots)

        def skip(reason, gene="", strand="."):
            slots.append(ScoreResult(k, ",".join(rec.alts), gene, strand, status=f"skipped: {reason}", text=""))

        no_gene = len(idxs) == 0
        if no_gene and not extended:
            skip("no gene")
            continue
        contig = reference.contig(rec.chrom)
        if contig is None:
            log.warning("Skipping record (fasta issue): %s", rec)
            skip("fasta issue")
            continue
        bases = reference.text(contig, rec.pos, rec.pos + len(rec.ref) - 1)
        if bases.upper() != rec.ref:
            log.warning("Skipping record (ref issue): %s", rec)
            skip("ref mismatch")
            continue
        contig_end = rec.pos - half < 1 or rec.pos + half > reference.lengths[contig]
        if contig_end and not extended:
            log.warning("Skipping record (near chromosome end): %s", rec)
            skip("near contig end")
            continue
        if len(rec.ref) > 2 * distance:
            log.warning("Skipping record (ref too long): %s", rec)
            skip("ref too long")
            continue
        genes = [(int(i), str(annotation.names[i]), str(annotation.strands[i])) for i in idxs] or [(-1, "", "+")]
        for alt in rec.alts:
            if any(c in alt for c in BAD_ALT_CHARS):  # the original skips these silently
                slots.append(ScoreResult(k, alt, "", ".", status="skipped: symbolic or missing alt", text=""))
                continue
            for gi, gene, strand in genes:
                if len(rec.ref) > 1 and len(alt) > 1:
                    slots.append(ScoreResult(k, alt, gene, strand, status="skipped: multi-base ref and alt",
                                             text=f"{alt}|{gene}|.|.|.|.|.|.|.|."))
                    continue
                flags = ",".join(f for f, on in (("no_gene", gi < 0), ("contig_end", contig_end)) if on)
                tx = (int(annotation.tx_starts[gi]), int(annotation.tx_ends[gi])) if gi >= 0 else None
                task = ScoreTask(contig, rec.pos, rec.ref, alt, strand, tx, (contig, gi, strand), distance, context)
                exon = annotation.exon_boundary_distance(gi, rec.pos) if gi >= 0 else None
                slots.append(ScoreResult(k, alt, gene, strand, flags=flags, task=task, exon_distance=exon))
    return out


def realign_alt(y_alt: np.ndarray, ref_len: int, alt_len: int, cov: int) -> np.ndarray:
    """The original's re-alignment of alt outputs onto ref positions (genomic order)."""
    if ref_len > 1 and alt_len == 1:
        del_len = ref_len - alt_len
        return np.concatenate([y_alt[:cov // 2 + alt_len], np.zeros((del_len, 3), y_alt.dtype),
                               y_alt[cov // 2 + alt_len:]])
    if ref_len == 1 and alt_len > 1:
        return np.concatenate([y_alt[:cov // 2], y_alt[cov // 2:cov // 2 + alt_len].max(axis=0)[None],
                               y_alt[cov // 2 + alt_len:]])
    return y_alt


def finalize(slot: ScoreResult, y_ref: np.ndarray, y_alt: np.ndarray, mask: bool, keep_probs: bool = False) -> None:
    """Delta scores, positions, profile and the SpliceAI= text from ref/alt probabilities."""
    task = slot.task
    cov = 2 * task.distance + 1
    y_alt = realign_alt(y_alt, len(task.ref), len(task.alt), cov)
    if y_alt.shape != y_ref.shape:
        raise AssertionError(f"re-aligned alt has shape {y_alt.shape}, ref {y_ref.shape}")
    y = np.stack([y_ref, y_alt]).astype(np.result_type(y_ref, y_alt))
    gain_a, gain_d = y[1, :, 1] - y[0, :, 1], y[1, :, 2] - y[0, :, 2]
    loss_a, loss_d = y[0, :, 1] - y[1, :, 1], y[0, :, 2] - y[1, :, 2]
    idx = [int(gain_a.argmax()), int(loss_a.argmax()), int(gain_d.argmax()), int(loss_d.argmax())]
    dist = slot.exon_distance
    # Both mask settings come from the same probabilities (the positions are the same: the mask
    # only zeroes values), so a model can read either without scoring the variant twice.
    has_exon = dist is not None
    masks = [has_exon and (idx[0] - cov // 2 == dist), has_exon and (idx[1] - cov // 2 != dist),
             has_exon and (idx[2] - cov // 2 == dist), has_exon and (idx[3] - cov // 2 != dist)]
    values = [gain_a[idx[0]], loss_a[idx[1]], gain_d[idx[2]], loss_d[idx[3]]]
    slot.ds_unmasked = np.array([float(v) for v in values])
    slot.ds_masked = np.array([float(v * (1 - int(m))) for v, m in zip(values, masks)])
    ds = slot.ds_masked if mask else slot.ds_unmasked
    dp = [i - cov // 2 for i in idx]
    slot.ds = ds.copy()
    slot.dp = np.array(dp, dtype=np.int64)
    slot.profile = np.stack([gain_a, gain_d], axis=1).astype(np.float32)
    slot.text = "{}|{}|{:.2f}|{:.2f}|{:.2f}|{:.2f}|{}|{}|{}|{}".format(slot.alt, slot.gene, *ds, *dp)
    if keep_probs:
        slot.y_ref, slot.y_alt = y_ref, y_alt


def score_records(records: list[VariantRecord], reference: Reference, annotation: GeneAnnotation, engine,
                  distance: int = 50, mask: bool = False, extended: bool = False,
                  keep_probs: bool = False, progress=None) -> list[list[ScoreResult]]:
    """Score records with ``engine``; returns per record its result slots (see ``prepare``)."""
    context = getattr(engine, "context", CONTEXT)
    slots = prepare(records, reference, annotation, distance, extended, context)
    todo = [s for rec in slots for s in rec if s.task is not None]
    for n, (slot, probs) in enumerate(zip(todo, engine.run([s.task for s in todo])), start=1):
        if probs is None:  # the engine could not score it (logged there): a reason, never a partial score
            slot.status, slot.text = "skipped: scoring error", ""
        else:
            finalize(slot, probs[0], probs[1], mask, keep_probs)
        if progress is not None:
            progress(n, len(todo))
    # tasks the fast engine rescored with the plain path after an error (incremental.IncrementalEngine, "Fallback")
    for i in getattr(engine, "last_fallbacks", ()):
        todo[i].flags = ",".join(f for f in (todo[i].flags, "fallback") if f)
    return slots


def info_entries(slots: list[ScoreResult]) -> list[str]:
    """The SpliceAI= entries of one record, as the original writes them."""
    return [s.text for s in slots if s.text]
