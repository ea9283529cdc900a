"""Loading SpliceAI weights: the Keras ``.h5`` files shipped in PyPI ``spliceai`` and
OpenSpliceAI ``.pt`` checkpoints, into ``SpliceAINet``.

Keras: the layer order comes from the ``model_config`` graph (walking the residual trunk),
never from layer-name numbering (``conv1d_2`` is a skip conv, ``conv1d_3`` the first unit's conv).
Kernels are (k, in, out) and become torch's (out, in, k); BatchNorm uses Keras' epsilon (1e-3).
"""
from __future__ import annotations

import json
import logging
from functools import lru_cache
from pathlib import Path

import h5py
import numpy as np
import torch

from ..common.errors import UserError
from ..io.annotation import spliceai_package_dir
from .network import SpliceAINet

log = logging.getLogger(__name__)

KERAS_FILES = [f"spliceai{i}.h5" for i in range(1, 6)]


def _layer_graph(cfg: dict) -> dict[str, dict]:
    layers = {}
    for layer in cfg["config"]["layers"]:
        nodes = layer["inbound_nodes"]
        inbound = [n[0] for n in nodes[0]] if nodes else []
        layers[layer["name"]] = {"cls": layer["class_name"], "cfg": layer["config"], "in": inbound}
    return layers


def _consumers(layers: dict, name: str, cls: str) -> list[str]:
    return [n for n, layer in layers.items() if layer["cls"] == cls and name in layer["in"]]


def _one(items: list[str], what: str, path: Path) -> str:
    if len(items) != 1:
        raise UserError(f"{path}: unexpected SpliceAI graph: expected one {what}, found {items}. "
                        "Use the unmodified spliceai1..5.h5 files of PyPI spliceai 1.3.1.")
    return items[0]


def parse_keras_graph(cfg: dict, path: Path) -> dict:
    """Walk the Keras graph: initial conv, residual units (bn1, conv1, bn2, conv2), skip convs
    with the trunk index they tap, cropping and the final conv."""
    layers = _layer_graph(cfg)
    inp = _one([n for n, layer in layers.items() if layer["cls"] == "InputLayer"], "input", path)
    initial = _one(_consumers(layers, inp, "Conv1D"), "initial conv", path)
    trunk, units = [initial], []
    while True:
        bns = _consumers(layers, trunk[-1], "BatchNormalization")
        if not bns:
            break
        bn1 = _one(bns, "bn1", path)
        act1 = _one(_consumers(layers, bn1, "Activation"), "relu", path)
        conv1 = _one(_consumers(layers, act1, "Conv1D"), "conv1", path)
        bn2 = _one(_consumers(layers, conv1, "BatchNormalization"), "bn2", path)
        act2 = _one(_consumers(layers, bn2, "Activation"), "relu", path)
        conv2 = _one(_consumers(layers, act2, "Conv1D"), "conv2", path)
        add = _one([n for n in _consumers(layers, conv2, "Add") if trunk[-1] in layers[n]["in"]],
                   "residual add", path)
        c = layers[conv1]["cfg"]
        units.append({"bn1": bn1, "conv1": conv1, "bn2": bn2, "conv2": conv2,
                      "kernel": c["kernel_size"][0], "dilation": c["dilation_rate"][0],
                      "eps": (layers[bn1]["cfg"]["epsilon"], layers[bn2]["cfg"]["epsilon"])})
        trunk.append(add)
    skips = []
    for k, t in enumerate(trunk):
        for n in _consumers(layers, t, "Conv1D"):
            if layers[n]["cfg"]["kernel_size"][0] == 1 and (k > 0 or n != initial):
                skips.append((k, n))
    final = _one(cfg["config"]["output_layers"][0][:1], "output", path)
    crop_name = _one(layers[final]["in"], "cropping", path)
    cropping = layers[crop_name]["cfg"]["cropping"]
    return {"initial": initial, "units": units, "skips": skips, "final": final, "cropping": cropping}


