"""The base-model offset: a label-trained network starts from calibrated SpliceAI and learns a correction.

A classifier that reads the base model's scores predicts

    logit P(Splice-altering) = offset + correction,  offset = slope * base_score + intercept,

with ``(slope, intercept)`` the Platt calibrator of the baseline (``results/models/spliceai_raw/
calibrator.json``, the map that makes ``spliceai_calibrated``) and ``base_score`` the baseline's own score
(SpliceAI's max DS of the variant's gene, 0.0 where it was not scored, as ``spliceai_raw``). The correction
is the network's last layer, initialised to zero (``zero_last_layer``), so before any training the model's
probability IS calibrated SpliceAI's, and training can only move away from it where the labels say so; with
early stopping the loop keeps the offset alone when no epoch beats it on validation (``loop.fit``).

Why an offset and not one more input: on a few thousand labelled variants a network that has to rediscover
what SpliceAI already knows from the raw profile mostly learns noise (the issue's ``paired_classifier``
ranked validation at 0.45 while SpliceAI's DS alone ranked it at 0.77); starting from the calibrated base
model, the labels pay only for what SpliceAI gets wrong.

The calibrator's numbers are buffers of the module, so ``model.pt`` carries them and a saved model rebuilds
its offset anywhere (``validsplice predict``) without the baseline's folder.
"""
from __future__ import annotations

import torch
from torch import nn


class BaseModelOffset(nn.Module):
    """``forward(base_score) -> offset logit``; 0 until ``set_calibrator`` is called (offset off)."""

    def __init__(self):
        super().__init__()
        self.register_buffer("slope", torch.zeros((), dtype=torch.float64))
        self.register_buffer("intercept", torch.zeros((), dtype=torch.float64))
        self.register_buffer("active", torch.zeros((), dtype=torch.bool))

    def set_calibrator(self, calibrator) -> None:
        """Take ``(slope, intercept)`` of a ``training.calibration.Calibrator`` fitted on the baseline's score."""
        if getattr(calibrator, "input", "score") != "score":
            raise ValueError(f"the base-model offset reads a delta-scale score; the calibrator's input is "
                             f"{calibrator.input!r} (is it spliceai_raw's calibrator.json?)")
        self.slope.fill_(float(calibrator.slope))
        self.intercept.fill_(float(calibrator.intercept))
        self.active.fill_(True)

    @property
    def is_active(self) -> bool:
        return bool(self.active)

    def forward(self, base_score: torch.Tensor) -> torch.Tensor:
        # float64 as Calibrator.apply computes it, so the untrained model matches spliceai_calibrated to ~1e-12
        logit = self.slope * base_score.double() + self.intercept
        return torch.where(self.active, logit, torch.zeros_like(logit))

    def describe(self) -> str:
        if not self.is_active:
            return "no base-model offset (starts from logit 0)"
        return (f"starts from calibrated SpliceAI: logit = {float(self.slope):.4g} * max DS + "
                f"{float(self.intercept):.4g} + learned correction (initialised to 0)")


def zero_last_layer(layer: nn.Linear) -> None:
    """The learned correction starts at exactly 0 (weights and bias), so training starts from the offset."""
    nn.init.zeros_(layer.weight)
    if layer.bias is not None:
        nn.init.zeros_(layer.bias)
