"""Point metrics: ranking metrics, rates, Pearson r, curves, and DeLong's paired test.

Definitions (as in the research log):

- Headline metrics use Splice-altering (positive, 1) vs Normal (0) only. Low-frequency and
  Conflicting variants are summarized separately (``other_class_summary``) and never enter
  them.
- Pearson r: predicted vs target max |delta| on Splice-altering variants, only for models
  with a delta prediction (``pred_max_abs_delta`` not all NaN); undefined otherwise.
- ROC-AUC (Mann-Whitney form, ties count 1/2) and PR-AUC (average precision, the step-wise
  sum of scikit-learn's ``average_precision_score``) of ``score``.
- Detection rate: share of Splice-altering with ``score > detection_threshold`` (0.1);
  false-positive rate: share of Normal with ``score > detection_threshold``. That cut-off is
  a |delta|, so it holds for delta-scale scores only; for a probability-scale score (a
  classifier) ``evaluation`` passes the threshold chosen on validation and ``>=``.
- Sensitivity / specificity at cut-offs (SpliceAI's 0.2, 0.5, 0.8, and a binary model's
  validation-chosen threshold): a variant is called splice-altering when ``score >= cut-off``
  (SpliceAI's "delta score >= 0.5" wording), whereas detection uses the strict ``> 0.1`` of
  the research log.

Intervals, paired comparisons, Holm and the calibration metrics (all by the cluster bootstrap over gene
groups) are in ``evaluation.cluster_bootstrap``, which evaluates these metrics as weighted statistics.
``delong_paired`` (DeLong's test) stays as a secondary comparison; it assumes independent variants.

Undefined values are NaN (``None`` in JSON) with a ``reason`` string; nothing raises for a
single class, an empty set, constant scores or ties.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import norm

from ..config.naming import BASELINE, CLASSES, NEGATIVE, OTHER_CLASSES, POSITIVE  # noqa: F401 (re-exported)

log = logging.getLogger("validsplice.evaluation.metrics")

@dataclass
class Estimate:
    """A metric value with its 95 % interval; ``value`` NaN means undefined (see ``reason``)."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    reason: str | None = None
    extra: dict = field(default_factory=dict)
    n_groups: int | None = None   # gene groups among the n variants (the bootstrap's resampling units)

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    def to_dict(self) -> dict:
        out = {
            "value": json_safe(self.value),
            "ci_low": json_safe(self.ci_low),
            "ci_high": json_safe(self.ci_high),
            "n": int(self.n),
            "reason": self.reason,
        }
        if self.n_groups is not None:
            out["n_groups"] = int(self.n_groups)
        out.update({k: json_safe(v) for k, v in self.extra.items()})
        return out


def json_safe(value):
    """JSON-safe scalar: NaN/inf → None, numpy scalars → Python."""
    if value is None:
        return None
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    return value


# ----------------------------------------------------------------- point metrics
def _ranking_undefined(y: np.ndarray) -> str | None:
    n_pos = int(y.sum())
    if y.size == 0:
        return "no Splice-altering or Normal variants"
    if n_pos == 0:
        return "no Splice-altering variants (single class)"
    if n_pos == y.size:
        return "no Normal variants (single class)"
    return None


def _sorted_groups(scores: np.ndarray):
    """Descending order of ``scores`` and the last index of each run of tied scores."""
    order = np.argsort(-scores, kind="mergesort")
    s = scores[order]
    ends = np.flatnonzero(np.r_[s[1:] != s[:-1], True])
    return order, ends


