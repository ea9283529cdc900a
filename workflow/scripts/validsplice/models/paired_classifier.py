"""``paired_cnn_classifier``: the paired CNN's encoder plus SpliceAI's delta, trained on the label.

Ref and alt windows go through one shared gated encoder (``gated_cnn_paired``'s), so the
head sees per position of the central +-D band what the variant changes (alt - ref, alt,
ref features), SpliceAI's own delta profile there (``base_profile``, as
``paired_cnn_spliceai`` reads it) and a signed log indel length. The band is pooled (mean and
max) together with the window-pooled features into one logit.

Target: the label (Splice-altering = 1, Normal = 0), binary cross-entropy. Unlike the delta
regressors it is rewarded for calling a Splice-altering variant that SpliceAI scores low,
and it may learn to override SpliceAI in either direction. Its score is a probability
(``score_scale`` probability), called at the threshold chosen on validation.

Class imbalance: by weighting, ``class_weight: balanced`` (default) sets BCE's ``pos_weight``
to n_Normal / n_Splice-altering of the training table (``set_class_balance``, called by the
training loop; kept in the state dict so a saved model rebuilds with it). With
``targets.balance: true`` that table is already balanced by the targets stage and the weight is 1.

Starting point (issue 19): with ``base_offset`` (default) the logit is the calibrated base-model logit plus a
learned correction whose last layer starts at zero (``models.offset``), so the untrained model's probability
is calibrated SpliceAI's; ``set_base_calibrator`` (called by the training loop with spliceai_raw's
calibrator.json) switches the offset on. The offset carries the class prior, so the default class weighting
is none.

Why it did not learn before (issue 19; tests/test_models_classifier.py reproduces it on a profile whose DS
decides the label): the base delta profile entered the per-position 1x1 convolutions raw, two channels of
values mostly below 0.05 beside 3 x hidden_dim LayerNorm-ed encoder features of size ~1, and the label
turns on differences between 0.01 and 0.1 (Vex-seq: DS alone ranks at 0.77 with most DS < 0.05). Its
weight in the first layer's output was ~1 % of the sequence features', so the head fitted the (random,
on a few thousand windows: unlearnable) sequence features and train loss stayed flat. Fixed by reading
the profile on a log-like scale, ``asinh(delta / profile_scale)`` (0.01 -> 0.9, 0.1 -> 3.0, 1 -> 5.3), and
giving the head the profile's four DS-like maxima (gain and loss per acceptor / donor channel) on the same
scale directly. Window-pooled features average only over real bases: in a reporter construct most of a
501-base window is N, whose constant features swamped the mean.

Several base models (issue 20 §3): with config ``base_models`` the profile holds every configured base model's
profile, the primary's two channels first, then two per additional model in config order (OpenSpliceAI:
acceptor, donor like SpliceAI; Pangolin: gain, loss), ``profile_channels`` in all (2 per model). Each channel
is read on the same asinh scale, and the head gets each channel's largest gain and loss (2 x channels DS-like
summaries). The offset stays the primary's calibrated logit. With the primary alone (2 channels) the layers,
and so the seeded initialisation, are those of before.

Multi-task option (an open question of the research log): ``aux_delta_weight`` > 0 adds a
per-position head predicting the validated delta profile (the targets' ``target_profile``:
SpliceAI's delta for Splice-altering, zero for Normal) with an MSE loss of that weight;
0 (default) switches it off and the head is not built.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from ..common.errors import UserError
from .layers import N_CODE, check_profile_fits, encoder_from_settings, one_hot_codes
from .offset import BaseModelOffset, zero_last_layer

N_BASE_SUMMARY = 4  # the profile's max gain and max loss of each channel (acceptor, donor): SpliceAI's DS_AG, AL, DG, DL


class PairedSpliceClassifier(nn.Module):
    target_form = "binary"
    score_scale = "probability"
    reads_base_model_delta = True

    def __init__(self, settings, window_length: int, profile_length: int, profile_channels: int = 2):
        super().__init__()
        check_profile_fits("paired_cnn_classifier", profile_length, window_length)
        if profile_channels < 2 or profile_channels % 2:
            raise UserError(f"paired_cnn_classifier: profile_channels {profile_channels} must be 2 per base model "
                            "(the primary's 2, then 2 per additional base model).")
        self.profile_channels = int(profile_channels)
        hidden = int(settings.hidden_dim)
        dropout = float(settings.dropout)
        self.profile_length = profile_length
        self.aux_delta_weight = float(settings.aux_delta_weight)
        if self.aux_delta_weight < 0:
            raise UserError(f"paired_cnn_classifier: aux_delta_weight {self.aux_delta_weight} must be >= 0 (0 = off).")
        class_weight = settings.class_weight
        if class_weight not in ("balanced", "none"):
            raise UserError(f"paired_cnn_classifier: class_weight {class_weight!r} unknown; use 'balanced' or 'none'.")
        self.class_weight = class_weight
        self.register_buffer("pos_weight", torch.ones(()))
        self.profile_scale = float(settings.profile_scale)
        if self.profile_scale <= 0:
            raise UserError(f"paired_cnn_classifier: profile_scale {self.profile_scale} must be > 0.")
        self.use_offset = bool(settings.base_offset)
        self.offset = BaseModelOffset()
        self.encoder = encoder_from_settings(settings, in_channels=4)
        # (alt - ref, alt, ref) features, base deltas (primary: acceptor, donor; then 2 per additional model), indel
        per_position = 3 * hidden + self.profile_channels + 1
        self.band = nn.Sequential(
            nn.Conv1d(per_position, hidden, kernel_size=1), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden, kernel_size=1), nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * hidden + 3 * hidden + N_BASE_SUMMARY * self.profile_channels // 2, hidden), nn.ReLU(),
            nn.Dropout(dropout),
            nn.Linear(hidden, 1)
        )
        zero_last_layer(self.head[-1])  # the correction to the offset starts at 0
        self.aux_head = nn.Conv1d(hidden, 2, kernel_size=1) if self.aux_delta_weight > 0 else None

    def set_class_balance(self, labels) -> None:
        """pos_weight = n_negative / n_positive of the training labels (1 when class_weight is 'none')."""
        labels = torch.as_tensor(labels, dtype=torch.float32)
        n_pos, n_neg = float(labels.sum()), float((1 - labels).sum())
        weight = n_neg / n_pos if self.class_weight == "balanced" and n_pos > 0 and n_neg > 0 else 1.0
        self.pos_weight.fill_(weight)

    def set_base_calibrator(self, calibrator) -> None:
        """Start from this calibrator's logit of the base score (spliceai_raw's); ignored with base_offset false."""
        if self.use_offset:
            self.offset.set_calibrator(calibrator)

    @property
    def note(self) -> str:
        """Recorded in training.json: the offset, how classes were weighted and whether the auxiliary loss was on."""
        aux = f"auxiliary delta loss weight {self.aux_delta_weight:g}" if self.aux_head is not None else "no auxiliary loss"
        return (f"{self.offset.describe()}; BCE on the label, class_weight {self.class_weight} "
                f"(pos_weight {float(self.pos_weight):.3g}); {aux}")

    def scaled_profile(self, profile: torch.Tensor) -> torch.Tensor:
        """The base delta on a log-like scale (sign kept): the label turns on 0.01 vs 0.1 as much as on 0.1 vs 1."""
        return torch.asinh(profile / self.profile_scale)

    def forward(self, batch: dict) -> dict:
        ref, alt = batch["ref"], batch["alt"]
        both = self.encoder(one_hot_codes(torch.cat([ref, alt], dim=0)))
        f_ref, f_alt = both.chunk(2, dim=0)
        half, centre = self.profile_length // 2, f_alt.shape[2] // 2
        band = slice(centre - half, centre + half + 1)
        indel = batch["indel_length"].to(f_alt.dtype)
        indel = torch.sign(indel) * torch.log1p(indel.abs())
        raw = batch["base_profile"]
        if raw.shape[2] != self.profile_channels:
            raise UserError(f"paired_cnn_classifier: base_profile has {raw.shape[2]} channels but the model reads "
                            f"{self.profile_channels} (2 per base model it was trained with).")
        profile = self.scaled_profile(raw.float()).to(f_alt.dtype)  # (B, P, C)
        base = profile.transpose(1, 2)  # (B, C, P), window orientation
        n_pos = base.shape[2]
        x = torch.cat([f_alt[:, :, band] - f_ref[:, :, band], f_alt[:, :, band], f_ref[:, :, band], base,
                       indel[:, None, None].expand(-1, 1, n_pos)], dim=1)
        h = self.band(x)  # (B, hidden, P)
        # mean over real bases only: N padding (most of a reporter construct's window) carries no sequence
        real = (ref < N_CODE).to(f_ref.dtype)[:, None, :]
        n_real = real.sum(dim=2).clamp(min=1.0)
        p_ref, p_alt = (f_ref * real).sum(dim=2) / n_real, (f_alt * real).sum(dim=2) / n_real
        summary = torch.cat([base.amax(dim=2), (-base).amax(dim=2)], dim=1)  # gains, losses (asinh scale)
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2), p_alt - p_ref, p_alt, p_ref, summary], dim=1)
        correction = self.head(pooled).squeeze(1).float()
        offset = self.offset(batch["base_score"]).float() if "base_score" in batch else torch.zeros_like(correction)
        logit = offset + correction
        out = {"logit": logit, "score": torch.sigmoid(logit), "offset_logit": offset}
        if self.aux_head is not None:
            out["profile"] = torch.tanh(self.aux_head(h)).transpose(1, 2)  # (B, P, 2)
        return out

    def loss(self, outputs: dict, batch: dict) -> torch.Tensor:
        loss = F.binary_cross_entropy_with_logits(outputs["logit"].float(), batch["label"].float(),
                                                  pos_weight=self.pos_weight)
        if self.aux_head is not None:
            loss = loss + self.aux_delta_weight * F.mse_loss(outputs["profile"].float(),
                                                             batch["target_profile"].float())
        return loss


def build_paired_cnn_classifier(settings, *, window_length: int, profile_length: int,
                                profile_channels: int = 2) -> nn.Module:
    return PairedSpliceClassifier(settings, window_length, profile_length, profile_channels)
