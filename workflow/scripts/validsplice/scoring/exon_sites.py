"""Exon-site scores: how much a variant moves the two splice sites of its nearest annotated exon (issue 19).

A base model's DS is the largest change anywhere within +-D of the variant, so one noisy position anywhere in
the window can carry it. What an exon-inclusion assay (Vex-seq's dPSI) or a splice-altering call measures is
whether the exon's own splice sites are used more or less. Per variant and base model this module reads the
base model's probability at the nearest exon's acceptor and donor, for the reference and for the alternate
sequence, and gives

    exon_site_delta = |alt - ref| at the acceptor + |alt - ref| at the donor

(a site the annotation does not have, the acceptor of a first exon or the donor of a last one, adds 0).
Nothing here reads a label. On Vex-seq, with group 5-fold out-of-fold rows, this score of Pangolin ranks the
labelled variants at ROC-AUC 0.775 where SpliceAI's max DS gives 0.699 (docs/vexseq.md).

Definitions:
- **the exon**: of the variant's gene (variants.parquet ``gene``), the exon that contains the variant, else the
  one with the nearest boundary (ties: the first in the annotation);
- **its sites**, on the gene's strand: the acceptor is the exon's first base, the donor its last base, in
  transcript orientation (+ strand: exon start / end; - strand: exon end / start). The first exon has no
  acceptor (it starts at the transcript start) and the last no donor;
- **probabilities**: SpliceAI / OpenSpliceAI: the ensemble mean of the acceptor channel at the acceptor and of
  the donor channel at the donor; Pangolin: the mean over its twelve networks of P(splice site used) (each
  network's channel 1, as the ``pangolin`` command reads it) at both sites; equal replicates per tissue, so this
  is also the mean of the four tissue means;
- **the alternate sequence**: the reference window with REF replaced by ALT. A site after the variant moves
  with an indel's length change; a site a deletion removes has alternate probability 0 (the site is gone).

Computation: per variant one pass of each network over the window [first site - 5,000, last site + 5,000]
(widened to hold the variant, and by a deletion's length on both sides so the sites it moves keep their
context), in the valid-convolution form (``SpliceAINet.forward_valid``: no padding inside
the network, so windows of different lengths share a batch after N padding at their right end, which only
adds outputs past the ones read). The reference pass is made once per exon. A variant farther than 5,000 bases
(the receptive field) from both sites cannot change them: its alternate is its reference, with no pass. On
the minus strand the window is reverse-complemented, as the scorers do. N outside the contig, no transcript
padding.

The workflow (rule ``base_model_exon_sites``) writes results/scores/exon_sites/<base model>.parquet: one row
per variant of variants.parquet in its order, ``variant_id``, ``exon_site_status`` ("computed" or "skipped:
<reason>", counted in the log; nothing is dropped) and ``SITE_COLUMNS``. The rule runs only when an experiment
reads the scores (``exon_site_head``, ``training.offset_heads``).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..common.errors import UserError

log = logging.getLogger(__name__)

STATUS = "exon_site_status"
COMPUTED = "computed"
SCORE = "exon_site_delta"
SITE_COLUMNS = ["acceptor_pos", "donor_pos", "ref_acceptor", "alt_acceptor", "ref_donor", "alt_donor", SCORE]
# the output channel read at each kind of site: SpliceAI-family networks have (neither, acceptor, donor);
# Pangolin's P(splice site used) is channel 1 of every network, for both kinds
CHANNELS = {"spliceai": {"acceptor": 1, "donor": 2}, "openspliceai": {"acceptor": 1, "donor": 2},
            "pangolin": {"acceptor": 1, "donor": 1}}
SITE_KINDS = ("acceptor", "donor")


def nearest_exon_sites(annotation, gene: int, pos: int) -> dict[str, int | None]:
    """{"acceptor": position or None, "donor": ...}: the sites (1-based) of gene ``gene``'s exon nearest ``pos``."""
    starts, ends = annotation.exon_starts[gene], annotation.exon_ends[gene]
    if not len(starts):
        return {"acceptor": None, "donor": None}
    distance = np.maximum(np.maximum(starts - pos, pos - ends), 0)  # 0 inside the exon
    k = int(np.argmin(distance))
    start, end = int(starts[k]), int(ends[k])
    first = start if start > annotation.tx_starts[gene] else None  # an exon start at the transcript start: no site
    last = end if end < annotation.tx_ends[gene] else None
    if annotation.strands[gene] == "-":
        return {"acceptor": last, "donor": first}
    return {"acceptor": first, "donor": last}