def weighted_ranking_metrics(scores, y, weights) -> tuple[np.ndarray, np.ndarray]:
    """ROC-AUC and average precision for each row of ``weights`` (B, n) at once.

    A weight is how often a variant appears in a bootstrap resample (all ones = the point
    estimate). Cumulative positive/negative weights at each distinct score threshold give
    the ROC steps; ties move up and right together (trapezoid = 1/2 credit), exactly the
    Mann-Whitney statistic. Average precision is sum_k (R_k - R_{k-1}) P_k over thresholds.
    """
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
    order, ends = _sorted_groups(scores)
    w = weights[:, order]
    yo = y[order]
    tp = np.cumsum(np.where(yo, w, 0.0), axis=1)[:, ends]
    fp = np.cumsum(np.where(yo, 0.0, w), axis=1)[:, ends]
    p_total, n_total = tp[:, -1], fp[:, -1]
    d_tp = np.diff(tp, axis=1, prepend=0.0)
    d_fp = np.diff(fp, axis=1, prepend=0.0)
    tp_prev = tp - d_tp
    with np.errstate(invalid="ignore", divide="ignore"):
        auc = (d_fp * (tp_prev + 0.5 * d_tp)).sum(axis=1) / (p_total * n_total)
        precision = np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        ap = (d_tp * precision).sum(axis=1) / p_total
    return auc, ap


def roc_auc(y, scores) -> tuple[float, str | None]:
    """ROC-AUC (ties count 1/2); (NaN, reason) with a single class or no data."""
    y = np.asarray(y)
    reason = _ranking_undefined(y)
    if reason:
        return math.nan, reason
    auc, _ = weighted_ranking_metrics(scores, y, np.ones((1, y.size)))
    return float(auc[0]), None


def average_precision(y, scores) -> tuple[float, str | None]:
    """PR-AUC as average precision; (NaN, reason) with a single class or no data."""
    y = np.asarray(y)
    reason = _ranking_undefined(y)
    if reason:
        return math.nan, reason
    _, ap = weighted_ranking_metrics(scores, y, np.ones((1, y.size)))
    return float(ap[0]), None


def pearson_r(x, y) -> tuple[float, str | None]:
    """Pearson correlation; (NaN, reason) for fewer than 3 pairs or a constant side."""
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size < 3:
        return math.nan, f"fewer than 3 Splice-altering variants with both values (n={x.size})"
    r = weighted_pearson(x, y, np.ones((1, x.size)))[0]
    if math.isnan(r):
        side = "predicted" if np.ptp(x) == 0 else "target"
        return math.nan, f"{side} max |delta| is constant"
    return float(r), None


def weighted_pearson(x, y, weights) -> np.ndarray:
    w = np.atleast_2d(weights)
    total = w.sum(axis=1, keepdims=True)
    mx = (w * x).sum(axis=1, keepdims=True) / total
    my = (w * y).sum(axis=1, keepdims=True) / total
    dx, dy = x - mx, y - my
    cov = (w * dx * dy).sum(axis=1)
    var = (w * dx * dx).sum(axis=1) * (w * dy * dy).sum(axis=1)
    scale = np.maximum(np.abs(x).max(initial=0), np.abs(y).max(initial=0)) or 1.0
    with np.errstate(invalid="ignore", divide="ignore"):
        r = np.where(var > (1e-12 * scale**2 * total[:, 0]) ** 2, cov / np.sqrt(var), np.nan)
    return np.clip(r, -1.0, 1.0)


