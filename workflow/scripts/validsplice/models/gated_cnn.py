"""Delta regressors trained on validated targets.

``gated_cnn`` is the research log's ValidatedDeltaPredictor, kept faithful: it sees only the
alt window (plus the ref/alt bases at the centre) and regresses the seed-form 3-vector.
``gated_cnn_paired`` is our improvement: ref and alt go through the same encoder, so the
model sees the *difference* the variant makes position by position, and it predicts the
whole delta profile in the central +-D band (the quantity SpliceAI scores are read from).

Both learn the validated targets of ``targets.py``: the base model's delta for Splice-altering
variants, zero for Normal. A Splice-altering variant the base model misses (delta ~0) is
therefore taught as "no effect"; only a classifier trained on the labels (``binary_cnn``) is
ever rewarded for calling it.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import centre_base_one_hot, check_profile_fits, encoder_from_settings, one_hot_codes, seed_from_profile


class ValidatedDeltaPredictor(nn.Module):
    """Alt window -> seed-form delta (neither, acceptor, donor); MSE loss."""

    target_form = "seed"
    score_scale = "delta"

    def __init__(self, settings):
        super().__init__()
        hidden = int(settings.hidden_dim)
        dropout = float(settings.dropout)
        self.encoder = encoder_from_settings(settings, in_channels=4)
        self.base_embedding = nn.Sequential(
            nn.Linear(8, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, hidden)
        )
        self.head = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden // 2), nn.ReLU(),
            nn.Linear(hidden // 2, 3),
        )

    def forward(self, batch: dict) -> dict:
        features = self.encoder(one_hot_codes(batch["alt"]))
        pooled = features.mean(dim=2)  # adaptive average pooling to length 1
        bases = torch.cat([centre_base_one_hot(batch["ref"]), centre_base_one_hot(batch["alt"])], dim=1)
        seed = self.head(torch.cat([pooled, self.base_embedding(bases)], dim=1))
        return {"seed": seed, "score": seed.abs().amax(dim=1)}

    def loss(self, outputs: dict, batch: dict) -> torch.Tensor:
        return F.mse_loss(outputs["seed"].float(), batch["target_seed"].float())


class PairedDeltaProfilePredictor(nn.Module):
    """Ref and alt through one shared encoder -> delta profile (2D+1, 2) in [-1, 1].

    Per position of the central band the head sees (alt - ref, alt, ref) features, the
    window-pooled versions of the same, and a signed log indel length, so insertions and
    deletions that shift the sequence are distinguishable from substitutions.

    With ``use_base_model: true`` the base model's own delta profile is an input too, and the
    prediction is ``gate * base_profile + correction``: a per-variant gate in [0, 1] (how far
    to trust the base model here) plus a bounded per-position correction. It starts close to
    the raw base model (gate ~0.88, correction 0).

    What it can learn: only to turn the base model *down*. Its training targets are the base
    model's own delta (Splice-altering) or zero (Normal), so for every variant the best
    prediction lies between zero and the base model's delta; the gate cannot exceed 1, and the
    correction is never rewarded for going beyond the base model's delta. A Splice-altering
    variant that SpliceAI misses has a target of ~0, exactly like a Normal variant, so this
    model cannot learn to detect it. It can beat raw SpliceAI only by lowering the score of
    variants SpliceAI over-calls (Normal variants with a high SpliceAI delta).
    """

    target_form = "profile"
    score_scale = "delta"

    def __init__(self, settings, window_length: int, profile_length: int):
        super().__init__()
        check_profile_fits("gated_cnn_paired", profile_length, window_length)
        hidden = int(settings.hidden_dim)
        dropout = float(settings.dropout)
        self.profile_length = profile_length
        self.max_delta_weight = float(settings.max_delta_weight)
        self.use_base_model = bool(settings.use_base_model)
        base_channels = 2 if self.use_base_model else 0
        self.encoder = encoder_from_settings(settings, in_channels=4)
        self.head = nn.Sequential(
            nn.Conv1d(6 * hidden + 1 + base_channels, hidden, kernel_size=1), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden // 2, kernel_size=1), nn.ReLU(),
            nn.Conv1d(hidden // 2, 2, kernel_size=1),
        )
        if self.use_base_model:
            self.gate = nn.Sequential(
                nn.Linear(6 * hidden + 2, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
            )
            nn.init.zeros_(self.gate[-1].weight)
            nn.init.constant_(self.gate[-1].bias, 2.0)
            nn.init.zeros_(self.head[-1].weight)
            nn.init.zeros_(self.head[-1].bias)

    @property
    def reads_base_model_delta(self) -> bool:
        """The base model's delta (the source of the targets) is an input: Correlation is by construction."""
        return self.use_base_model

    def forward(self, batch: dict) -> dict:
        ref, alt = batch["ref"], batch["alt"]
        both = self.encoder(one_hot_codes(torch.cat([ref, alt], dim=0)))
        f_ref, f_alt = both.chunk(2, dim=0)
        length = f_alt.shape[2]
        half = self.profile_length // 2
        centre = length // 2
        band = slice(centre - half, centre + half + 1)
        local = torch.cat([f_alt[:, :, band] - f_ref[:, :, band], f_alt[:, :, band], f_ref[:, :, band]], dim=1)
        p_ref, p_alt = f_ref.mean(dim=2), f_alt.mean(dim=2)
        pooled = torch.cat([p_alt - p_ref, p_alt, p_ref], dim=1)
        indel = batch["indel_length"].to(local.dtype)
        indel = torch.sign(indel) * torch.log1p(indel.abs())
        n_pos = local.shape[2]
        x = torch.cat(
            [local, pooled[:, :, None].expand(-1, -1, n_pos), indel[:, None, None].expand(-1, 1, n_pos)], dim=1
        )
        if not self.use_base_model:
            profile = torch.tanh(self.head(x)).transpose(1, 2)  # (B, P, 2)
        else:
            base = batch["base_profile"].to(local.dtype)  # (B, P, 2), window orientation
            correction = torch.tanh(self.head(torch.cat([x, base.transpose(1, 2)], dim=1))).transpose(1, 2)
            base_max = base.abs().amax(dim=(1, 2))
            gate_in = torch.cat([pooled, local.mean(dim=2), base_max[:, None], indel[:, None]], dim=1)
            gate = torch.sigmoid(self.gate(gate_in))[:, :, None]  # (B, 1, 1)
            profile = (gate * base + correction).clamp(-1.0, 1.0)
        return {
            "profile": profile,
            "seed": seed_from_profile(profile),
            "score": profile.abs().amax(dim=(1, 2)),
        }

    def loss(self, outputs: dict, batch: dict) -> torch.Tensor:
        pred = outputs["profile"].float()
        target = batch["target_profile"].float()
        loss = F.mse_loss(pred, target)
        if self.max_delta_weight:
            loss = loss + self.max_delta_weight * F.mse_loss(outputs["score"].float(), target.abs().amax(dim=(1, 2)))
        return loss


def build_gated_cnn(settings, *, window_length: int, profile_length: int) -> nn.Module:
    return ValidatedDeltaPredictor(settings)


def build_gated_cnn_paired(settings, *, window_length: int, profile_length: int) -> nn.Module:
    return PairedDeltaProfilePredictor(settings, window_length, profile_length)
