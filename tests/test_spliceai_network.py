"""SpliceAI-10k port: weights, layer order and parity with the Keras ensemble outputs."""
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
import torch

from validsplice.common.sequence import encode, one_hot, reverse_complement_codes
from validsplice.scoring.network import SKIP_TAPS, SPLICEAI_UNITS, ensemble_mean
from validsplice.scoring.weights import load_ensemble

DATA = Path(__file__).parent / "data" / "spliceai"


@pytest.fixture(scope="module")
def nets():
    """The five models, read from the .h5 files once for this module."""
    return load_ensemble()


@pytest.fixture(scope="module")
def windows():
    d = np.load(DATA / "spliceai_keras_windows.npz")
    codes = np.stack([encode(str(s)) for s in d["seqs"]])
    return codes, d["probs"], d["probs_revcomp"]


def _x(codes):
    return torch.from_numpy(one_hot(np.ascontiguousarray(codes))).permute(0, 2, 1).contiguous()


def test_graph_order_from_model_config(nets):
    assert len(nets) == 5
    for net in nets:
        assert [(u.shape.kernel, u.shape.dilation) for u in net.units] == SPLICEAI_UNITS
        assert net.skip_taps == SKIP_TAPS
        assert net.context == 10_000
    # the five models differ
    assert not torch.equal(nets[0].final.weight, nets[1].final.weight)


def _ensemble_same(nets, x):
    """ensemble_mean of the models' padded passes, two models at a time on one op thread each
    (ops release the GIL; results do not depend on the thread count)."""
    saved = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with ThreadPoolExecutor(2) as pool:
            return ensemble_mean(list(pool.map(lambda n: n.forward_same(x), nets))).numpy()
    finally:
        torch.set_num_threads(saved)


def test_keras_parity_same_padding_both_orientations(windows, nets):
    codes, probs, probs_rc = windows
    got = _ensemble_same(nets, _x(codes))
    np.testing.assert_allclose(got, probs, atol=1e-5, rtol=0)
    rc = reverse_complement_codes(codes)
    got_rc = _ensemble_same(nets, _x(rc))
    np.testing.assert_allclose(got_rc, probs_rc, atol=1e-5, rtol=0)
    # the README's landmarks: strong + strand acceptors at the centre of windows 0 and 1
    assert got[:, 50, 1].max() > 0.99


def test_cone_pass_equals_same_padding(windows, nets):
    codes, probs, _ = windows
    net = nets[0]
    a = net.forward_same(_x(codes[:2]))
    b = net.forward_valid(_x(codes[:2]))
    assert a.shape == b.shape == (2, 101, 3)
    np.testing.assert_allclose(a.numpy(), b.numpy(), atol=2e-6, rtol=0)


@pytest.mark.parametrize("kernel,dilation", [(11, 1), (11, 4), (21, 10), (41, 25)])
def test_channels_last_conv_equals_conv1d(kernel, dilation):
    """The CPU convolutions run as channels-last conv2d (speed); same values as conv1d, padded
    ('same', the plain path) or not (cone passes), on a batch of sliced, non-contiguous inputs."""
    from validsplice.scoring.network import ResidualUnit

    torch.manual_seed(0)
    unit = ResidualUnit(32, kernel, dilation)
    torch.nn.init.normal_(unit.conv1.weight, std=0.05)
    x = torch.randn(3, 32, 3000)[:, :, 7:2900]  # a slice, as the engine's trunk crops are
    for padding in (0, unit.shape.radius):
        want = torch.nn.functional.conv1d(x, unit.conv1.weight, unit.conv1.bias, padding=padding, dilation=dilation)
        got = unit._conv(unit.conv1, x, padding)
        # float32 sums of 32 x 41 terms in another order: equal to rounding, not bit for bit
        torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-5)
