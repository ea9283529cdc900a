"""Pangolin's weight files as ``SpliceAINet``s.

Pangolin's network (tkzeng/Pangolin ``pangolin/model.py``) is SpliceAI-10k's: a 1x1 conv 4->32,
16 residual units ``x + conv2(relu(bn2(conv1(relu(bn1(x))))))`` with (kernel, dilation) (11,1)x4,
(11,4)x4, (21,10)x4, (41,25)x4, a 1x1 skip conv of the first conv's output and of the trunk after
every fourth unit, summed and cropped by 5,000 on each side. Only the heads differ: eight 1x1
convs, four 2-channel softmax heads (splice-site probability, one per tissue) and four 1-channel
sigmoid heads (splice-site usage). Each weight file holds all eight heads.

What the ``pangolin`` command loads (``pangolin/pangolin.py``, ``main``): the twelve files
``final.{rep}.{model}.3.v2`` for model 0, 2, 4, 6 (heart, liver, brain, testis: the
splice-site-probability models) and replicate 1, 2, 3, in that order (model-major). For the models
of group g it reads output channel [1, 4, 7, 10][g], i.e. softmax channel 1 of head
``conv_last{2g+1}``. So each file becomes one ``SpliceAINet`` with that head as its 2-channel
final conv; channel 1 of its output is the probability the original reads. BatchNorm (eps 1e-5,
torch's default) is folded as in ``scoring.openspliceai``.

Identical files (the test fixture copies replicate 1 into every replicate's name) load as one
network object, so the engines run each distinct network once.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import torch

from ...common.errors import UserError
from ..network import SKIP_TAPS, SPLICEAI_UNITS, SpliceAINet

TISSUE_MODELS = (0, 2, 4, 6)  # heart, liver, brain, testis: P(splice site) models
REPLICATES = (1, 2, 3)
TISSUE_NAMES = ("heart", "liver", "brain", "testis")
BN_EPS = 1e-5
N_UNITS = 16


def weight_file(replicate: int, model: int) -> str:
    """The file name the original loads (``final.%s.%s.3.v2 % (j, i)``)."""
    return f"final.{replicate}.{model}.3.v2"


def expected_files() -> list[str]:
    """The twelve files in the original's model order (model-major, then replicate)."""
    return [weight_file(j, i) for i in TISSUE_MODELS for j in REPLICATES]


def head_for(model: int) -> str:
    """The head whose softmax channel 1 the original reads for ``model`` (0 -> conv_last1, ...)."""
    return f"conv_last{TISSUE_MODELS.index(model) * 2 + 1}"


def _f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy()


def expected_keys() -> set[str]:
    keys = {"conv1.weight", "conv1.bias", "skip.weight", "skip.bias"}
    for u in range(N_UNITS):
        for bn in ("bn1", "bn2"):
            keys |= {f"resblocks.{u}.{bn}.{p}" for p in ("weight", "bias", "running_mean", "running_var")}
        for conv in ("conv1", "conv2"):
            keys |= {f"resblocks.{u}.{conv}.{p}" for p in ("weight", "bias")}
    keys |= {f"convs.{k}.{p}" for k in range(4) for p in ("weight", "bias")}
    keys |= {f"conv_last{k}.{p}" for k in range(1, 9) for p in ("weight", "bias")}
    return keys


def from_state_dict(state: dict, head: str, source: str = "weights") -> SpliceAINet:
    """A folded ``SpliceAINet`` (2 output channels: ``head``) from a Pangolin state dict."""
    have = {k for k in state if not k.endswith("num_batches_tracked")}
    want = expected_keys()
    missing, unexpected = sorted(want - have), sorted(have - want)
    if missing or unexpected:
        raise UserError(f"{source}: not a Pangolin weight file: missing keys {missing[:6]}"
                        f"{' ...' if len(missing) > 6 else ''}, unexpected keys {unexpected[:6]}"
                        f"{' ...' if len(unexpected) > 6 else ''}. Pass the folder pangolin/models of the "
                        "tkzeng/Pangolin repository.")
    if tuple(state[f"{head}.weight"].shape) != (2, 32, 1):
        raise UserError(f"{source}: head {head} has shape {tuple(state[head + '.weight'].shape)}, expected (2, 32, 1).")
    net = SpliceAINet(units=SPLICEAI_UNITS, skip_taps=SKIP_TAPS, out_channels=2)

    def put(param, value):
        param.data.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(param.dtype))

    put(net.initial.weight, _f64(state["conv1.weight"]))
    put(net.initial.bias, _f64(state["conv1.bias"]))
    put(net.skips[0].weight, _f64(state["skip.weight"]))
    put(net.skips[0].bias, _f64(state["skip.bias"]))
    for k in range(4):
        put(net.skips[k + 1].weight, _f64(state[f"convs.{k}.weight"]))
        put(net.skips[k + 1].bias, _f64(state[f"convs.{k}.bias"]))
    put(net.final.weight, _f64(state[f"{head}.weight"]))
    put(net.final.bias, _f64(state[f"{head}.bias"]))
    for u, unit in enumerate(net.units):
        p = f"resblocks.{u}."

        def bn(name):
            scale = _f64(state[p + name + ".weight"]) / np.sqrt(_f64(state[p + name + ".running_var"]) + BN_EPS)
            return scale, _f64(state[p + name + ".bias"]) - _f64(state[p + name + ".running_mean"]) * scale

        if state[p + "conv1.weight"].shape[-1] != unit.shape.kernel:
            raise UserError(f"{source}: unit {u} has kernel {state[p + 'conv1.weight'].shape[-1]}, "
                            f"expected {unit.shape.kernel}.")
        s1, h1 = bn("bn1")
        s2, h2 = bn("bn2")
        put(unit.bn1_scale, s1)
        put(unit.bn1_shift, h1)
        put(unit.conv1.weight, _f64(state[p + "conv1.weight"]) * s2[:, None, None])
        put(unit.conv1.bias, _f64(state[p + "conv1.bias"]) * s2 + h2)
        put(unit.conv2.weight, _f64(state[p + "conv2.weight"]))
        put(unit.conv2.bias, _f64(state[p + "conv2.bias"]))
    return net.eval()


def load_pangolin_folder(folder: str | Path) -> list[SpliceAINet]:
    """The twelve networks of the ``pangolin`` command, in its order (``expected_files``).

    Byte-identical files give the same network object (see the module docstring)."""
    path = Path(folder) if folder else None
    if path is None or not path.is_dir():
        raise UserError(f"Pangolin model folder {str(folder)!r} does not exist; pass --model-dir, the folder "
                        "pangolin/models of the tkzeng/Pangolin repository (files final.REP.MODEL.3.v2).")
    names = expected_files()
    missing = [n for n in names if not (path / n).is_file()]
    if missing:
        raise UserError(f"{path}: missing Pangolin weight file(s) {', '.join(missing)}; the pangolin command "
                        "loads final.{1,2,3}.{0,2,4,6}.3.v2 (copy the whole pangolin/models folder).")
    by_digest: dict[tuple[str, str], SpliceAINet] = {}
    nets = []
    for name in names:
        model = int(name.split(".")[2])
        head = head_for(model)
        data = (path / name).read_bytes()
        key = (hashlib.sha256(data).hexdigest(), head)
        if key not in by_digest:
            try:
                state = torch.load(path / name, map_location="cpu", weights_only=True)
            except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
                raise UserError(f"{path / name}: cannot read Pangolin weights: {exc}") from None
            by_digest[key] = from_state_dict(state, head, str(path / name))
        nets.append(by_digest[key])
    return nets
