"""SpliceAI-10k port: weights, layer order and parity with the Keras ensemble outputs."""
from pathlib import Path

import numpy as np
import pytest
import torch

from validsplice.sequence import encode, one_hot, reverse_complement_codes
from validsplice.spliceai.network import SPLICEAI_UNITS, SKIP_TAPS, ensemble_mean
from validsplice.spliceai.weights import load_ensemble

DATA = Path(__file__).parent / "data" / "spliceai"


@pytest.fixture(scope="module")
def windows():
    d = np.load(DATA / "spliceai_keras_windows.npz")
    codes = np.stack([encode(str(s)) for s in d["seqs"]])
    return codes, d["probs"], d["probs_revcomp"]


def _x(codes):
    return torch.from_numpy(one_hot(np.ascontiguousarray(codes))).permute(0, 2, 1).contiguous()


def test_graph_order_from_model_config():
    nets = load_ensemble()
    assert len(nets) == 5
    for net in nets:
        assert [(u.shape.kernel, u.shape.dilation) for u in net.units] == SPLICEAI_UNITS
        assert net.skip_taps == SKIP_TAPS
        assert net.context == 10_000
    # the five models differ
    assert not torch.equal(nets[0].final.weight, nets[1].final.weight)


def test_keras_parity_same_padding_both_orientations(windows):
    codes, probs, probs_rc = windows
    nets = load_ensemble()
    got = ensemble_mean([n.forward_same(_x(codes)) for n in nets]).numpy()
    np.testing.assert_allclose(got, probs, atol=1e-5, rtol=0)
    rc = reverse_complement_codes(codes)
    got_rc = ensemble_mean([n.forward_same(_x(rc)) for n in nets]).numpy()
    np.testing.assert_allclose(got_rc, probs_rc, atol=1e-5, rtol=0)
    # the README's landmarks: strong + strand acceptors at the centre of windows 0 and 1
    assert got[:, 50, 1].max() > 0.99


def test_cone_pass_equals_same_padding(windows):
    codes, probs, _ = windows
    net = load_ensemble()[0]
    a = net.forward_same(_x(codes[:2]))
    b = net.forward_valid(_x(codes[:2]))
    assert a.shape == b.shape == (2, 101, 3)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-6, rtol=0)
