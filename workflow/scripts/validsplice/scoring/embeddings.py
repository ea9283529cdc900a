"""Base-model embeddings of a variant: SpliceAI's own internal representation for ref and alt (issue 19).

The representation is the sum of the skip convolutions (``SpliceAINet.skip_sum_valid``: ``channels`` = 32
values per position, what the network's 1x1 head turns into acceptor / donor probabilities). Per variant,
``variant_embeddings`` returns, averaged over the ensemble's networks,
- the mean over the +-``flank`` positions around the variant of alt - ref (how the variant moves each channel),
- the max over those positions of |alt - ref| (the largest local change),
- ref at the variant (the context the change happens in),
i.e. 3 x channels features, the standard transfer-learning input for a small labelled set.

Cost: one pass of the networks over the ref and alt windows (context + 2 flank + 1 bases) per variant.

The workflow (rule ``base_model_embeddings``, ``embedding_table``) caches them per base model in
results/scores/embeddings.parquet: ``variant_id``, ``embedding_status`` ("computed" or "skipped: <reason>")
and the ``feature_names`` columns, one row per variant of variants.parquet in its order (a skipped variant:
NaN features, its reason counted in the log; nothing is dropped). It reads the first network of the ensemble
only (``NETWORKS``): five independently trained networks number their 32 channels independently, so an
average over networks would add unrelated channels together; one network is also a fifth of the cost, i.e.
less than one extra scoring pass. The flank is the scoring distance (config ``base_model.distance``): the
positions SpliceAI's DS reads. The windows are taken on the variant's gene strand (reverse complemented for
``-``), N outside the contig, with no transcript padding. The rule runs only when an experiment reads them
(``registry.experiment_reads_embeddings``): ``spliceai_features_gbm`` with ``features: base+embeddings`` and
``embedding_head`` (``training.gbm``).
"""
from __future__ import annotations

import logging
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..common.errors import UserError

log = logging.getLogger(__name__)

FEATURE_KINDS = ("mean_alt_minus_ref", "max_abs_alt_minus_ref", "ref_at_variant")


STATUS = "embedding_status"
COMPUTED = "computed"
NETWORKS = 1  # the ensemble's first network (module docstring: channels of different networks do not correspond)
CHANNELS = 32  # SpliceAI's and OpenSpliceAI's skip-sum width


def feature_names(channels: int = CHANNELS) -> list[str]:
    return [f"emb_{kind}_{c}" for kind in FEATURE_KINDS for c in range(channels)]


@torch.no_grad()
def variant_embeddings(nets, ref: torch.Tensor, alt: torch.Tensor, flank: int) -> np.ndarray:
    """(B, 4, context + 2 flank + 1) one-hot ref and alt windows centred on same-length variants ->
    (B, 3 x channels) float32 features (``feature_names``), averaged over ``nets``."""
    if ref.shape != alt.shape:
        raise ValueError(f"ref {tuple(ref.shape)} and alt {tuple(alt.shape)} windows differ; embeddings take "
                         "same-length alleles (SNVs, MNVs) in windows of one length")
    total = None
    for net in nets:
        width = ref.shape[-1] - net.context
        if width != 2 * flank + 1:
            raise ValueError(f"windows of {ref.shape[-1]} bases give {width} outputs; need context "
                             f"{net.context} + 2 x flank {flank} + 1")
        s_ref, s_alt = net.skip_sum_valid(torch.cat([ref, alt])).chunk(2)
        diff = s_alt - s_ref
        feats = torch.cat([diff.mean(dim=2), diff.abs().amax(dim=2), s_ref[:, :, flank]], dim=1)
        total = feats if total is None else total + feats
    return (total / len(nets)).float().cpu().numpy()


def _skip_reason(ref: str, alt: str, contig) -> str | None:
    """Why a variant gets no embedding (None: it gets one)."""
    if contig is None:
        return "skipped: contig not in the reference FASTA"
    if "," in alt or not alt or not ref:
        return "skipped: not one alt allele"
    if len(ref) != len(alt):
        return "skipped: indel (embeddings take same-length alleles: SNVs, MNVs)"
    if any(b not in "ACGT" for b in (ref + alt).upper()):
        return "skipped: allele holds a base other than A, C, G, T"
    return None