def _kernel(group: h5py.Group, name: str) -> tuple[torch.Tensor, torch.Tensor]:
    g = group[name][name]
    w = np.asarray(g["kernel:0"], dtype=np.float64).transpose(2, 1, 0)  # (k,in,out) -> (out,in,k)
    b = np.asarray(g["bias:0"], dtype=np.float64)
    return w, b


def _bn(group: h5py.Group, name: str, eps: float) -> tuple[np.ndarray, np.ndarray]:
    g = group[name][name]
    gamma, beta = np.asarray(g["gamma:0"], np.float64), np.asarray(g["beta:0"], np.float64)
    mean, var = np.asarray(g["moving_mean:0"], np.float64), np.asarray(g["moving_variance:0"], np.float64)
    scale = gamma / np.sqrt(var + eps)
    return scale, beta - mean * scale


def _set(param: torch.nn.Parameter, value: np.ndarray) -> None:
    param.data.copy_(torch.from_numpy(np.ascontiguousarray(value)).to(param.dtype))


def load_keras_h5(path: str | Path) -> SpliceAINet:
    """One Keras SpliceAI model -> ``SpliceAINet`` with bn2 folded into conv1 (in float64)."""
    path = Path(path)
    try:
        f = h5py.File(path, "r")
    except OSError as exc:
        raise UserError(f"Cannot read SpliceAI weights {path}: {exc}. Reinstall PyPI spliceai.") from None
    with f:
        graph = parse_keras_graph(json.loads(f.attrs["model_config"]), path)
        skip_taps = [k for k, _ in graph["skips"]]
        net = SpliceAINet(units=[(u["kernel"], u["dilation"]) for u in graph["units"]], skip_taps=skip_taps)
        if net.context != sum(graph["cropping"]):
            raise UserError(f"{path}: cropping {graph['cropping']} does not match the receptive "
                            f"field {net.context}; not a SpliceAI-10k model.")
        mw = f["model_weights"]
        w, b = _kernel(mw, graph["initial"])
        _set(net.initial.weight, w), _set(net.initial.bias, b)
        for unit, spec in zip(net.units, graph["units"]):
            s1, h1 = _bn(mw, spec["bn1"], spec["eps"][0])
            _set(unit.bn1_scale, s1), _set(unit.bn1_shift, h1)
            w1, b1 = _kernel(mw, spec["conv1"])
            s2, h2 = _bn(mw, spec["bn2"], spec["eps"][1])
            _set(unit.conv1.weight, w1 * s2[:, None, None]), _set(unit.conv1.bias, b1 * s2 + h2)
            w2, b2 = _kernel(mw, spec["conv2"])
            _set(unit.conv2.weight, w2), _set(unit.conv2.bias, b2)
        for conv, (_, name) in zip(net.skips, graph["skips"]):
            w, b = _kernel(mw, name)
            _set(conv.weight, w), _set(conv.bias, b)
        w, b = _kernel(mw, graph["final"])
        _set(net.final.weight, w), _set(net.final.bias, b)
    return net.eval()


@lru_cache(maxsize=4)
def _cached_ensemble(kind: str, folder: str, device: str) -> tuple[SpliceAINet, ...]:
    if kind == "spliceai":
        root = Path(folder) if folder else spliceai_package_dir() / "models"
        nets = [load_keras_h5(root / name) for name in KERAS_FILES]
    elif kind == "openspliceai":
        from .openspliceai import load_openspliceai_folder
        nets = load_openspliceai_folder(folder)
    else:
        raise UserError(f"Unknown base model {kind!r}; use 'spliceai' or 'openspliceai'.")
    log.info("loaded %d %s models on %s", len(nets), kind, device)
    return tuple(n.to(device).eval() for n in nets)


def load_ensemble(kind: str = "spliceai", folder: str | Path = "", device: str = "cpu") -> list[SpliceAINet]:
    """The five models, loaded once per process (cached by kind, folder and device)."""
    return list(_cached_ensemble(kind, str(folder or ""), str(device)))
