"""Step-1 classifier of the research log: is the variant splice-altering at all?

Ref and alt one-hots are stacked as 8 input channels of one gated encoder (one pass, and
every filter can compare the two alleles directly). The head reads the window-pooled
features and the features at the variant position. Its score is a probability
(``score_scale = "probability"``), so it is never read at SpliceAI's |delta| cut-offs: its
decision threshold is chosen on the validation split by the training loop
(``training.select_threshold``: F1 on validation re-weighted to the test split's class ratio),
never on test scores, and detection / FP are reported at that threshold.

Of the trained models it is the only one whose target is the label itself, so the only one
rewarded for calling a Splice-altering variant that SpliceAI misses.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from .layers import encoder_from_settings, one_hot_codes


class BinarySpliceClassifier(nn.Module):
    target_form = "binary"
    score_scale = "probability"  # sigmoid output: called at the validation-chosen threshold, not at |delta| 0.1

    def __init__(self, settings):
        super().__init__()
        hidden = int(settings.hidden_dim)
        dropout = float(settings.dropout)
        self.encoder = encoder_from_settings(settings, in_channels=8)
        self.head = nn.Sequential(
            nn.Linear(2 * hidden, hidden), nn.ReLU(), nn.Dropout(dropout), nn.Linear(hidden, 1)
        )

    def forward(self, batch: dict) -> dict:
        x = torch.cat([one_hot_codes(batch["ref"]), one_hot_codes(batch["alt"])], dim=1)
        features = self.encoder(x)
        centre = features[:, :, features.shape[2] // 2]
        logit = self.head(torch.cat([features.mean(dim=2), centre], dim=1)).squeeze(1)
        return {"logit": logit, "score": torch.sigmoid(logit.float())}

    def loss(self, outputs: dict, batch: dict) -> torch.Tensor:
        return F.binary_cross_entropy_with_logits(outputs["logit"].float(), batch["label"].float())


def build_binary_cnn(settings, *, window_length: int, profile_length: int) -> nn.Module:
    return BinarySpliceClassifier(settings)
