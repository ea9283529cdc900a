"""Base-model embeddings of a variant: SpliceAI's own internal representation for ref and alt (issue 19).

The representation is the sum of the skip convolutions (``SpliceAINet.skip_sum_valid``: ``channels`` = 32
values per position, what the network's 1x1 head turns into acceptor / donor probabilities). Per variant,
``variant_embeddings`` returns, averaged over the ensemble's networks,
- the mean over the +-``flank`` positions around the variant of alt - ref (how the variant moves each channel),
- the max over those positions of |alt - ref| (the largest local change),
- ref at the variant (the context the change happens in),
i.e. 3 x channels features, the standard transfer-learning input for a small labelled set.

Cost: one pass of every network over the ref and alt windows (context + 2 flank + 1 bases), no more than
scoring the variant once. Not done yet (issue 19, item 3): the workflow rule that caches them next to the
scores (results/scores/embeddings.npy), the GBM features and the ``embedding_head`` model that read them.
"""
from __future__ import annotations

import numpy as np
import torch

FEATURE_KINDS = ("mean_alt_minus_ref", "max_abs_alt_minus_ref", "ref_at_variant")


def feature_names(channels: int) -> list[str]:
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