def rate_above(scores, threshold: float, inclusive: bool = False) -> tuple[float, str | None]:
    """Share of ``scores`` strictly above ``threshold`` (``>=`` when inclusive); (NaN, reason) when empty."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return math.nan, "no variants of this class"
    if threshold is None or (isinstance(threshold, float) and math.isnan(threshold)):
        return math.nan, "no detection threshold"
    return float(called_mask(scores, threshold, inclusive).mean()), None


def called_mask(scores: np.ndarray, threshold: float, inclusive: bool) -> np.ndarray:
    return scores >= threshold if inclusive else scores > threshold


def roc_curve(y, scores) -> tuple[np.ndarray, np.ndarray]:
    """(false-positive rate, true-positive rate) from (0, 0) to (1, 1), one point per threshold."""
    y = np.asarray(y).astype(bool)
    order, ends = _sorted_groups(np.asarray(scores, dtype=np.float64))
    tp = np.cumsum(y[order])[ends]
    fp = np.cumsum(~y[order])[ends]
    return np.r_[0.0, fp / max(fp[-1], 1)], np.r_[0.0, tp / max(tp[-1], 1)]


def pr_curve(y, scores) -> tuple[np.ndarray, np.ndarray]:
    """(recall, precision) per threshold, starting at recall 0 with precision 1."""
    y = np.asarray(y).astype(bool)
    order, ends = _sorted_groups(np.asarray(scores, dtype=np.float64))
    tp = np.cumsum(y[order])[ends]
    called = ends + 1
    return np.r_[0.0, tp / max(tp[-1], 1)], np.r_[1.0, tp / called]


# ----------------------------------------------------------------- DeLong
def midranks(x: np.ndarray) -> np.ndarray:
    """1-based ranks with ties given their average rank, in O(n log n)."""
    x = np.asarray(x, dtype=np.float64)
    order = np.argsort(x, kind="mergesort")
    xs = x[order]
    starts = np.flatnonzero(np.r_[True, xs[1:] != xs[:-1]])
    ends = np.r_[starts[1:], xs.size]
    avg = (starts + ends + 1) / 2.0  # mean of 1-based ranks start+1 .. end
    ranks = np.empty(x.size)
    ranks[order] = np.repeat(avg, ends - starts)
    return ranks


def delong_components(y, scores_matrix) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong structural components for k score vectors (k, n) on the same variants.

    Fast form of Sun & Xu (2014): with midranks of the positives alone (tx), negatives alone
    (ty) and pooled (tz), V10_i = (tz_i - tx_i) / n and V01_j = 1 - (tz_j - ty_j) / m.
    Returns (auc (k,), v10 (k, m), v01 (k, n)).
    """
    y = np.asarray(y).astype(bool)
    s = np.atleast_2d(np.asarray(scores_matrix, dtype=np.float64))
    pos, neg = s[:, y], s[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    tx = np.vstack([midranks(r) for r in pos])
    ty = np.vstack([midranks(r) for r in neg])
    tz = np.vstack([midranks(r) for r in np.hstack([pos, neg])])
    auc = tz[:, :m].sum(axis=1) / (m * n) - (m + 1) / (2.0 * n)
    v10 = (tz[:, :m] - tx) / n
    v01 = 1.0 - (tz[:, m:] - ty) / m
    return auc, v10, v01


def delong_paired(y, scores_a, scores_b, alpha: float = 0.05) -> dict:
    """Paired DeLong test of ROC-AUC(a) - ROC-AUC(b) on the same variants.

    Returns auc_a, auc_b, difference, its (1 - alpha) normal interval, z and two-sided
    p-value; fields are None with a ``reason`` when undefined (fewer than 2 variants of a
    class). Identical rankings give difference 0 and p = 1.
    """
    y = np.asarray(y).astype(bool)
    m, n = int(y.sum()), int((~y).sum())
    result = {"n_positive": m, "n_negative": n, "auc_a": None, "auc_b": None, "difference": None,
              "ci_low": None, "ci_high": None, "z": None, "p_value": None, "reason": None}
    if m < 2 or n < 2:
        result["reason"] = f"need at least 2 Splice-altering and 2 Normal variants (have {m} and {n})"
        return result
    auc, v10, v01 = delong_components(y, np.vstack([scores_a, scores_b]))
    cov = np.cov(v10) / m + np.cov(v01) / n
    diff = float(auc[0] - auc[1])
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    result.update(auc_a=float(auc[0]), auc_b=float(auc[1]), difference=diff)
    if var <= 1e-15:
        result.update(ci_low=diff, ci_high=diff, z=0.0 if abs(diff) < 1e-12 else None,
                      p_value=1.0 if abs(diff) < 1e-12 else None,
                      reason="zero variance of the difference (identical rankings)")
        return result
    se = math.sqrt(var)
    zcrit = norm.ppf(1 - alpha / 2)
    z = diff / se
    result.update(ci_low=diff - zcrit * se, ci_high=diff + zcrit * se, z=z, p_value=float(2 * norm.sf(abs(z))))
    return result
