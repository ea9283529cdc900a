"""OpenSpliceAI checkpoints (``.pt`` state dicts) as ``SpliceAINet``.

Layout of OpenSpliceAI's ``SpliceAI`` module (``openspliceai/train_base/openspliceai.py``):
``initial_conv``, ``initial_skip.conv``, ``residual_units.N`` where every fifth entry is a
``Skip`` (``residual_units.N.conv``) after each group of four residual units
(``batchnorm1``, ``conv1``, ``batchnorm2``, ``conv2``), and ``final_conv``. Activations are
LeakyReLU(0.1), BatchNorm eps 1e-5 (torch default). The flanking size (80, 400, 2,000, 10,000)
follows from the number of residual units. The checkpoints' final conv gives logits; the
network's head applies the softmax exactly once.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import torch

from ..common.errors import UserError
from .network import SpliceAINet

# flank -> (kernel, dilation) per residual unit
FLANK_UNITS = {
    80: [(11, 1)] * 4,
    400: [(11, 1)] * 4 + [(11, 4)] * 4,
    2000: [(11, 1)] * 4 + [(11, 4)] * 4 + [(21, 10)] * 4,
    10000: [(11, 1)] * 4 + [(11, 4)] * 4 + [(21, 10)] * 4 + [(41, 25)] * 4,
}
BN_EPS = 1e-5
LEAKY_SLOPE = 0.1


def expected_keys(n_units: int) -> set[str]:
    keys = {f"{m}.{p}" for m in ("initial_conv", "initial_skip.conv", "final_conv") for p in ("weight", "bias")}
    index = 0
    for u in range(n_units):
        for bn in ("batchnorm1", "batchnorm2"):
            keys |= {f"residual_units.{index}.{bn}.{p}" for p in
                     ("weight", "bias", "running_mean", "running_var", "num_batches_tracked")}
        for conv in ("conv1", "conv2"):
            keys |= {f"residual_units.{index}.{conv}.{p}" for p in ("weight", "bias")}
        index += 1
        if (u + 1) % 4 == 0:
            keys |= {f"residual_units.{index}.conv.{p}" for p in ("weight", "bias")}
            index += 1
    return keys


def _count_units(state: dict) -> int:
    return len({m.group(1) for k in state if (m := re.match(r"residual_units\.(\d+)\.conv1\.weight$", k))})


def _f64(t: torch.Tensor) -> np.ndarray:
    return t.detach().cpu().to(torch.float64).numpy()


def from_state_dict(state: dict, source: str = "checkpoint") -> SpliceAINet:
    """Build a folded ``SpliceAINet`` from an OpenSpliceAI state dict (validated key layout)."""
    state = {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}
    n_units = _count_units(state)
    if n_units * 1 not in (len(u) for u in FLANK_UNITS.values()):
        raise UserError(f"{source}: found {n_units} residual units; OpenSpliceAI models have 4, 8, 12 or 16 "
                        "(flanking size 80, 400, 2,000 or 10,000).")
    want = expected_keys(n_units)
    have = {k for k in state if not k.endswith("num_batches_tracked")}
    want_core = {k for k in want if not k.endswith("num_batches_tracked")}
    missing, unexpected = sorted(want_core - have), sorted(have - want_core)
    if missing or unexpected:
        raise UserError(f"{source}: not an OpenSpliceAI state dict: missing keys {missing[:8]}"
                        f"{' ...' if len(missing) > 8 else ''}, unexpected keys {unexpected[:8]}"
                        f"{' ...' if len(unexpected) > 8 else ''}. Pass a folder of OpenSpliceAI .pt checkpoints.")
    flank = {len(u): f for f, u in FLANK_UNITS.items()}[n_units]
    units = FLANK_UNITS[flank]
    net = SpliceAINet(units=units, skip_taps=tuple(range(0, n_units + 1, 4)), negative_slope=LEAKY_SLOPE)

    def put(param, value):
        param.data.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(param.dtype))

    put(net.initial.weight, _f64(state["initial_conv.weight"]))
    put(net.initial.bias, _f64(state["initial_conv.bias"]))
    put(net.final.weight, _f64(state["final_conv.weight"]))
    put(net.final.bias, _f64(state["final_conv.bias"]))
    put(net.skips[0].weight, _f64(state["initial_skip.conv.weight"]))
    put(net.skips[0].bias, _f64(state["initial_skip.conv.bias"]))
    index, skip = 0, 1
    for u, unit in enumerate(net.units):
        p = f"residual_units.{index}."

        def bn(name):
            scale = _f64(state[p + name + ".weight"]) / np.sqrt(_f64(state[p + name + ".running_var"]) + BN_EPS)
            return scale, _f64(state[p + name + ".bias"]) - _f64(state[p + name + ".running_mean"]) * scale

        if tuple(state[p + "conv1.weight"].shape[-1:]) != (units[u][0],):
            raise UserError(f"{source}: unit {u} has kernel {state[p + 'conv1.weight'].shape[-1]}, "
                            f"expected {units[u][0]} for flank {flank}.")
        s1, h1 = bn("batchnorm1")
        s2, h2 = bn("batchnorm2")
        put(unit.bn1_scale, s1), put(unit.bn1_shift, h1)
        put(unit.conv1.weight, _f64(state[p + "conv1.weight"]) * s2[:, None, None])
        put(unit.conv1.bias, _f64(state[p + "conv1.bias"]) * s2 + h2)
        put(unit.conv2.weight, _f64(state[p + "conv2.weight"]))
        put(unit.conv2.bias, _f64(state[p + "conv2.bias"]))
        index += 1
        if (u + 1) % 4 == 0:
            q = f"residual_units.{index}.conv."
            put(net.skips[skip].weight, _f64(state[q + "weight"]))
            put(net.skips[skip].bias, _f64(state[q + "bias"]))
            skip += 1
            index += 1
    return net.eval()


def load_openspliceai_folder(folder: str | Path) -> list[SpliceAINet]:
    """Every ``*.pt`` in ``folder`` (sorted by name) as one ensemble member."""
    folder = Path(folder) if folder else None
    if folder is None or not folder.is_dir():
        raise UserError(f"OpenSpliceAI model folder {str(folder)!r} does not exist; set "
                        "base_model.openspliceai_dir to a folder of OpenSpliceAI .pt checkpoints.")
    files = sorted(folder.glob("*.pt"))
    if not files:
        raise UserError(f"{folder}: no .pt checkpoints found.")
    nets = []
    for f in files:
        try:
            state = torch.load(f, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - any unreadable file is the user's to fix
            raise UserError(f"{f}: cannot read checkpoint: {exc}") from None
        if isinstance(state, dict) and "state_dict" in state and isinstance(state["state_dict"], dict):
            state = state["state_dict"]
        nets.append(from_state_dict(state, str(f)))
    if len({n.context for n in nets}) != 1:
        raise UserError(f"{folder}: checkpoints with different flanking sizes; keep one size per folder.")
    return nets
