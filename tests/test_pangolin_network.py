"""Our Pangolin network (``scoring/pangolin/network.py``) against a direct, unfolded evaluation of the
original architecture from the same state dict (written here from the architecture description in
the module docstring: BatchNorm kept separate, zero 'same' padding, 5,000-base crop, softmax head)."""
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from validsplice.common.errors import UserError
from validsplice.scoring.pangolin.network import expected_files, from_state_dict, head_for, load_pangolin_folder

WEIGHTS = Path(__file__).resolve().parents[1] / "tests" / "data" / "pangolin" / "weights"

UNITS = [(11, 1)] * 4 + [(11, 4)] * 4 + [(21, 10)] * 4 + [(41, 25)] * 4


def unfolded(state: dict, head: str, x: torch.Tensor) -> torch.Tensor:
    """Softmax channel 1 of ``head`` for (1, 4, L) one-hot ``x``, the original's computation order."""
    def bn(t, p):
        return F.batch_norm(t, state[p + ".running_mean"], state[p + ".running_var"], state[p + ".weight"],
                            state[p + ".bias"], training=False, eps=1e-5)

    conv = F.conv1d(x, state["conv1.weight"], state["conv1.bias"])
    skip = F.conv1d(conv, state["skip.weight"], state["skip.bias"])
    j = 0
    for i, (k, d) in enumerate(UNITS):
        p = f"resblocks.{i}."
        pad = d * (k - 1) // 2
        out = F.conv1d(torch.relu(bn(conv, p + "bn1")), state[p + "conv1.weight"], state[p + "conv1.bias"],
                       padding=pad, dilation=d)
        out = F.conv1d(torch.relu(bn(out, p + "bn2")), state[p + "conv2.weight"], state[p + "conv2.bias"],
                       padding=pad, dilation=d)
        conv = out + conv
        if (i + 1) % 4 == 0:
            skip = skip + F.conv1d(conv, state[f"convs.{j}.weight"], state[f"convs.{j}.bias"])
            j += 1
    skip = skip[:, :, 5000:-5000]
    return F.softmax(F.conv1d(skip, state[head + ".weight"], state[head + ".bias"]), dim=1)[0, 1]


@pytest.mark.parametrize("model", [0, 6])
def test_folded_network_matches_unfolded_evaluation(model):
    state = torch.load(WEIGHTS / f"final.1.{model}.3.v2", map_location="cpu", weights_only=True)
    rng = np.random.default_rng(model)
    codes = rng.integers(0, 5, 10_000 + 301)  # 4 = N (all-zero column)
    x = torch.from_numpy(np.concatenate([np.eye(4, dtype=np.float32), np.zeros((1, 4), np.float32)])[codes].T[None].copy())
    with torch.no_grad():
        want = unfolded(state, head_for(model), x).numpy()
        net = from_state_dict(state, head_for(model))
        same = net.forward_same(x)[0, :, 1].numpy()
        valid = net.forward_valid(x)[0, :, 1].numpy()
        other_head = from_state_dict(state, "conv_last3" if model == 0 else "conv_last1").forward_same(x)[0, :, 1]
    assert same.shape == (301,)
    assert np.abs(same - want).max() < 2e-6
    assert np.abs(valid - want).max() < 2e-6
    assert want.max() > 0.01  # a real signal, not all zeros
    assert np.abs(other_head.numpy() - want).max() > 1e-3  # the head choice matters


def test_loader_order_heads_and_shared_copies(tmp_path, pangolin_model_dir):
    assert expected_files()[:4] == ["final.1.0.3.v2", "final.2.0.3.v2", "final.3.0.3.v2", "final.1.2.3.v2"]
    assert [head_for(m) for m in (0, 2, 4, 6)] == ["conv_last1", "conv_last3", "conv_last5", "conv_last7"]
    nets = load_pangolin_folder(pangolin_model_dir(tmp_path / "m"))
    assert len(nets) == 12
    assert len({id(n) for n in nets}) == 4  # replicate copies share one network
    assert nets[0] is nets[2] and nets[0] is not nets[3]


def test_loader_names_missing_files(tmp_path, pangolin_model_dir):
    folder = pangolin_model_dir(tmp_path / "m")
    (folder / "final.3.6.3.v2").unlink()
    with pytest.raises(UserError, match=r"final\.3\.6\.3\.v2"):
        load_pangolin_folder(folder)
    with pytest.raises(UserError, match="does not exist"):
        load_pangolin_folder(tmp_path / "nowhere")


def test_loader_rejects_other_state_dicts(tmp_path):
    state = torch.load(WEIGHTS / "final.1.0.3.v2", map_location="cpu", weights_only=True)
    del state["convs.3.bias"]
    with pytest.raises(UserError, match="convs.3.bias"):
        from_state_dict(state, "conv_last1", "x.pt")
