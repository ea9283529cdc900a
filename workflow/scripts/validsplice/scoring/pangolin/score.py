"""Scores with the original ``pangolin`` command's semantics (tkzeng/Pangolin ``pangolin/pangolin.py``,
``process_variant`` and ``compute_score``), reproduced here without its code.

Per VCF record (only its first ALT allele, as the original reads ``variant.ALT[0]``), in this order:

1. skip "Variant format not supported." when REF or ALT holds none of A, C, G, T (also symbolic,
   missing and ``*`` alleles) or when REF and ALT both have more than one base and differ in length
   (same-length MNVs are scored);
2. skip "Deletion too large" when len(REF) > 2 d;
3. the window: bases pos-5,000-d .. pos+len(REF)-1+5,000+d of the FASTA (contig name as given, or
   with ``chr`` added or its first three characters dropped). The original's FASTA library cuts the
   window short at the contig's end and the scores cover what is left; we do the same (plain
   path). A window starting before base 1 crashes the original (pyfastx segfaults); we skip it
   with the original's "Could not get sequence" warning;
4. skip "Mismatch between FASTA (ref base: ...) and variant file (ref base: ...)." The original
   compares case-sensitively with the FASTA as stored, so with a soft-masked FASTA it skips every
   variant in lower-case (repeat) sequence; we compare case-insensitively unless
   ``case_sensitive`` is set (``--case-sensitive-ref``), which reproduces that;
5. the genes: every gene with start < pos <= end (the original asks gffutils for genes overlapping
   pos-1, then keeps those containing pos, so a gene starting at pos is left out); none: skip
   "Variant not contained in a gene body. Do GTF/FASTA chromosome names match?".

Then, once per strand that has a gene: for each of the twelve networks the probability track of ref
and alt (``network.py``), flipped back to genomic order on the minus strand; alt re-aligned onto ref
positions (a deletion: zeros after the first d+1 positions, which makes the arrays float64 as in
the original; an insertion: the max over the inserted positions); alt - ref per network; the mean
over the three replicates of each tissue model; at each position the smallest of the four tissue
means is the "loss", the largest the "gain". Arrays cover 2d + len(REF) positions.

Per gene (plus-strand genes first, then minus, each in annotation order): with masking (``-m True``,
the original's default) gains at annotated exon boundaries become min(gain, 0) and losses
elsewhere max(loss, 0). The original masks the strand's arrays in place, so a second gene on the
same strand sees the first gene's masking too; reproduced. Then either the largest gain and loss
(``gene|pos:gain|pos:loss|Warnings:``) or, with a cutoff ``-s``, every position with gain >= s or
loss <= -s. Values are ``round(x, 2)`` of the numpy scalar; the original formats them with
``f"{value}"``, which numpy >= 2 writes as the Python float's repr (``0.36000001430511475`` for a
float32) and numpy 1.x as the shortest repr of the scalar's own type (``0.36``): ``float_style``
``repr`` (default, what the original prints when installed today) or ``short``.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field

import numpy as np
import torch

from ...common.sequence import encode, one_hot, reverse_complement_codes
from ...io.annotation import GeneAnnotation, strip_chr
from ..delta import Reference

log = logging.getLogger(__name__)

FLANK = 5000  # bases of context on each side (the network's receptive-field radius)
INFO_KEY = "Pangolin"
HEADER_LINE = ('##INFO=<ID=Pangolin,Number=.,Type=String,Description="Pangolin splice scores. '
               'Format: gene|pos:score_change|pos:score_change|warnings,...">')
NO_MASK_SITES = "NoAnnotatedSitesToMaskForThisGene"

SKIP_FORMAT = "Variant format not supported."
SKIP_DELETION = "Deletion too large"
SKIP_SEQUENCE = ("Could not get sequence, possibly because the variant is too close to chromosome ends. "
                 "See error message above.")
SKIP_MISMATCH = "Mismatch between FASTA (ref base: %s) and variant file (ref base: %s)."
SKIP_NO_GENE = "Variant not contained in a gene body. Do GTF/FASTA chromosome names match?"


@dataclass
class PangolinSettings:
    distance: int = 50
    mask: bool = True
    score_cutoff: float | None = None
    case_sensitive: bool = False
    float_style: str = "repr"  # "repr" (numpy >= 2) or "short" (numpy < 2)


@dataclass
class PangolinTask:
    """One (variant, strand) window to run through the twelve networks."""

    contig: str
    pos: int
    ref: str
    alt: str
    strand: str
    distance: int
    end: int  # 1-based last base of the ref window (pos + len(ref) - 1 + 5,000 + d, or the contig's end)

    @property
    def start(self) -> int:
        """1-based first base of the ref window."""
        return self.pos - FLANK - self.distance

    @property
    def truncated(self) -> bool:
        return self.end < self.pos + len(self.ref) - 1 + FLANK + self.distance


@dataclass
class PangolinResult:
    """One record: a skip (``status`` 'skipped: ...', ``warning``) or its per-gene entries."""

    status: str = "scored"
    warning: str = ""
    genes: list[tuple[int, str]] = field(default_factory=list)  # (annotation index, strand)
    tasks: dict[str, PangolinTask] = field(default_factory=dict)  # strand -> task
    entries: list[str] = field(default_factory=list)
    # per gene of ``genes`` (no score cutoff): (largest gain, its position, largest loss, its position),
    # unrounded, after masking; positions relative to the variant (what the entries print, rounded)
    values: list[tuple[float, int, float, int]] = field(default_factory=list)
    # per gene of ``genes`` (no score cutoff): its (gain, loss) tracks after masking, exactly what ``values``
    # are the extremes of, at the ref positions pos-d .. pos+d (float32 (2d+1, 2), genomic order; NaN where a
    # window cut short at a contig end has no position). The workflow's Pangolin "delta profile".
    profiles: list[np.ndarray] = field(default_factory=list)
    loss: dict[str, np.ndarray] = field(default_factory=dict)  # strand -> loss track (unmasked)
    gain: dict[str, np.ndarray] = field(default_factory=dict)


def fasta_contig(reference: Reference, chrom: str) -> str | None:
    """The original's contig lookup: as given, else with 'chr' added, else its first 3 chars dropped."""
    names = reference.lengths
    if chrom in names:
        return chrom
    if "chr" + chrom in names:
        return "chr" + chrom
    if chrom[3:] in names:
        return chrom[3:]
    return None


