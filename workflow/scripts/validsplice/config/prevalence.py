"""The assumed prevalence: the share of Splice-altering the probabilities and thresholds are meant for.

One definition, used by calibration (``calibration.Calibrator``'s intercept correction) and by the
binary threshold (``training.select_threshold``): the Splice-altering share among the
Splice-altering + Normal variants of the labelled training data (train + val rows with a target,
before class balancing; ``results/targets/summary.json``). Nothing of the test split is used.
Kept free of heavy imports so the training rules depend on this file alone.
"""
from __future__ import annotations

from dataclasses import dataclass

POSITIVE, NEGATIVE = "Splice-altering", "Normal"


@dataclass(frozen=True)
class Prevalence:
    """The share of Splice-altering the probabilities and thresholds are meant for."""

    value: float | None
    source: str


def assumed_prevalence(target_summary: dict) -> Prevalence:
    """Splice-altering share of the labelled training data, from ``per_split_before_balancing``
    of the targets summary. ``value`` is None when the summary lacks the counts or a class.
    """
    before = target_summary.get("per_split_before_balancing") or {}
    n_pos = sum(int((before.get(s) or {}).get(POSITIVE, 0)) for s in ("train", "val"))
    n_neg = sum(int((before.get(s) or {}).get(NEGATIVE, 0)) for s in ("train", "val"))
    if not n_pos or not n_neg:
        return Prevalence(None, "not available (targets summary lacks Splice-altering or Normal training counts)")
    return Prevalence(n_pos / (n_pos + n_neg),
                      f"labelled training data (train + val before balancing: {n_pos} Splice-altering, "
                      f"{n_neg} Normal)")
