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
from .layers import check_profile_fits, encoder_from_settings, one_hot_codes


class PairedSpliceClassifier(nn.Module):
    target_form = "binary"
    score_scale = "probability"
    reads_base_model_delta = True

    def __init__(self, settings, window_length: int, profile_length: int):
        super().__init__()
        check_profile_fits("paired_cnn_classifier", profile_length, window_length)
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
        self.encoder = encoder_from_settings(settings, in_channels=4)
        per_position = 3 * hidden + 2 + 1  # (alt - ref, alt, ref) features, base delta (acceptor, donor), indel
        self.band = nn.Sequential(
            nn.Conv1d(per_position, hidden, kernel_size=1), nn.ReLU(), nn.Dropout(dropout),
            nn.Conv1d(hidden, hidden, kernel_size=1), nn.ReLU(),
        )
        self.head = nn.Sequential(
            nn.Linear(2 * hidden + 3 * hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )
        self.aux_head = nn.Conv1d(hidden, 2, kernel_size=1) if self.aux_delta_weight > 0 else None

    def set_class_balance(self, labels) -> None:
        """pos_weight = n_negative / n_positive of the training labels (1 when class_weight is 'none')."""
        labels = torch.as_tensor(labels, dtype=torch.float32)
        n_pos, n_neg = float(labels.sum()), float((1 - labels).sum())
        weight = n_neg / n_pos if self.class_weight == "balanced" and n_pos > 0 and n_neg > 0 else 1.0
        self.pos_weight.fill_(weight)

    @property
    def note(self) -> str:
        """Recorded in training.json: how classes were weighted and whether the auxiliary loss was on."""
        aux = f"auxiliary delta loss weight {self.aux_delta_weight:g}" if self.aux_head is not None else "no auxiliary loss"
        return f"BCE on the label, class_weight {self.class_weight} (pos_weight {float(self.pos_weight):.3g}); {aux}"

    def forward(self, batch: dict) -> dict:
        ref, alt = batch["ref"], batch["alt"]
        both = self.encoder(one_hot_codes(torch.cat([ref, alt], dim=0)))
        f_ref, f_alt = both.chunk(2, dim=0)
        half, centre = self.profile_length // 2, f_alt.shape[2] // 2
        band = slice(centre - half, centre + half + 1)
        indel = batch["indel_length"].to(f_alt.dtype)
        indel = torch.sign(indel) * torch.log1p(indel.abs())
        base = batch["base_profile"].to(f_alt.dtype).transpose(1, 2)  # (B, 2, P), window orientation
        n_pos = base.shape[2]
        x = torch.cat([f_alt[:, :, band] - f_ref[:, :, band], f_alt[:, :, band], f_ref[:, :, band], base,
                       indel[:, None, None].expand(-1, 1, n_pos)], dim=1)
        h = self.band(x)  # (B, hidden, P)
        p_ref, p_alt = f_ref.mean(dim=2), f_alt.mean(dim=2)
        pooled = torch.cat([h.mean(dim=2), h.amax(dim=2), p_alt - p_ref, p_alt, p_ref], dim=1)
        logit = self.head(pooled).squeeze(1)
        out = {"logit": logit, "score": torch.sigmoid(logit.float())}
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


def build_paired_cnn_classifier(settings, *, window_length: int, profile_length: int) -> nn.Module:
    return PairedSpliceClassifier(settings, window_length, profile_length)