@dataclass
class SiteTask:
    """One variant: its sites, its exon's reference window (``ref_key``) and, when it can reach a site, its
    alternate window: reference bases ``start``..``end`` (1-based) with REF at ``pos`` replaced by ALT, which
    ends at ``end + len(alt) - len(ref)`` (the codes are built when the window is scored, so a large table never
    holds every window at once)."""
    row: int
    contig: str
    strand: str
    sites: dict
    ref_key: tuple
    reaches: bool  # False: farther than the receptive field from every site (alternate = reference)
    pos: int = 0
    ref: str = ""
    alt: str = ""
    start: int = 0
    end: int = 0
    shift: dict | None = None  # site kind -> its position in the alternate window's coordinates (None: deleted)

    def alt_codes(self, reference) -> np.ndarray:
        from ..common.sequence import encode

        codes = reference.codes(self.contig, self.start, self.end)
        ref_end = self.pos + len(self.ref) - 1
        return np.concatenate([codes[:self.pos - self.start], encode(self.alt.upper()), codes[ref_end - self.start + 1:]])

    @property
    def alt_end(self) -> int:
        return self.end + len(self.alt) - len(self.ref)


def _output_index(strand: str, start: int, end: int, half: int, position: int) -> int:
    """Index of genomic ``position`` in the valid-convolution outputs of the window start..end on ``strand``."""
    return position - (start + half) if strand != "-" else (end - half) - position


def _plan(variants: pd.DataFrame, annotation, reference, half: int) -> tuple[list[str], list[SiteTask]]:
    from ..common.sequence import encode

    status, tasks = [], []
    genes = variants["gene"].fillna("").astype(str) if "gene" in variants.columns else pd.Series("", index=variants.index)
    index = {name: i for i, name in reversed(list(enumerate(annotation.names)))}  # the first row of a name wins
    for row, (chrom, pos, ref, alt, gene) in enumerate(zip(variants["chrom"].astype(str), variants["pos"].astype(int),
                                                          variants["ref"].astype(str), variants["alt"].astype(str),
                                                          genes)):
        def skip(reason: str) -> None:
            status.append(f"skipped: {reason}")

        if not gene:
            skip("no annotated gene")
            continue
        g = index.get(gene)
        if g is None:
            skip(f"gene {gene} is not in the annotation")
            continue
        sites = nearest_exon_sites(annotation, g, pos)
        present = [p for p in sites.values() if p is not None]
        if not present:
            skip("the gene's exon has no splice site (a single-exon transcript)")
            continue
        if not (set(ref.upper()) <= set("ACGT") and set(alt.upper()) <= set("ACGT")) or not ref or not alt:
            skip("allele with a base other than A, C, G, T")
            continue
        contig = reference.contig(chrom)
        if contig is None:
            skip(f"contig {chrom} is not in the reference FASTA")
            continue
        lo, hi = min(present) - half, max(present) + half
        ref_end = pos + len(ref) - 1
        if not np.array_equal(reference.codes(contig, pos, ref_end), encode(ref.upper())):
            skip("ref allele differs from the reference FASTA")
            continue
        strand = str(annotation.strands[g])
        ref_key = (contig, strand, lo, hi)
        if ref_end < lo or pos > hi:  # outside every site's receptive field: the alternate is the reference
            tasks.append(SiteTask(row, contig, strand, sites, ref_key, reaches=False))
        else:
            # a deletion moves the sites after it closer to the window's start, and its own bases leave the window:
            # widen by its length on both sides so every site keeps its whole receptive field in the alternate
            k = max(0, len(ref) - len(alt))
            start, end = min(lo - k, pos), max(hi + k, ref_end)
            d = len(alt) - len(ref)
            shift = {}
            for kind, p in sites.items():
                if p is None:
                    continue
                if p > ref_end:
                    shift[kind] = p + d
                elif p >= pos + len(alt):  # inside REF beyond what ALT keeps: a deletion removed the site
                    shift[kind] = None
                else:
                    shift[kind] = p
            tasks.append(SiteTask(row, contig, strand, sites, ref_key, True, pos, ref, alt, start, end, shift))
        status.append(COMPUTED)
    return status, tasks


def _passes(nets, weights, codes_list, strands, device, batch_size: int):
    """Mean over ``nets`` (weighted by ``weights``) of the (L_out, 3) probabilities of each window."""
    from .delta import to_input

    out = [None] * len(codes_list)
    order = np.argsort([len(c) for c in codes_list], kind="stable")  # similar lengths share a batch
    for b in range(0, len(order), batch_size):
        chunk = order[b:b + batch_size]
        inputs = [to_input(codes_list[i], strands[i]) for i in chunk]
        width = max(x.shape[-1] for x in inputs)
        x = torch.stack([torch.nn.functional.pad(t, (0, width - t.shape[-1])) for t in inputs]).to(device)
        with torch.inference_mode():
            total = None
            for net, w in zip(nets, weights):
                p = net.forward_valid(x).double() * w
                total = p if total is None else total + p
        total = (total / sum(weights)).cpu().numpy()
        context = width - total.shape[1]
        for j, i in enumerate(chunk):
            out[i] = total[j, :inputs[j].shape[-1] - context]  # the padding's extra outputs dropped
    return out


