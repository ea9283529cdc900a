"""Building blocks shared by the CNN models (gated dilated residual encoder).

The encoder follows the research log's ValidatedDeltaPredictor: a 1x1 convolution embeds
the one-hot sequence, then gated residual blocks (dilated convolution producing 2x the
channels, output x sigmoid(gate), LayerNorm over channels, dropout, residual add) grow the
receptive field to a few hundred bases (dilations cycle 1, 2, 4, 8).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

N_CODE = 4


def one_hot_codes(codes: torch.Tensor, dtype=torch.float32) -> torch.Tensor:
    """(B, L) int codes (A0 C1 G2 T3 N4) -> (B, 4, L) one-hot; N is all-zero as in SpliceAI."""
    return F.one_hot(codes.long().clamp(0, N_CODE), N_CODE + 1)[..., :N_CODE].to(dtype).transpose(1, 2)


def centre_base_one_hot(codes: torch.Tensor) -> torch.Tensor:
    """(B, L) codes -> (B, 4) one-hot of the base at the window centre (index L // 2)."""
    centre = codes[:, codes.shape[1] // 2].long().clamp(0, N_CODE)
    return F.one_hot(centre, N_CODE + 1)[:, :N_CODE].float()


class ChannelLayerNorm(nn.Module):
    """LayerNorm over the channel axis of a (B, C, L) tensor."""

    def __init__(self, channels: int):
        super().__init__()
        self.norm = nn.LayerNorm(channels)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.norm(x.transpose(1, 2)).transpose(1, 2)


class GatedResidualBlock(nn.Module):
    """x + Dropout(LayerNorm(out * sigmoid(gate))), with (out, gate) = dilated Conv1d(x).

    'same' padding is done by hand: in torch 2.x on CPU ``padding="same"`` takes a path about
    100x slower than an explicit symmetric padding. Odd kernels pad symmetrically inside the
    convolution; even kernels pad like torch's 'same' (left = total // 2).
    """

    def __init__(self, hidden_dim: int, kernel_size: int, dilation: int, dropout: float):
        super().__init__()
        total = dilation * (kernel_size - 1)
        self.pad = (total // 2, total - total // 2)
        symmetric = self.pad[0] == self.pad[1]
        self.conv = nn.Conv1d(hidden_dim, 2 * hidden_dim, kernel_size, dilation=dilation,
                              padding=self.pad[0] if symmetric else 0)
        self.pre_pad = None if symmetric else self.pad
        self.norm = ChannelLayerNorm(hidden_dim)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x if self.pre_pad is None else F.pad(x, self.pre_pad)
        out, gate = self.conv(h).chunk(2, dim=1)
        return x + self.dropout(self.norm(out * torch.sigmoid(gate)))


class GatedEncoder(nn.Module):
    """One-hot channels (B, C_in, L) -> per-position features (B, hidden_dim, L)."""

    def __init__(self, in_channels: int, hidden_dim: int, n_layers: int, kernel_size: int, dropout: float):
        super().__init__()
        self.embed = nn.Conv1d(in_channels, hidden_dim, kernel_size=1)
        self.blocks = nn.ModuleList(
            GatedResidualBlock(hidden_dim, kernel_size, 2 ** (i % 4), dropout) for i in range(n_layers)
        )

    @property
    def receptive_field(self) -> int:
        return 1 + sum((b.conv.kernel_size[0] - 1) * b.conv.dilation[0] for b in self.blocks)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.embed(x)
        for block in self.blocks:
            h = block(h)
        return h


def check_profile_fits(model: str, profile_length: int, window_length: int) -> None:
    """A delta profile (2D+1 positions, centred on the variant) must be odd and lie inside the window."""
    from ..common.errors import UserError

    if profile_length % 2 != 1 or profile_length > window_length:
        raise UserError(
            f"{model}: the delta profile (2D+1 = {profile_length}) must be odd and fit in the window "
            f"({window_length}); set the experiment's window_length to at least {profile_length}."
        )


def encoder_from_settings(settings, in_channels: int) -> GatedEncoder:
    """A GatedEncoder sized by the experiment's settings (hidden_dim, n_layers, kernel_size, dropout)."""
    return GatedEncoder(in_channels, int(settings.hidden_dim), int(settings.n_layers), int(settings.kernel_size),
                        float(settings.dropout))


def seed_from_profile(profile: torch.Tensor) -> torch.Tensor:
    """(B, P, 2) [acceptor, donor] deltas -> (B, 3) (neither, acceptor, donor) at the position of
    largest |delta|; neither = -(acceptor + donor) because probabilities sum to one."""
    pos = profile.abs().amax(dim=2).argmax(dim=1)
    at = profile[torch.arange(profile.shape[0], device=profile.device), pos]
    return torch.cat([-(at[:, :1] + at[:, 1:2]), at], dim=1)
