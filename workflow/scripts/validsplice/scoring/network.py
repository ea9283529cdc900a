"""SpliceAI-10k in PyTorch, inference-only, with BatchNorm folded.

Architecture (Jaganathan et al. 2019; identical in the Keras files of PyPI ``spliceai``):
1x1 conv 4->32 gives the trunk ``t0``; 16 residual units
``t + conv2(relu(bn2(conv1(relu(bn1(t))))))`` in four groups of four with (kernel, dilation)
(11,1), (11,4), (21,10), (41,25); a 1x1 "skip" conv of ``t0`` and of the trunk after each group
is summed; the sum is cropped by 5,000 on each side, then a 1x1 conv 32->3 and softmax
(channels neither, acceptor, donor).

Inference folding: ``bn2`` follows ``conv1`` directly, so it is folded into conv1's weights and
bias (exact up to float rounding); ``bn1`` sits on the residual branch only (the unnormalised
trunk is also added back), so it stays as a per-channel scale and shift.

Two ways to run the same weights:
- ``forward_same``: the Keras computation verbatim (zero "same" padding in every conv, then crop);
  this is the plain reference path.
- ``forward_valid``: unpadded ("valid") convolutions. The receptive field radius is exactly
  5,000, so the outputs of a 10,000+k window are identical to ``forward_same``'s, and only the cone
  of positions that feeds them is ever computed. ``validsplice.scoring.incremental`` builds on this.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

# oneDNN keeps every convolution primitive it creates, up to 1,024 by default, keyed by shape, and
# the engine's shapes change with every cluster and batch: at batch 64 RSS rose by ~1.2 GB over the
# first thousand in-gene records scored (bench/README.md, "bench_engine_rss.py"). A job (one model on
# one cluster) uses 32 shapes for its reference pass and 32 per kind of indel among its alternates,
# and the next model's job on the same cluster reuses them if they are still cached; creating a
# primitive again costs 0.1-0.5 ms per convolution. 256 holds two workers' shapes for clusters with up
# to three kinds of alternates: 1.11x faster than 64 on the parity VCF, ~+90 MB at the peak (measured,
# bench/README.md). Read by oneDNN when it creates its first primitive; a value the user set wins.
os.environ.setdefault("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "256")

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from torch import nn  # noqa: E402

CONTEXT = 10_000  # total flank (5,000 each side) consumed by the network
SPLICEAI_UNITS = [(11, 1)] * 4 + [(11, 4)] * 4 + [(21, 10)] * 4 + [(41, 25)] * 4
SKIP_TAPS = (0, 4, 8, 12, 16)  # trunk tensors t_k feeding a skip conv


@dataclass(frozen=True)
class UnitShape:
    kernel: int
    dilation: int

    @property
    def radius(self) -> int:
        """Positions consumed on each side by one valid conv of this unit."""
        return (self.kernel - 1) * self.dilation // 2


class ResidualUnit(nn.Module):
    """One residual unit with bn2 folded into conv1."""

    def __init__(self, channels: int, kernel: int, dilation: int, negative_slope: float = 0.0):
        super().__init__()
        self.shape = UnitShape(kernel, dilation)
        self.negative_slope = negative_slope  # 0: ReLU (SpliceAI); 0.1: LeakyReLU (OpenSpliceAI)
        self.bn1_scale = nn.Parameter(torch.ones(channels), requires_grad=False)
        self.bn1_shift = nn.Parameter(torch.zeros(channels), requires_grad=False)
        self.conv1 = nn.Conv1d(channels, channels, kernel, dilation=dilation)
        self.conv2 = nn.Conv1d(channels, channels, kernel, dilation=dilation)

    def pre(self, t: torch.Tensor) -> torch.Tensor:
        """relu(bn1(t)) for (B, C, L) input."""
        return self.act(torch.addcmul(self.bn1_shift[:, None], t, self.bn1_scale[:, None]))

    def act(self, z: torch.Tensor) -> torch.Tensor:
        return torch.relu(z) if self.negative_slope == 0 else F.leaky_relu(z, self.negative_slope)

    def branch_first(self, a: torch.Tensor, padding: int = 0) -> torch.Tensor:
        """relu(bn2(conv1(a))) (bn2 folded), ``padding`` zeros each side (Keras 'same')."""
        return self.act(self._conv(self.conv1, a, padding))

    def branch_second(self, h: torch.Tensor, padding: int = 0) -> torch.Tensor:
        return self._conv(self.conv2, h, padding)

    def _conv(self, conv: nn.Conv1d, x: torch.Tensor, padding: int) -> torch.Tensor:
        """Dilated conv of (B, C, L) ``x``. On CPU it runs as a channels-last (B, C, 1, L) conv2d:
        oneDNN's channels-last kernels ran the 41/25 layers 2-5x and the others 1.2-2x faster
        than ``conv1d`` (bench/README.md, "Channels-last convolutions"). The result is a (B, C, L)
        view whose memory is position-major, which the next conv takes without a copy."""
        if x.device.type != "cpu":
            return F.conv1d(x, conv.weight, conv.bias, padding=padding, dilation=self.shape.dilation)
        # the weight's layout picks oneDNN's channels-last kernel (a 168 kB copy at most, per call)
        weight = conv.weight.unsqueeze(2).contiguous(memory_format=torch.channels_last)
        y = F.conv2d(x.unsqueeze(2), weight, conv.bias, padding=(0, padding), dilation=(1, self.shape.dilation))
        return y.squeeze(2)


class SpliceAINet(nn.Module):
    """One SpliceAI-10k model (or a network of the same family with other units).

    ``units`` lists (kernel, dilation) per residual unit; ``skip_taps`` the trunk indices that
    feed a skip conv (0 = after the initial conv, k = after unit k).
    """

    def __init__(self, units=SPLICEAI_UNITS, skip_taps=SKIP_TAPS, channels: int = 32,
                 in_channels: int = 4, out_channels: int = 3, negative_slope: float = 0.0):
        super().__init__()
        self.channels = channels
        self.initial = nn.Conv1d(in_channels, channels, 1)
        self.units = nn.ModuleList(ResidualUnit(channels, k, d, negative_slope) for k, d in units)
        self.skip_taps = tuple(skip_taps)
        self.skips = nn.ModuleList(nn.Conv1d(channels, channels, 1) for _ in self.skip_taps)
        self.final = nn.Conv1d(channels, out_channels, 1)
        self.context = 2 * sum(2 * u.shape.radius for u in self.units)
        self.eval()

    @property
    def half_context(self) -> int:
        return self.context // 2

    def head(self, skip_sum: torch.Tensor) -> torch.Tensor:
        """(B, C, L) skip sum -> (B, L, 3) probabilities."""
        return torch.softmax(self.final(skip_sum), dim=1).transpose(1, 2)

    @torch.no_grad()
    def forward_same(self, x: torch.Tensor) -> torch.Tensor:
        """Keras-verbatim pass: (B, 4, L) one-hot -> (B, L - context, 3) probabilities."""
        t = self.initial(x)
        taps = dict(zip(self.skip_taps, self.skips))
        s = taps[0](t) if 0 in taps else 0
        for k, unit in enumerate(self.units, start=1):
            pad = unit.shape.radius
            t = unit.branch_second(unit.branch_first(unit.pre(t), pad), pad) + t
            if k in taps:
                s = s + taps[k](t)
        h = self.half_context
        return self.head(s[:, :, h:s.shape[-1] - h])

    @torch.no_grad()
    def forward_valid(self, x: torch.Tensor) -> torch.Tensor:
        """Cone-only pass: (B, 4, L) -> (B, L - context, 3), identical outputs to
        ``forward_same`` but every conv is unpadded and skip taps are cropped to the outputs."""
        return self.head(self.skip_sum_valid(x))

    @torch.no_grad()
    def skip_sum_valid(self, x: torch.Tensor) -> torch.Tensor:
        """(B, 4, L) -> (B, channels, L - context): the sum of the skip convolutions, the network's last
        internal representation (what its 1x1 head turns into probabilities): the base-model embedding."""
        t = self.initial(x)
        n_out = x.shape[-1] - self.context
        taps = dict(zip(self.skip_taps, self.skips))
        consumed = 0

        def centre(z):
            off = self.half_context - consumed
            return z[:, :, off:off + n_out]

        s = taps[0](centre(t)) if 0 in taps else 0
        for k, unit in enumerate(self.units, start=1):
            r = unit.shape.radius
            h = unit.branch_first(unit.pre(t))
            t = unit.branch_second(h) + t[:, :, 2 * r:t.shape[-1] - 2 * r]
            consumed += 2 * r
            if k in taps:
                s = s + taps[k](centre(t))
        return s


def ensemble_mean(probs: list[torch.Tensor]) -> torch.Tensor:
    """Mean of the models' probabilities, summed in model order as numpy's mean does for 5."""
    total = probs[0].clone()
    for p in probs[1:]:
        total += p
    return total / len(probs)