def load_networks(base_model: str, folder: str, device):
    """(distinct networks, how many of the model's networks each stands for): byte-identical Pangolin files
    share one network object, which is run once and counted as often as it appears."""
    if base_model == "pangolin":
        from .pangolin.network import load_pangolin_folder
        from .pangolin.score import distinct

        nets = load_pangolin_folder(folder)
        uniq, index = distinct(nets)
        return [u.to(device).eval() for u in uniq], np.bincount(index, minlength=len(uniq)).tolist()
    if base_model not in CHANNELS:
        raise UserError(f"Unknown base model {base_model!r} for exon-site scores; use one of {', '.join(CHANNELS)}.")
    from .weights import load_ensemble

    nets = load_ensemble(base_model, folder, device)
    return nets, [1] * len(nets)


def exon_site_scores(variants: pd.DataFrame, reference, annotation, nets, weights, base_model: str, *,
                     device="cpu", batch_size: int = 16) -> pd.DataFrame:
    """The ``SITE_COLUMNS`` (and status) of every row of ``variants`` (module docstring)."""
    half = nets[0].half_context
    channels = CHANNELS[base_model]
    status, tasks = _plan(variants, annotation, reference, half)
    start_time = time.time()
    ref_windows = {}
    for t in tasks:
        ref_windows.setdefault(t.ref_key, None)
    keys = list(ref_windows)
    ref_probs = _passes(nets, weights, [reference.codes(k[0], k[2], k[3]) for k in keys], [k[1] for k in keys],
                        device, batch_size)
    ref_windows = dict(zip(keys, ref_probs))
    log.info("%d exon window(s) scored on the reference (%.0f s)", len(keys), time.time() - start_time)
    values = np.full((len(variants), len(SITE_COLUMNS)), np.nan)

    def record(t: SiteTask, alt) -> None:
        """Row ``t.row`` of ``values`` from the reference window and ``alt`` (None: the alternate is the reference)."""
        ref = ref_windows[t.ref_key]
        delta = 0.0
        for k, kind in enumerate(SITE_KINDS):
            p = t.sites[kind]
            if p is None:
                continue
            c = channels[kind]
            r = ref[_output_index(t.strand, t.ref_key[2], t.ref_key[3], half, p), c]
            if alt is None:
                a = r
            elif t.shift[kind] is None:  # a deletion removed the site
                a = 0.0
            else:
                a = alt[_output_index(t.strand, t.start, t.alt_end, half, t.shift[kind]), c]
            values[t.row, k] = p
            values[t.row, 2 + 2 * k], values[t.row, 3 + 2 * k] = r, a
            delta += abs(a - r)
        values[t.row, -1] = delta

    for t in tasks:
        if not t.reaches:
            record(t, None)
    with_alt = [t for t in tasks if t.reaches]
    step = max(batch_size * 20, 1)
    for b in range(0, len(with_alt), step):  # chunks of 20 batches: progress, and only a chunk's windows in memory
        chunk = with_alt[b:b + step]
        probs = _passes(nets, weights, [t.alt_codes(reference) for t in chunk], [t.strand for t in chunk], device,
                        batch_size)
        for t, alt in zip(chunk, probs):
            record(t, alt)
        log.info("%d of %d variant(s) scored on the alternate (%.0f s)", b + len(chunk), len(with_alt),
                 time.time() - start_time)
    frame = pd.DataFrame(values, columns=SITE_COLUMNS)
    frame.insert(0, STATUS, status)
    frame.insert(0, "variant_id", variants["variant_id"].astype(str).to_numpy())
    counts = Counter(status)
    log.info("%d variant(s): %s; %s, %.1f s", len(variants), ", ".join(f"{n} {s}" for s, n in counts.most_common()),
             base_model, time.time() - start_time)
    return frame


def exon_site_table(table, fasta, annotation, out, *, base_model: str = "spliceai", model_dir: str = "",
                    batch_size: int = 16, device: str = "auto", threads: int = 1) -> pd.DataFrame:
    """Exon-site scores of every variant of variants.parquet ``table`` by ``base_model`` -> parquet ``out``."""
    from ..common.device import resolve_device
    from ..io.annotation import GeneAnnotation
    from .delta import Reference

    try:
        variants = pd.read_parquet(table)
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read variant table {table}: {exc}") from None
    missing = [c for c in ("variant_id", "chrom", "pos", "ref", "alt", "gene") if c not in variants.columns]
    if missing:
        raise UserError(f"{table}: missing column(s) {missing}; it must be the variants.parquet of normalize_variants.")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device, where="config base_model.device")
    nets, weights = load_networks(base_model, model_dir, device)
    frame = exon_site_scores(variants, Reference(fasta), GeneAnnotation.load(annotation), nets, weights, base_model,
                             device=device, batch_size=int(batch_size))
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return frame


def exon_site_scores_of(variants: pd.DataFrame, table: pd.DataFrame, path="exon_sites.parquet") -> pd.Series:
    """The ``SCORE`` of each row of ``variants`` (by variant_id; NaN where skipped)."""
    if "variant_id" not in table.columns or SCORE not in table.columns:
        raise UserError(f"{path}: not an exon-site table (variant_id + {SCORE}); re-run base_model_exon_sites.")
    from ..common.files import rows_by_variant_id

    return rows_by_variant_id(variants, table, SCORE, path, what="the exon-site scores", rule="base_model_exon_sites")