def pangolin_genes(annotation: GeneAnnotation, chrom: str, pos: int) -> list[int]:
    """Genes with tx_start < pos <= tx_end (1-based), in annotation order (see the docstring, 5)."""
    idx = annotation._by_chrom.get(strip_chr(chrom))
    if idx is None:
        return []
    hit = (annotation.tx_starts[idx] < pos) & (pos <= annotation.tx_ends[idx])
    return [int(i) for i in idx[hit]]


def prepare(chrom: str, pos: int, ref: str, alt: str, reference: Reference, annotation: GeneAnnotation,
            settings: PangolinSettings) -> PangolinResult:
    """Checks and skip rules of one record (first ALT only); the tasks to run per strand."""
    d = settings.distance
    if not settings.case_sensitive:
        ref, alt = ref.upper(), alt.upper()

    def skip(reason: str, warning: str) -> PangolinResult:
        return PangolinResult(status=f"skipped: {reason}", warning=warning)

    if (not set("ACGT") & set(ref) or not set("ACGT") & set(alt)
            or (len(ref) != 1 and len(alt) != 1 and len(ref) != len(alt))):
        return skip("format not supported", SKIP_FORMAT)
    if len(ref) > 2 * d:
        return skip("deletion too large", SKIP_DELETION)
    contig = fasta_contig(reference, chrom)
    if contig is None or pos - FLANK - d < 1:
        return skip("could not get sequence", SKIP_SEQUENCE)
    length = reference.lengths[contig]
    end = min(pos + len(ref) - 1 + FLANK + d, length)
    fasta_ref = reference.text(contig, pos, pos + len(ref) - 1)
    if (fasta_ref != ref) if settings.case_sensitive else (fasta_ref.upper() != ref):
        return skip("ref mismatch", SKIP_MISMATCH % (fasta_ref, ref))
    # the networks need at least one output position for ref and alt
    if end - (pos - FLANK - d) + 1 - 2 * FLANK - len(ref) + len(alt) < 1 or end - (pos - FLANK - d) + 1 <= 2 * FLANK:
        return skip("could not get sequence", SKIP_SEQUENCE)
    genes = pangolin_genes(annotation, contig, pos)
    if not genes:
        return skip("no gene", SKIP_NO_GENE)
    result = PangolinResult()
    strands = [str(annotation.strands[g]) for g in genes]
    for strand in ("+", "-"):
        for g, s in zip(genes, strands):
            if s == strand:
                result.genes.append((g, s))
        if strand in strands:
            result.tasks[strand] = PangolinTask(contig, pos, ref, alt, strand, d, end)
    return result


