"""Evaluation metrics on the test split, with bootstrap intervals and a paired DeLong test.

Definitions (as in the research log):

- Headline metrics use Splice-altering (positive, 1) vs Normal (0) only. Low-frequency and
  Conflicting variants are summarized separately (``other_class_summary``) and never enter
  them.
- Pearson r: predicted vs target max |delta| on Splice-altering variants, only for models
  with a delta prediction (``pred_max_abs_delta`` not all NaN); undefined otherwise.
- ROC-AUC (Mann-Whitney form, ties count 1/2) and PR-AUC (average precision, the step-wise
  sum of scikit-learn's ``average_precision_score``) of ``score``.
- Detection rate: share of Splice-altering with ``score > detection_threshold`` (0.1);
  false-positive rate: share of Normal with ``score > detection_threshold``.
- Sensitivity / specificity at cut-offs (SpliceAI's 0.2, 0.5, 0.8, and a binary model's
  validation-chosen threshold): a variant is called splice-altering when ``score >= cut-off``
  (SpliceAI's "delta score >= 0.5" wording), whereas detection uses the strict ``> 0.1`` of
  the research log.

Confidence intervals: 95 % percentile bootstrap, stratified by class: every resample draws
n_positive Splice-altering and n_negative Normal variants with replacement from their own
class, so each resample keeps the class balance of the test set and ROC-AUC is defined in
every resample. Pearson r resamples the Splice-altering variants that have both values.
Resamples are multinomial count vectors (B, n), and every metric is evaluated for all
resamples at once as a weighted statistic over one shared sort order, so 1,000 resamples of
a few thousand variants take well under a second.

Undefined values are NaN (``None`` in JSON) with a ``reason`` string; nothing raises for a
single class, an empty set, constant scores or ties.
"""
from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.stats import norm

log = logging.getLogger("validsplice.metrics")

POSITIVE = "Splice-altering"
NEGATIVE = "Normal"
OTHER_CLASSES = ("Low-frequency", "Conflicting")
CLASSES = (POSITIVE, NEGATIVE) + OTHER_CLASSES
BASELINE = "spliceai_raw"
# Resamples evaluated per block, sized so a (block, n) float64 matrix stays near 40 MB.
_BLOCK_ELEMENTS = 5_000_000


@dataclass
class Estimate:
    """A metric value with its 95 % interval; ``value`` NaN means undefined (see ``reason``)."""

    value: float
    ci_low: float = math.nan
    ci_high: float = math.nan
    n: int = 0
    reason: str | None = None
    extra: dict = field(default_factory=dict)

    @property
    def defined(self) -> bool:
        return not math.isnan(self.value)

    def to_dict(self) -> dict:
        out = {
            "value": _clean(self.value),
            "ci_low": _clean(self.ci_low),
            "ci_high": _clean(self.ci_high),
            "n": int(self.n),
            "reason": self.reason,
        }
        out.update({k: _clean(v) for k, v in self.extra.items()})
        return out


def _clean(value):
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
def binary_labels(labels) -> np.ndarray:
    """1 for Splice-altering, 0 for Normal; raises if another class slipped in."""
    labels = np.asarray(labels)
    bad = ~np.isin(labels, (POSITIVE, NEGATIVE))
    if bad.any():
        raise ValueError(f"headline metrics take Splice-altering/Normal only, got {set(labels[bad])}")
    return (labels == POSITIVE).astype(np.int8)


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
    r = _weighted_pearson(x, y, np.ones((1, x.size)))[0]
    if math.isnan(r):
        side = "predicted" if np.ptp(x) == 0 else "target"
        return math.nan, f"{side} max |delta| is constant"
    return float(r), None


def _weighted_pearson(x, y, weights) -> np.ndarray:
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


