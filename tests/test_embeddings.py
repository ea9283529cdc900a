"""Base-model embeddings (issue 19, item 3): SpliceAI's skip sum for ref and alt around the variant."""
import numpy as np
import pytest
import torch
from helpers import tiny_nets

from validsplice.scoring.embeddings import feature_names, variant_embeddings


def one_hot(codes):
    return torch.nn.functional.one_hot(torch.as_tensor(codes), 4).float().transpose(1, 2)


def test_embedding_shape_names_and_the_head_reads_the_same_tensor():
    nets, flank = tiny_nets(), 3
    width = nets[0].context + 2 * flank + 1
    rng = np.random.default_rng(0)
    ref = rng.integers(0, 4, (5, width))
    alt = ref.copy()
    alt[:, width // 2] = (ref[:, width // 2] + 1) % 4
    alt[0] = ref[0]  # variant 0: no change
    feats = variant_embeddings(nets, one_hot(ref), one_hot(alt), flank)
    assert feats.shape == (5, 3 * 6) == (5, len(feature_names(6))) and feats.dtype == np.float32
    assert np.allclose(feats[0, :12], 0.0) and np.abs(feats[1:, :12]).max() > 0  # alt - ref parts
    # the skip sum is what forward_valid's head turns into probabilities: one pass, two readings
    x = one_hot(ref)
    assert torch.allclose(nets[0].head(nets[0].skip_sum_valid(x)), nets[0].forward_valid(x))
    with pytest.raises(ValueError, match="flank"):
        variant_embeddings(nets, one_hot(ref), one_hot(alt), flank + 1)