def window_codes(reference: Reference, task: PangolinTask) -> tuple[np.ndarray, np.ndarray]:
    """(ref, alt) codes of the task's window in genomic order."""
    x_ref = reference.codes(task.contig, task.start, task.end)
    v = FLANK + task.distance
    x_alt = np.concatenate([x_ref[:v], encode(task.alt), x_ref[v + len(task.ref):]])
    return x_ref, x_alt


def to_input(codes: np.ndarray, strand: str) -> torch.Tensor:
    if strand == "-":
        codes = reverse_complement_codes(codes)
    return torch.from_numpy(one_hot(np.ascontiguousarray(codes))).T.contiguous()[None]


def distinct(nets) -> tuple[list, list[int]]:
    """The distinct network objects and, per position in ``nets``, the index of its object."""
    uniq, index = [], []
    for n in nets:
        for k, u in enumerate(uniq):
            if u is n:
                index.append(k)
                break
        else:
            uniq.append(n)
            index.append(len(uniq) - 1)
    return uniq, index


class PlainPangolinEngine:
    """The verbatim computation: per task and distinct network, full zero-padded ('same') passes of
    ref and alt, as the original's PyTorch model. Also the path for windows cut short at a contig end."""

    def __init__(self, nets, reference: Reference, device="cpu"):
        self.nets, self.reference, self.device = nets, reference, torch.device(device)
        self.uniq, self.index = distinct(nets)

    @torch.inference_mode()
    def one(self, task: PangolinTask) -> tuple[np.ndarray, np.ndarray]:
        x_ref, x_alt = window_codes(self.reference, task)
        out = []
        for codes in (x_ref, x_alt):
            x = to_input(codes, task.strand).to(self.device)
            ys = [u.forward_same(x)[0, :, 1].cpu().numpy() for u in self.uniq]
            y = np.stack([ys[k] for k in self.index])
            out.append(y[:, ::-1].copy() if task.strand == "-" else y)
        return out[0], out[1]

    def run(self, tasks: list[PangolinTask]):
        return [self.one(t) for t in tasks]