def rate_above(scores, threshold: float) -> tuple[float, str | None]:
    """Share of ``scores`` strictly above ``threshold``; (NaN, reason) when empty."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return math.nan, "no variants of this class"
    return float((scores > threshold).mean()), None


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


# ----------------------------------------------------------------- bootstrap
def _multinomial_blocks(rng: np.random.Generator, n: int, n_boot: int, block: int):
    """Yield (b, n) resample count matrices: with-replacement draws of n out of n."""
    done = 0
    while done < n_boot:
        b = min(block, n_boot - done)
        if n == 0:
            yield np.zeros((b, 0))
        else:
            # draw indices, then count them per row with one flat bincount (faster than multinomial)
            idx = rng.integers(0, n, size=(b, n)) + (np.arange(b) * n)[:, None]
            yield np.bincount(idx.ravel(), minlength=b * n).reshape(b, n).astype(np.float64)
        done += b


def _percentile_ci(stats: np.ndarray) -> tuple[float, float, float]:
    """95 % percentile interval and the share of resamples where the statistic was undefined."""
    finite = stats[np.isfinite(stats)]
    if finite.size == 0:
        return math.nan, math.nan, 1.0
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi), 1.0 - finite.size / stats.size


def headline_metrics(
    y,
    scores,
    pred_delta=None,
    target_delta=None,
    *,
    n_bootstrap: int = 1000,
    seed: int = 0,
    detection_threshold: float = 0.1,
    cutoffs=(0.2, 0.5, 0.8),
) -> dict:
    """Point estimates and stratified bootstrap 95 % intervals of every headline metric.

    ``y`` is 1 for Splice-altering and 0 for Normal. ``pred_delta`` / ``target_delta`` are
    the max |delta| values (NaN where missing); pass ``pred_delta=None`` for models without
    a delta prediction. Returns {name: Estimate} for pearson_r, roc_auc, pr_auc,
    detection_rate, fp_rate, and sensitivity@c / specificity@c for each cut-off.
    """
    y = np.asarray(y).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos, n_neg = pos.size, neg.size
    rng = np.random.default_rng(seed)
    out: dict[str, Estimate] = {}

    # --- point estimates
    auc, auc_reason = roc_auc(y, scores)
    ap, ap_reason = average_precision(y, scores)
    out["roc_auc"] = Estimate(auc, n=y.size, reason=auc_reason)
    out["pr_auc"] = Estimate(ap, n=y.size, reason=ap_reason)
    if not auc_reason and np.ptp(scores) == 0:
        out["roc_auc"].reason = out["pr_auc"].reason = "all scores equal (no ranking)"
    det, det_reason = rate_above(scores[pos], detection_threshold)
    fpr, fpr_reason = rate_above(scores[neg], detection_threshold)
    out["detection_rate"] = Estimate(det, n=n_pos, reason=det_reason)
    out["fp_rate"] = Estimate(fpr, n=n_neg, reason=fpr_reason)
    for c in cutoffs:
        sens = float((scores[pos] >= c).mean()) if n_pos else math.nan
        spec = float((scores[neg] < c).mean()) if n_neg else math.nan
        out[f"sensitivity@{c:g}"] = Estimate(sens, n=n_pos, reason=None if n_pos else "no Splice-altering variants")
        out[f"specificity@{c:g}"] = Estimate(spec, n=n_neg, reason=None if n_neg else "no Normal variants")

    # --- bootstrap: stratified, all resamples of a block evaluated together
    if n_bootstrap > 0 and y.size:
        block = max(1, min(n_bootstrap, _BLOCK_ELEMENTS // max(y.size, 1)))
        stats: dict[str, list] = {k: [] for k in out}
        pos_s, neg_s = scores[pos], scores[neg]
        for w_pos, w_neg in zip(
            _multinomial_blocks(rng, n_pos, n_bootstrap, block),
            _multinomial_blocks(rng, n_neg, n_bootstrap, block),
        ):
            if n_pos and n_neg:
                w = np.zeros((w_pos.shape[0], y.size))
                w[:, pos], w[:, neg] = w_pos, w_neg
                b_auc, b_ap = weighted_ranking_metrics(scores, y, w)
            else:
                b_auc = b_ap = np.full(w_pos.shape[0], np.nan)
            stats["roc_auc"].append(b_auc)
            stats["pr_auc"].append(b_ap)
            stats["detection_rate"].append(_weighted_share(w_pos, pos_s > detection_threshold))
            stats["fp_rate"].append(_weighted_share(w_neg, neg_s > detection_threshold))
            for c in cutoffs:
                stats[f"sensitivity@{c:g}"].append(_weighted_share(w_pos, pos_s >= c))
                stats[f"specificity@{c:g}"].append(_weighted_share(w_neg, neg_s < c))
        for name, chunks in stats.items():
            if out[name].defined:
                lo, hi, undefined = _percentile_ci(np.concatenate(chunks))
                out[name].ci_low, out[name].ci_high = lo, hi

    out["pearson_r"] = _pearson_estimate(pred_delta, target_delta, y, rng, n_bootstrap)
    return out


def _weighted_share(w: np.ndarray, hit: np.ndarray) -> np.ndarray:
    if w.shape[1] == 0:
        return np.full(w.shape[0], np.nan)
    return (w @ hit.astype(np.float64)) / w.shape[1]


def _pearson_estimate(pred, target, y, rng, n_bootstrap) -> Estimate:
    if pred is None:
        return Estimate(math.nan, reason="model has no delta prediction")
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.size and np.isnan(pred).all():
        return Estimate(math.nan, reason="model has no delta prediction")
    sa = y == 1
    both = sa & np.isfinite(pred) & np.isfinite(target)
    missing = int(sa.sum() - both.sum())
    x, t = pred[both], target[both]
    r, reason = pearson_r(x, t)
    est = Estimate(r, n=x.size, reason=reason, extra={"n_missing_values": missing})
    if est.defined and n_bootstrap > 0:
        block = max(1, min(n_bootstrap, _BLOCK_ELEMENTS // x.size))
        boot = np.concatenate(
            [_weighted_pearson(x, t, w) for w in _multinomial_blocks(rng, x.size, n_bootstrap, block)]
        )
        est.ci_low, est.ci_high, undefined = _percentile_ci(boot)
        est.extra["bootstrap_undefined_share"] = undefined
    return est


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


# ----------------------------------------------------------------- one experiment
REQUIRED_PREDICTION_COLUMNS = ("variant_id", "label", "score")
BREAKDOWN_FACTORS = ("region", "nearest_site", "variant_class")
SHARE_THRESHOLDS = (0.1, 0.2, 0.5)


def variant_class(variant_type: pd.Series) -> pd.Series:
    """SNV / indel (insertion, deletion) / MNV, the grouping of the breakdown table."""
    mapping = {"SNV": "SNV", "insertion": "indel", "deletion": "indel", "MNV": "MNV"}
    return variant_type.map(mapping).fillna("unknown")


def load_predictions(path, test_targets_path=None) -> tuple[pd.DataFrame, dict]:
    """Read and check a predictions table; join region/site/type from the test targets.

    Returns the table (one row per variant, test split) and a dict of rows left out with
    their reasons, so that nothing is dropped silently.
    """
    from .rule_io import UserError

    df = pd.read_parquet(path)
    missing = [c for c in REQUIRED_PREDICTION_COLUMNS if c not in df.columns]
    if missing:
        raise UserError(f"{path}: missing column(s) {missing}; the predictions contract is in docs/DESIGN.md. "
                        "Re-run the model's prediction rule.")
    bad = ~df["label"].isin(CLASSES)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        raise UserError(f"{path}: row {i + 1} has label {df['label'].iloc[i]!r}; expected one of {list(CLASSES)}. "
                        "Re-run build_targets and the prediction rule.")
    dup = df["variant_id"].duplicated()
    if dup.any():
        i = int(np.flatnonzero(dup)[0])
        raise UserError(f"{path}: variant_id {df['variant_id'].iloc[i]!r} appears more than once (row {i + 1}); "
                        "predictions must have one row per variant.")
    excluded: dict[str, int] = {}
    if "split" in df.columns and (df["split"] != "test").any():
        excluded["not in the test split"] = int((df["split"] != "test").sum())
        df = df[df["split"] == "test"]
    nan_score = df["score"].isna()
    if nan_score.any():
        excluded["score is missing (NaN)"] = int(nan_score.sum())
        df = df[~nan_score]
    if test_targets_path is not None:
        targets = pd.read_parquet(test_targets_path)
        join = [c for c in ("variant_type", "region", "nearest_site", "target_max_abs_delta")
                if c in targets.columns and c not in df.columns]
        if join:
            df = df.merge(targets[["variant_id", *join]].drop_duplicates("variant_id"), on="variant_id", how="left")
        if "split" in targets.columns:
            targets = targets[targets["split"] == "test"]
        absent = int((~targets["variant_id"].isin(df["variant_id"])).sum())
        if absent:
            excluded["in test targets but without a prediction"] = absent
    for col in ("region", "nearest_site"):
        if col in df.columns:
            df[col] = df[col].fillna("").replace("", "none")
    if "variant_type" in df.columns:
        df["variant_class"] = variant_class(df["variant_type"])
    for reason, n in excluded.items():
        log.warning("%s: %d row(s) left out: %s", path, n, reason)
    return df.reset_index(drop=True), excluded


def has_delta_prediction(df: pd.DataFrame) -> bool:
    return "pred_max_abs_delta" in df.columns and bool(df["pred_max_abs_delta"].notna().any())


def _headline_subset(df: pd.DataFrame) -> pd.DataFrame:
    return df[df["label"].isin((POSITIVE, NEGATIVE))]


def other_class_summary(df: pd.DataFrame) -> dict:
    """Counts and score distribution of Low-frequency and Conflicting variants (never headline)."""
    out = {}
    for cls in OTHER_CLASSES:
        s = df.loc[df["label"] == cls, "score"].to_numpy(dtype=np.float64)
        entry = {"n": int(s.size)}
        if s.size:
            q = np.percentile(s, [0, 25, 50, 75, 100])
            entry.update(mean=float(s.mean()), min=q[0], q25=q[1], median=q[2], q75=q[3], max=q[4])
        entry["share_above"] = {f"{t:g}": (float((s > t).mean()) if s.size else None) for t in SHARE_THRESHOLDS}
        out[cls] = {k: _clean(v) if not isinstance(v, dict) else v for k, v in entry.items()}
    return out


def breakdown_table(df: pd.DataFrame, experiment: str, detection_threshold: float = 0.1) -> pd.DataFrame:
    """Per-subgroup counts and metrics: by region, nearest site, variant class, and class.

    ROC-AUC only where both Splice-altering and Normal are present (else NaN + reason).
    The ``label`` rows describe each of the four classes' scores, including the
    Low-frequency and Conflicting variants that stay out of the headline metrics.
    """
    head = _headline_subset(df)
    groups = [(factor, level, grp) for factor in BREAKDOWN_FACTORS if factor in head.columns
              for level, grp in head.groupby(factor, sort=True)]
    groups += [("label", cls, df[df["label"] == cls]) for cls in CLASSES]
    rows = []
    for factor, level, grp in groups:
        y = (grp["label"] == POSITIVE).to_numpy()
        s = grp["score"].to_numpy(dtype=np.float64)
        auc, reason = roc_auc(y, s) if factor != "label" else (math.nan, "single class")
        row = {
            "experiment": experiment, "factor": factor, "level": level, "n": len(grp),
            "n_splice_altering": int(y.sum()), "n_normal": int((grp["label"] == NEGATIVE).sum()),
            "roc_auc": auc, "roc_auc_reason": reason or "",
            "detection_rate": rate_above(s[y], detection_threshold)[0] if y.any() else math.nan,
            "fp_rate": rate_above(s[grp["label"].to_numpy() == NEGATIVE], detection_threshold)[0],
            "mean_score": float(s.mean()) if s.size else math.nan,
        }
        for t in SHARE_THRESHOLDS:
            row[f"share_above_{t:g}"] = float((s > t).mean()) if s.size else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


def evaluate_predictions(
    df: pd.DataFrame,
    *,
    baseline: pd.DataFrame | None = None,
    training: dict | None = None,
    experiment: str = "",
    n_bootstrap: int = 1000,
    seed: int = 0,
    cutoffs=(0.2, 0.5, 0.8),
    detection_threshold: float = 0.1,
) -> dict:
    """All metrics of one experiment as a JSON-ready dict (see module docstring)."""
    training = training or {}
    head = _headline_subset(df)
    y = (head["label"] == POSITIVE).to_numpy().astype(np.int8)
    scores = head["score"].to_numpy(dtype=np.float64)
    delta = has_delta_prediction(df)
    threshold = training.get("threshold")
    all_cutoffs = list(cutoffs) + ([float(threshold)] if threshold is not None else [])
    est = headline_metrics(
        y, scores,
        head["pred_max_abs_delta"].to_numpy(dtype=np.float64) if delta else None,
        head["target_max_abs_delta"].to_numpy(dtype=np.float64) if "target_max_abs_delta" in head else None,
        n_bootstrap=n_bootstrap, seed=seed, detection_threshold=detection_threshold, cutoffs=all_cutoffs,
    )
    cutoff_rows = []
    for c in all_cutoffs:
        source = "validation threshold" if threshold is not None and c == float(threshold) and c not in cutoffs \
            else "SpliceAI cut-off"
        cutoff_rows.append({"cutoff": float(c), "source": source,
                            "sensitivity": est[f"sensitivity@{c:g}"].to_dict(),
                            "specificity": est[f"specificity@{c:g}"].to_dict()})
    counts = {cls: int((df["label"] == cls).sum()) for cls in CLASSES}
    unscored = {}
    if "scored" in df.columns:
        unscored = {cls: int(((df["label"] == cls) & ~df["scored"].astype(bool)).sum()) for cls in CLASSES}
    result = {
        "experiment": experiment or training.get("experiment", ""),
        "model": training.get("model", ""),
        "status": training.get("status", ""),
        "note": training.get("note", ""),
        "has_delta_prediction": delta,
        "counts": {"test_rows": int(len(df)), "per_class": counts,
                   "unscored_by_base_model": unscored},
        "definitions": {
            "positive": POSITIVE, "negative": NEGATIVE,
            "detection": f"score > {detection_threshold:g}",
            "detection_threshold": float(detection_threshold),
            "cutoffs": "called splice-altering when score >= cut-off",
            "pearson_r": "predicted vs target max |delta|, Splice-altering variants with both values",
            "pr_auc": "average precision",
        },
        "bootstrap": {"n_resamples": int(n_bootstrap), "seed": int(seed), "interval": "95% percentile",
                      "scheme": "stratified by class (Splice-altering and Normal resampled separately)"},
        "headline": {k: est[k].to_dict() for k in ("pearson_r", "roc_auc", "pr_auc", "detection_rate", "fp_rate")},
        "cutoffs": cutoff_rows,
        "other_classes": other_class_summary(df),
        "training": {k: training.get(k) for k in ("stopped_epoch", "max_epochs", "best_epoch",
                                                   "training_seconds", "device", "n_parameters", "threshold")},
    }
    if baseline is not None:
        result["vs_baseline"] = compare_to_baseline(head, baseline)
    return result


def compare_to_baseline(head: pd.DataFrame, baseline: pd.DataFrame) -> dict:
    """Paired DeLong test of this model's ROC-AUC minus the baseline's, matched by variant_id."""
    base = _headline_subset(baseline)[["variant_id", "label", "score"]]
    merged = head[["variant_id", "label", "score"]].merge(base, on="variant_id", suffixes=("", "_baseline"))
    disagree = merged["label"] != merged["label_baseline"]
    out = {"baseline": BASELINE, "n_matched": int(len(merged) - disagree.sum()),
           "n_unmatched_model": int(len(head) - len(merged)),
           "n_unmatched_baseline": int(len(base) - len(merged)),
           "n_label_mismatch": int(disagree.sum())}
    merged = merged[~disagree]
    y = (merged["label"] == POSITIVE).to_numpy()
    out.update(delong_paired(y, merged["score"].to_numpy(float), merged["score_baseline"].to_numpy(float)))
    out["auc_model"] = out.pop("auc_a")
    out["auc_baseline"] = out.pop("auc_b")
    return {k: _clean(v) for k, v in out.items()}


def evaluate_model(
    predictions: str,
    baseline: str,
    training: str,
    test_targets: str,
    metrics_path: str,
    breakdown_path: str,
    *,
    experiment: str,
    n_bootstrap: int = 1000,
    seed: int = 0,
    cutoffs=(0.2, 0.5, 0.8),
    detection_threshold: float = 0.1,
) -> dict:
    """Rule entry point: write metrics.json and breakdown.tsv for one experiment."""
    import json
    import time
    from pathlib import Path

    from .rule_io import UserError

    t0 = time.perf_counter()
    try:
        train_info = json.loads(Path(training).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{training}: cannot read the training summary ({exc}); re-run the training rule.") from None
    df, excluded = load_predictions(predictions, test_targets)
    base_df = df if Path(baseline).resolve() == Path(predictions).resolve() else load_predictions(baseline)[0]
    log.info("%s: %d test variants (%s)", experiment, len(df),
             ", ".join(f"{c}={int((df['label'] == c).sum())}" for c in CLASSES))
    result = evaluate_predictions(df, baseline=base_df, training=train_info, experiment=experiment,
                                  n_bootstrap=n_bootstrap, seed=seed, cutoffs=cutoffs,
                                  detection_threshold=detection_threshold)
    result["counts"]["excluded"] = excluded
    for name, m in result["headline"].items():
        value = "undefined" if m["value"] is None else f"{m['value']:.4f}"
        ci = "" if m["ci_low"] is None else f" [{m['ci_low']:.4f}, {m['ci_high']:.4f}]"
        log.info("%s: %s = %s%s%s", experiment, name, value, ci, f" ({m['reason']})" if m["reason"] else "")
    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    breakdown_table(df, experiment, detection_threshold).to_csv(breakdown_path, sep="\t", index=False,
                                                                float_format="%.6g")
    log.info("%s: evaluated in %.1f s", experiment, time.perf_counter() - t0)
    return result
