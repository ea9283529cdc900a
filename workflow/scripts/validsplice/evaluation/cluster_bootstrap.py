"""Cluster-bootstrap intervals over gene groups, paired comparisons, Holm, and the calibration metrics.

Confidence intervals: 95 % cluster bootstrap over gene groups (``ClusterResampler``). Variants
of one gene share sequence context, assay and curation, so they are not independent; a resample
draws whole gene groups (the connected gene groups of the split, ``variants.split.gene_groups``;
a variant without a gene is its own group) with replacement, stratified by whether a group holds
Splice-altering variants only, Normal only, or both, so both classes are in every resample. With
one variant per group this is the class-stratified variant bootstrap. Resamples are weight
matrices (B, n) (a variant's weight = how often its group was drawn), and every metric is
evaluated for all resamples at once as a weighted statistic over one shared sort order, so 1,000
resamples of a few thousand variants take well under a second. Intervals are percentile
intervals, except the debiased ECE's (basic interval, ``calibration_metrics``).

Comparisons: ``paired_difference`` evaluates two models' statistics on the same resampled groups
(paired cluster bootstrap) and gives an interval and a two-sided p-value of the difference;
``holm`` adjusts a family of p-values.

The point metrics these evaluate are in ``evaluation.metrics``.
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from .metrics import (
    Estimate,
    average_precision,
    called_mask,
    pearson_r,
    rate_above,
    roc_auc,
    weighted_pearson,
    weighted_ranking_metrics,
)

# Resamples evaluated per block, sized so a (block, n) float64 matrix stays near 40 MB.
_BLOCK_ELEMENTS = 5_000_000


# ----------------------------------------------------------------- cluster bootstrap
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


# the strata of ClusterResampler, in drawing order
STRATA = ("Splice-altering only", "Normal only", "both classes")


class ClusterResampler:
    """Bootstrap resamples of whole gene groups, stratified by the classes a group holds.

    ``groups``: one key per variant (the connected gene groups of ``variants.split.gene_groups``;
    None = every variant its own group); ``y``: 1 Splice-altering, 0 Normal. Every group falls in one
    stratum: holding only Splice-altering variants, only Normal ones, or both. A resample draws, in
    each stratum, as many groups as the stratum holds, with replacement, and a variant's weight is the
    number of times its group was drawn (all variants of a group enter or leave together, so the
    correlation between variants of one gene is carried into the interval).

    Why stratified and not "redraw resamples lacking a class": with a stratum of both-class groups,
    or a Splice-altering-only and a Normal-only group, every resample holds both classes by
    construction, so ROC-AUC is defined in every resample and no resample is thrown away (rejection
    would condition on an event whose probability depends on the data and silently shrink the
    number of resamples). With one variant per group the strata are the two classes and this is
    exactly the class-stratified variant bootstrap used before (same draws for the same seed).
    Groups are numbered in order of first appearance, so the draws do not depend on key names.
    """

    def __init__(self, groups, y):
        y = np.asarray(y).astype(bool)
        self.n = y.size
        if groups is None:
            codes = np.arange(self.n)
        else:
            groups = np.asarray(groups, dtype=object)
            if groups.shape != y.shape:
                raise ValueError(f"{groups.size} group keys for {y.size} variants")
            codes = pd.factorize(groups, use_na_sentinel=False)[0]
        self.codes = codes.astype(np.int64)
        self.n_groups = int(self.codes.max()) + 1 if self.n else 0
        has_pos = np.bincount(self.codes, weights=y, minlength=self.n_groups) > 0
        has_neg = np.bincount(self.codes, weights=~y, minlength=self.n_groups) > 0
        self.strata = [np.flatnonzero(has_pos & ~has_neg), np.flatnonzero(~has_pos & has_neg),
                       np.flatnonzero(has_pos & has_neg)]

    def describe(self) -> dict:
        return {"n_groups": self.n_groups,
                "groups_per_stratum": {name: int(s.size) for name, s in zip(STRATA, self.strata)}}

    def group_count_blocks(self, n_bootstrap: int, seed: int, block: int):
        """Yield (b, n_groups) matrices: how often each group is drawn, ``n_bootstrap`` rows in all, seeded."""
        rng = np.random.default_rng(seed)
        done = 0
        while done < n_bootstrap:
            b = min(block, n_bootstrap - done)
            counts = np.zeros((b, self.n_groups))
            for stratum in self.strata:
                if stratum.size:
                    counts[:, stratum] = next(_multinomial_blocks(rng, stratum.size, b, b))
            yield counts
            done += b

    def blocks(self, n_bootstrap: int, seed: int, block: int):
        """Yield (b, n) variant weight matrices (a variant's weight = its group's count)."""
        for counts in self.group_count_blocks(n_bootstrap, seed, block):
            yield counts[:, self.codes]


def bootstrap_statistics(statistics: dict, resampler: ClusterResampler, n_bootstrap: int, seed: int,
                         cost: int = 1) -> dict[str, np.ndarray]:
    """Each statistic (a function of a (b, n) weight matrix -> (b,)) on ``n_bootstrap`` resamples.

    All statistics see the same resamples (the same seed gives the same weights), which is what
    makes a difference of two statistics a *paired* bootstrap. ``cost``: columns per variant a
    statistic materialises (bins of ECE), to size the blocks.
    """
    block = max(1, min(n_bootstrap, _BLOCK_ELEMENTS // max(resampler.n * cost, 1)))
    chunks: dict[str, list] = {k: [] for k in statistics}
    if n_bootstrap > 0 and resampler.n:
        for w in resampler.blocks(n_bootstrap, seed, block):
            for name, stat in statistics.items():
                chunks[name].append(stat(w))
    return {k: np.concatenate(v) if v else np.empty(0) for k, v in chunks.items()}


def _percentile_ci(stats: np.ndarray) -> tuple[float, float, float]:
    """95 % percentile interval and the share of resamples where the statistic was undefined."""
    finite = stats[np.isfinite(stats)]
    if finite.size == 0:
        return math.nan, math.nan, 1.0
    lo, hi = np.percentile(finite, [2.5, 97.5])
    return float(lo), float(hi), 1.0 - finite.size / stats.size


def _basic_ci(point: float, stats: np.ndarray, anchor: float) -> tuple[float, float, float]:
    """95 % "basic" interval: point - (bootstrap quantiles - anchor).

    ``anchor`` is the value the statistic estimates in the bootstrap world (the plug-in value of the
    sample); used where the bootstrap distribution is not centred on the estimate (debiased ECE).
    """
    lo, hi, undefined = _percentile_ci(stats)
    if math.isnan(lo):
        return lo, hi, undefined
    return point - (hi - anchor), point - (lo - anchor), undefined


def _bootstrap_corrected(point: float, stats: np.ndarray, anchor: float) -> float:
    """point - (median of the bootstrap values - anchor): the estimate corrected by the bias its resamples show
    around their bootstrap-world value (the centre of the basic interval, so the estimate always lies inside it).
    For the debiased ECE this adds what gene clustering contributes beyond the independent-variant variance
    term; with independent variants the correction is about 0."""
    finite = stats[np.isfinite(stats)]
    return point if not finite.size else float(point - (np.median(finite) - anchor))


# statistics: functions of a (b, n) weight matrix; weights of all ones give the point estimate
def ranking_statistics(scores, y):
    """(ROC-AUC, average precision) statistics that share one weighted sort per weight block."""
    scores = np.asarray(scores, dtype=np.float64)
    y = np.asarray(y).astype(bool)
    cache: dict = {}

    def both(w):
        if cache.get("w") is not w:
            cache["w"], cache["v"] = w, weighted_ranking_metrics(scores, y, w)
        return cache["v"]

    return (lambda w: both(w)[0]), (lambda w: both(w)[1])


def share_statistic(among, hit):
    """Weighted share of ``hit`` among the variants where ``among`` (NaN when none is drawn)."""
    among = np.asarray(among, dtype=np.float64)
    both = among * np.asarray(hit, dtype=np.float64)

    def stat(w):
        den = w @ among
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(den > 0, (w @ both) / den, np.nan)

    return stat


def pearson_statistic(x, t, mask):
    """Weighted Pearson r of ``x`` vs ``t`` over the variants in ``mask``."""
    mask = np.asarray(mask, dtype=bool)
    x, t = np.asarray(x, dtype=np.float64)[mask], np.asarray(t, dtype=np.float64)[mask]

    def stat(w):
        sub = w[:, mask]
        out = np.full(w.shape[0], np.nan)
        ok = sub.sum(axis=1) > 0
        if ok.any():
            out[ok] = weighted_pearson(x, t, sub[ok])
        return out

    return stat


def _ones(n: int) -> np.ndarray:
    return np.ones((1, n))


def headline_metrics(
    y,
    scores,
    pred_delta=None,
    target_delta=None,
    *,
    groups=None,
    n_bootstrap: int = 1000,
    seed: int = 0,
    detection_threshold: float = 0.1,
    cutoffs=(0.2, 0.5, 0.8),
    detection_inclusive: bool = False,
) -> dict:
    """Point estimates and cluster-bootstrap 95 % intervals of every headline metric.

    ``y`` is 1 for Splice-altering and 0 for Normal. ``groups``: the gene group of each variant
    (``ClusterResampler``; None = each variant its own group, the class-stratified variant
    bootstrap). ``pred_delta`` / ``target_delta`` are the max |delta| values (NaN where missing);
    pass ``pred_delta=None`` for models without a delta prediction. Detection / FP call
    ``score > detection_threshold`` (``>=`` with ``detection_inclusive``, the rule of a
    validation-chosen threshold). Rates are weighted shares within their class, so they stay
    shares when a resample changes the class counts. Returns {name: Estimate} for pearson_r,
    roc_auc, pr_auc, detection_rate, fp_rate, and sensitivity@c / specificity@c for each cut-off;
    every Estimate's ``n_groups`` is the number of gene groups among its variants.
    """
    y = np.asarray(y).astype(np.int8)
    scores = np.asarray(scores, dtype=np.float64)
    pos, neg = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    n_pos, n_neg = pos.size, neg.size
    out: dict[str, Estimate] = {}

    # --- point estimates
    auc, auc_reason = roc_auc(y, scores)
    ap, ap_reason = average_precision(y, scores)
    out["roc_auc"] = Estimate(auc, n=y.size, reason=auc_reason)
    out["pr_auc"] = Estimate(ap, n=y.size, reason=ap_reason)
    if not auc_reason and np.ptp(scores) == 0:
        out["roc_auc"].reason = out["pr_auc"].reason = "all scores equal (no ranking)"
    det, det_reason = rate_above(scores[pos], detection_threshold, detection_inclusive)
    fpr, fpr_reason = rate_above(scores[neg], detection_threshold, detection_inclusive)
    out["detection_rate"] = Estimate(det, n=n_pos, reason=det_reason)
    out["fp_rate"] = Estimate(fpr, n=n_neg, reason=fpr_reason)
    for c in cutoffs:
        sens = float((scores[pos] >= c).mean()) if n_pos else math.nan
        spec = float((scores[neg] < c).mean()) if n_neg else math.nan
        out[f"sensitivity@{c:g}"] = Estimate(sens, n=n_pos, reason=None if n_pos else "no Splice-altering variants")
        out[f"specificity@{c:g}"] = Estimate(spec, n=n_neg, reason=None if n_neg else "no Normal variants")
    out["pearson_r"], pearson_stat = _pearson_estimate(pred_delta, target_delta, y)

    # --- cluster bootstrap: all statistics on the same resamples, a block of resamples at a time
    resampler = ClusterResampler(groups, y)
    is_pos, is_neg = y == 1, y == 0
    stats = {}
    if n_pos and n_neg:
        stats["roc_auc"], stats["pr_auc"] = ranking_statistics(scores, y)
    if out["detection_rate"].defined or out["fp_rate"].defined:
        called = called_mask(scores, detection_threshold, detection_inclusive)
        stats["detection_rate"] = share_statistic(is_pos, called)
        stats["fp_rate"] = share_statistic(is_neg, called)
    for c in cutoffs:
        stats[f"sensitivity@{c:g}"] = share_statistic(is_pos, scores >= c)
        stats[f"specificity@{c:g}"] = share_statistic(is_neg, scores < c)
    if pearson_stat is not None:
        stats["pearson_r"] = pearson_stat
    boot = bootstrap_statistics(stats, resampler, n_bootstrap, seed)
    for name, values in boot.items():
        if out[name].defined and values.size:
            out[name].ci_low, out[name].ci_high, undefined = _percentile_ci(values)
            if name == "pearson_r":
                out[name].extra["bootstrap_undefined_share"] = undefined
    for name, est in out.items():
        est.n_groups = _groups_among(resampler, _members(name, y, pred_delta, target_delta))
    return out


def _members(name: str, y: np.ndarray, pred, target) -> np.ndarray:
    """The variants a metric is computed on (for its number of gene groups)."""
    if name.startswith(("detection", "sensitivity")):
        return y == 1
    if name.startswith(("fp", "specificity")):
        return y == 0
    if name == "pearson_r":
        if pred is None:
            return np.zeros(y.size, dtype=bool)
        return (y == 1) & np.isfinite(np.asarray(pred, dtype=np.float64)) & np.isfinite(
            np.asarray(target, dtype=np.float64))
    return np.ones(y.size, dtype=bool)


def _groups_among(resampler: ClusterResampler, members: np.ndarray) -> int:
    return int(np.unique(resampler.codes[members]).size)


def _pearson_estimate(pred, target, y) -> tuple[Estimate, object]:
    """The Pearson r estimate and its bootstrap statistic (None when undefined)."""
    if pred is None:
        return Estimate(math.nan, reason="model has no delta prediction"), None
    pred = np.asarray(pred, dtype=np.float64)
    target = np.asarray(target, dtype=np.float64)
    if pred.size and np.isnan(pred).all():
        return Estimate(math.nan, reason="model has no delta prediction"), None
    sa = y == 1
    both = sa & np.isfinite(pred) & np.isfinite(target)
    missing = int(sa.sum() - both.sum())
    r, reason = pearson_r(pred[both], target[both])
    est = Estimate(r, n=int(both.sum()), reason=reason, extra={"n_missing_values": missing})
    return est, (pearson_statistic(pred, target, both) if est.defined else None)


def paired_difference(stat_a, stat_b, resampler: ClusterResampler, *, n_bootstrap: int = 1000, seed: int = 0,
                      anchors: tuple[float, float] | None = None) -> dict:
    """Paired cluster bootstrap of statistic(a) - statistic(b) on the same variants and resamples.

    Both statistics are evaluated on the same resampled gene groups, so what the two models share
    (which genes happen to be in the test set) cancels. Interval: 95 % percentile of the resampled
    differences (``anchors``: the plug-in values of a debiased statistic, then a basic interval,
    ``_basic_ci``, and the difference corrected by its resamples' bias, ``_bootstrap_corrected``).
    Two-sided p-value of "no difference": the share of resampled differences, centred on their
    bootstrap-world value, at least as far from 0 as the observed one,
    (1 + #{|d* - centre| >= |d|}) / (B + 1), so it is never exactly 0. Identical statistics give
    difference 0 and p = 1.
    """
    ones = _ones(resampler.n)
    value_a, value_b = float(stat_a(ones)[0]), float(stat_b(ones)[0])
    diff = value_a - value_b
    result = {"value_a": value_a, "value_b": value_b, "difference": diff, "ci_low": math.nan,
              "ci_high": math.nan, "p_value": math.nan, "n_bootstrap": int(n_bootstrap),
              "n_groups": resampler.n_groups, "reason": None}
    if not math.isfinite(diff):
        result["reason"] = "the metric is undefined for one of the two models"
        return result
    if n_bootstrap <= 0:
        result["reason"] = "no bootstrap resamples"
        return result
    boot = bootstrap_statistics({"a": stat_a, "b": stat_b}, resampler, n_bootstrap, seed)
    d = boot["a"] - boot["b"]
    finite = d[np.isfinite(d)]
    if not finite.size:
        result["reason"] = "the metric is undefined in every resample"
        return result
    if anchors is None:
        centre = diff
        lo, hi, _ = _percentile_ci(d)
    else:
        centre = anchors[0] - anchors[1]
        lo, hi, _ = _basic_ci(diff, d, centre)
        diff = _bootstrap_corrected(diff, d, centre)
        result["difference"] = diff
    p = (1 + np.count_nonzero(np.abs(finite - centre) >= abs(diff) - 1e-12)) / (finite.size + 1)
    result.update(ci_low=lo, ci_high=hi, p_value=float(min(1.0, p)))
    return result


def holm(pvalues) -> np.ndarray:
    """Holm's step-down adjustment of a family of p-values (NaN entries stay NaN, not counted).

    Sorted ascending, the k-th smallest of m p-values becomes max over j <= k of min(1, (m - j + 1) p_(j)):
    it controls the family-wise error rate at any dependence between the tests.
    """
    p = np.asarray(pvalues, dtype=np.float64)
    out = np.full(p.shape, np.nan)
    idx = np.flatnonzero(np.isfinite(p))
    m = idx.size
    if not m:
        return out
    order = idx[np.argsort(p[idx], kind="stable")]
    adjusted = np.maximum.accumulate(np.minimum(1.0, (m - np.arange(m)) * p[order]))
    out[order] = adjusted
    return out


# ----------------------------------------------------------------- calibration
ECE_BINS = 10


def calibration_bins(p, n_bins: int = ECE_BINS) -> np.ndarray:
    """Bin of each probability: ``n_bins`` equal-width bins on [0, 1], the last one closed."""
    return np.minimum((np.asarray(p, dtype=np.float64) * n_bins).astype(np.int64), n_bins - 1)


def brier_statistic(p, y):
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    loss = (p - y) ** 2
    return lambda w: (w @ loss) / w.sum(axis=1)


def ece_statistics(p, y, n_bins: int = ECE_BINS):
    """(debiased squared ECE, plug-in squared ECE, plug-in ECE) statistics over ``n_bins`` equal-width bins.

    Per bin b with weight W_b (variants in the bin), observed share ybar_b and mean probability pbar_b:
    plug-in squared ECE = sum_b (W_b / W) (ybar_b - pbar_b)^2; its debiased form (Kumar, Liang & Ma
    2019, "Verified uncertainty calibration") subtracts each bin's sampling variance of ybar_b,
    ybar_b (1 - ybar_b) / (W_b - 1), which the squared gap carries even for a perfectly calibrated
    model; plug-in ECE (L1) = sum_b (W_b / W) |ybar_b - pbar_b|, kept for reference.
    """
    p, y = np.asarray(p, dtype=np.float64), np.asarray(y, dtype=np.float64)
    onehot = np.zeros((p.size, n_bins))
    onehot[np.arange(p.size), calibration_bins(p, n_bins)] = 1.0
    cache: dict = {}

    def parts(w):
        if cache.get("w") is not w:
            total = w.sum(axis=1, keepdims=True)
            wb = w @ onehot
            with np.errstate(invalid="ignore", divide="ignore"):
                ybar = np.where(wb > 0, (w @ (onehot * y[:, None])) / wb, 0.0)
                pbar = np.where(wb > 0, (w @ (onehot * p[:, None])) / wb, 0.0)
                var = np.where(wb > 1, ybar * (1.0 - ybar) / (wb - 1.0), 0.0)
            share = wb / total
            gap = ybar - pbar
            cache["w"] = w
            cache["v"] = ((share * (gap ** 2 - var)).sum(axis=1), (share * gap ** 2).sum(axis=1),
                          (share * np.abs(gap)).sum(axis=1))
        return cache["v"]

    return (lambda w: parts(w)[0]), (lambda w: parts(w)[1]), (lambda w: parts(w)[2])


def _root(x: float) -> float:
    return math.sqrt(max(x, 0.0)) if math.isfinite(x) else math.nan


def calibration_metrics(y, p, *, groups=None, n_bootstrap: int = 1000, seed: int = 0,
                        n_bins: int = ECE_BINS) -> dict:
    """Brier score and debiased calibration error of probabilities ``p`` with 95 % intervals.

    Brier: mean (p - y)^2, percentile interval. ECE: the root of the debiased squared ECE
    (``ece_statistics``; 0 where the debiased square is negative, i.e. no miscalibration detectable
    beyond sampling noise), with bootstrap resamples further corrected by the bias they show
    (``_bootstrap_corrected``: what gene clustering adds to the independent-variant variance term;
    it also keeps the estimate inside its interval). The plug-in ECE is biased upwards (a perfectly calibrated model gets a
    positive one that shrinks only with n), so its interval would exclude 0 for a perfect model.
    The interval is a basic bootstrap interval of the debiased square, anchored at the plug-in square
    (its value in the bootstrap world), then rooted: T - (q(T*) - S), clipped at 0. Resamples:
    the cluster bootstrap of ``headline_metrics`` (``groups``), so gene clustering widens both
    intervals; the debiasing term itself assumes independent variants within a bin, the interval
    does not. ``extra`` keeps the squared values and the plug-in (L1) ECE.
    """
    y = np.asarray(y).astype(np.float64)
    p = np.asarray(p, dtype=np.float64)
    if y.size == 0:
        reason = "no Splice-altering or Normal variants"
        return {"brier": Estimate(math.nan, reason=reason), "ece": Estimate(math.nan, reason=reason)}
    resampler = ClusterResampler(groups, y)
    ones = _ones(y.size)
    brier = brier_statistic(p, y)
    ece_debiased, ece_squared, ece_l1 = ece_statistics(p, y, n_bins)
    t, s = float(ece_debiased(ones)[0]), float(ece_squared(ones)[0])
    out = {"brier": Estimate(float(brier(ones)[0]), n=y.size, n_groups=resampler.n_groups),
           "ece": Estimate(_root(t), n=y.size, n_groups=resampler.n_groups,
                           extra={"bins": n_bins, "estimator": "root of debiased squared ECE",
                                  "squared_debiased": t, "squared_plug_in": s,
                                  "plug_in_l1": float(ece_l1(ones)[0])})}
    if n_bootstrap > 0:
        boot = bootstrap_statistics({"brier": brier, "ece": ece_debiased}, resampler, n_bootstrap, seed,
                                    cost=max(n_bins, 1))
        out["brier"].ci_low, out["brier"].ci_high, _ = _percentile_ci(boot["brier"])
        lo, hi, _ = _basic_ci(t, boot["ece"], s)
        corrected = _bootstrap_corrected(t, boot["ece"], s)
        out["ece"].value = _root(corrected)
        out["ece"].ci_low, out["ece"].ci_high = _root(lo), _root(hi)
        out["ece"].extra.update(squared_ci_low=lo, squared_ci_high=hi, squared_bootstrap_corrected=corrected)
    return out