def loss_gain(y_ref: np.ndarray, y_alt: np.ndarray, distance: int) -> tuple[np.ndarray, np.ndarray]:
    """``compute_score``'s numpy part: (M, n) ref and (M, n') alt probability tracks of the twelve
    networks in genomic order -> (loss, gain) over the ref positions."""
    n_groups = len(y_ref) // 3
    tracks = []
    for j in range(n_groups):
        score = []
        for m in range(3 * j, 3 * j + 3):
            ref, alt = y_ref[m], y_alt[m]
            l = 2 * distance + 1  # noqa: E741 - the original's name
            ndiff = np.abs(len(ref) - len(alt))
            if len(ref) > len(alt):
                alt = np.concatenate([alt[0:l // 2 + 1], np.zeros(ndiff), alt[l // 2 + 1:]])
            elif len(ref) < len(alt):
                alt = np.concatenate([alt[0:l // 2], np.max(alt[l // 2:l // 2 + ndiff + 1], keepdims=True),
                                      alt[l // 2 + ndiff + 1:]])
            score.append(alt - ref)
        tracks.append(np.mean(score, axis=0))
    tracks = np.array(tracks)
    columns = np.arange(tracks.shape[1])
    loss = tracks[np.argmin(tracks, axis=0), columns]
    gain = tracks[np.argmax(tracks, axis=0), columns]
    return loss, gain


def value_text(value, style: str) -> str:
    """``f"{round(x, 2)}"`` as the original prints it (see the module docstring)."""
    rounded = round(value, 2)
    return repr(float(rounded)) if style == "repr" else str(rounded)


def gain_loss_profile(gain: np.ndarray, loss: np.ndarray, distance: int) -> np.ndarray:
    """(2d+1, 2) float32 [gain, loss] at ref positions pos-d .. pos+d (the tracks cover 2d + len(ref) positions:
    a deletion's extra ones beyond pos+d are dropped; a track cut short at a contig end leaves NaN)."""
    n = 2 * int(distance) + 1
    out = np.full((n, 2), np.nan, dtype=np.float32)
    k = min(n, len(gain))
    out[:k, 0], out[:k, 1] = gain[:k], loss[:k]
    return out


def finalize(result: PangolinResult, probs: dict[str, tuple[np.ndarray, np.ndarray]],
             annotation: GeneAnnotation, pos: int, settings: PangolinSettings) -> None:
    """Per-gene entries from the strands' (ref, alt) tracks (masking in place, as the original)."""
    d = settings.distance
    arrays = {}
    for strand, (y_ref, y_alt) in probs.items():
        loss, gain = loss_gain(y_ref, y_alt, d)
        result.loss[strand], result.gain[strand] = loss.copy(), gain.copy()
        arrays[strand] = (loss, gain)
    entries = []
    for g, strand in result.genes:
        loss, gain = arrays[strand]
        fields = [str(annotation.names[g])]
        warnings = "Warnings:"
        exons = np.ravel(np.column_stack([annotation.exon_starts[g], annotation.exon_ends[g]]))
        positions = exons - (pos - d)
        if settings.mask and len(positions) != 0:
            kept = positions[(positions >= 0) & (positions < len(loss))]
            gain[kept] = np.minimum(gain[kept], 0)
            elsewhere = ~np.isin(np.arange(len(loss)), kept)
            loss[elsewhere] = np.maximum(loss[elsewhere], 0)
        elif settings.mask:
            warnings += NO_MASK_SITES
            loss[:] = np.maximum(loss[:], 0)
        if settings.score_cutoff is not None:
            lo, hi = np.where(loss <= -settings.score_cutoff)[0], np.where(gain >= settings.score_cutoff)[0]
            for p, s in zip(np.concatenate([hi - d, lo - d]), np.concatenate([gain[hi], loss[lo]])):
                fields.append(f"{p}:{value_text(s, settings.float_style)}")
        else:
            lo, hi = np.argmin(loss), np.argmax(gain)
            result.values.append((float(gain[hi]), int(hi - d), float(loss[lo]), int(lo - d)))
            result.profiles.append(gain_loss_profile(gain, loss, d))
            fields.append(f"{hi - d}:{value_text(gain[hi], settings.float_style)}")
            fields.append(f"{lo - d}:{value_text(loss[lo], settings.float_style)}")
        fields.append(warnings)
        entries.append("|".join(fields))
    result.entries = entries


def score_records(records, reference: Reference, annotation: GeneAnnotation, engine,
                  settings: PangolinSettings) -> list[PangolinResult]:
    """``records``: (chrom, pos, ref, first alt) tuples. Returns one result per record."""
    results = [prepare(c, p, r, a, reference, annotation, settings) for c, p, r, a in records]
    todo = [(k, strand, task) for k, res in enumerate(results) for strand, task in res.tasks.items()]
    outputs = engine.run([t for _, _, t in todo])
    probs: dict[int, dict] = {}
    for (k, strand, _), out in zip(todo, outputs):
        if out is None:
            results[k].status, results[k].warning = "skipped: scoring error", "scoring error (see above)"
            continue
        probs.setdefault(k, {})[strand] = out
    for k, res in enumerate(results):
        if res.status == "scored":
            finalize(res, probs[k], annotation, records[k][1], settings)
    return results