def embedding_table(table, fasta, out, *, base_model: str = "spliceai", openspliceai_dir: str = "", flank: int = 50,
                    batch_size: int = 16, device: str = "auto", threads: int = 1) -> pd.DataFrame:
    """Embeddings of every variant of variants.parquet ``table`` -> parquet ``out`` (module docstring)."""
    from ..common.device import resolve_device
    from ..common.sequence import encode
    from .delta import Reference, to_input
    from .weights import load_ensemble

    try:
        variants = pd.read_parquet(table)
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read variant table {table}: {exc}") from None
    missing = [c for c in ("variant_id", "chrom", "pos", "ref", "alt") if c not in variants.columns]
    if missing:
        raise UserError(f"{table}: missing column(s) {missing}; it must be the variants.parquet of normalize_variants.")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device, where="config base_model.device")
    reference = Reference(fasta)
    nets = load_ensemble(base_model, openspliceai_dir, device)[:NETWORKS]
    half = (nets[0].context + 2 * int(flank) + 1) // 2
    strands = variants["strand"].astype(str) if "strand" in variants.columns else pd.Series("+", index=variants.index)
    status = []
    todo = []  # (row, ref codes, alt codes, strand)
    for i, (chrom, pos, ref, alt, strand) in enumerate(zip(variants["chrom"].astype(str), variants["pos"],
                                                           variants["ref"].astype(str), variants["alt"].astype(str),
                                                           strands)):
        contig = reference.contig(chrom)
        reason = _skip_reason(ref, alt, contig)
        if reason is None:
            codes = reference.codes(contig, int(pos) - half, int(pos) + half)
            if not np.array_equal(codes[half:half + len(ref)], encode(ref.upper())):
                reason = "skipped: ref allele differs from the reference FASTA"
            else:
                alt_codes = codes.copy()
                alt_codes[half:half + len(alt)] = encode(alt.upper())
                todo.append((i, codes, alt_codes, strand))  # codes, not one-hot: 4 x fewer bytes held
        status.append(reason or COMPUTED)
    names = feature_names(nets[0].channels)
    values = np.full((len(variants), len(names)), np.nan, dtype=np.float32)
    start = time.time()
    for b in range(0, len(todo), int(batch_size)):
        chunk = todo[b:b + int(batch_size)]
        ref = torch.stack([to_input(c[1], c[3]) for c in chunk]).to(device)
        alt = torch.stack([to_input(c[2], c[3]) for c in chunk]).to(device)
        values[[c[0] for c in chunk]] = variant_embeddings(nets, ref, alt, int(flank))
        if (b // int(batch_size)) % 20 == 0:
            log.info("%d of %d variants embedded (%.0f s)", b + len(chunk), len(todo), time.time() - start)
    counts = Counter(status)
    log.info("%d variant(s): %s; %d network(s) of the %s ensemble, flank %d, %.1f s", len(variants),
             ", ".join(f"{n} {s}" for s, n in counts.most_common()), len(nets), base_model, int(flank),
             time.time() - start)
    frame = pd.DataFrame(values, columns=names)
    frame.insert(0, STATUS, status)
    frame.insert(0, "variant_id", variants["variant_id"].astype(str).to_numpy())
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    frame.to_parquet(out, index=False)
    return frame


def embeddings_of(variants: pd.DataFrame, embeddings: pd.DataFrame, path="embeddings.parquet") -> pd.DataFrame:
    """The ``feature_names`` columns of each row of ``variants`` (by variant_id; NaN where skipped)."""
    names = [c for c in embeddings.columns if c.startswith("emb_")]
    if "variant_id" not in embeddings.columns or not names:
        raise UserError(f"{path}: not an embeddings table (variant_id + emb_* columns); re-run base_model_embeddings.")
    from ..common.files import rows_by_variant_id

    return rows_by_variant_id(variants, embeddings, names, path, what="the embeddings", rule="base_model_embeddings")
