"""Evaluation of one experiment's test predictions (the evaluate_model rule).

Reads a predictions table, joins the test targets' region / site / variant type and each variant's
gene group, and computes with ``evaluation.metrics`` and ``evaluation.cluster_bootstrap``: the headline
metrics with cluster bootstrap intervals over gene groups, cut-off tables, the paired cluster-bootstrap comparison with
``spliceai_raw`` (ΔROC-AUC, ΔPR-AUC; DeLong as a secondary test that assumes independent variants),
breakdowns, and the separate summary of Low-frequency / Conflicting variants. Writes
``metrics.json`` and ``breakdown.tsv``.

Gene groups (the data contract, docs/DESIGN.md "Evaluation"): ``gene_group`` =
``variants.split.gene_groups`` of the variant table (``variants.parquet``: the connected gene groups
the split is made of; a variant without a gene is its own group ``variant:<id>``), joined by
``variant_id``. Computed here from the variant table, not stored, so it can never disagree with the
split's own grouping. Without a variant table (``variants=None``) the test targets' ``gene`` column
is used (the external test set passes its own variant table as the test targets).
"""
from __future__ import annotations

import json
import logging
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..config.naming import calibrated_of_raw, is_raw_row
from ..variants.split import gene_group_of
from .cluster_bootstrap import (
    ECE_BINS,
    ClusterResampler,
    brier_statistic,
    calibration_metrics,
    ece_statistics,
    headline_metrics,
    paired_difference,
    pearson_statistic,
    ranking_statistics,
    share_statistic,
)
from .metrics import (
    BASELINE,
    CLASSES,
    NEGATIVE,
    OTHER_CLASSES,
    POSITIVE,
    Estimate,
    delong_paired,
    json_safe,
    rate_above,
    roc_auc,
)

log = logging.getLogger("validsplice.evaluation.evaluate")


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


GROUP_COLUMN = "gene_group"
NO_GENE_GROUP_PREFIX = "variant:"


def attach_gene_groups(df: pd.DataFrame, variants: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """``df`` with a ``gene_group`` column (the cluster bootstrap's unit) and where the groups came from.

    ``variants``: a variant table with ``variant_id`` and ``gene`` (and ``genes``, the overlapping
    genes that join groups); None or without ``gene``: each variant is its own group (the
    variant-level bootstrap), said in the returned source.
    """
    df = df.copy()
    ids = df["variant_id"].astype(str)
    if variants is not None and {"variant_id", "gene"} <= set(variants.columns):
        keys = gene_group_of(variants.drop_duplicates("variant_id"))
        source = ("connected gene groups of the variant table (variants.split.gene_groups)" if "genes" in variants
                  else "the variants' gene column (overlapping genes not joined)")
        df[GROUP_COLUMN] = ids.map(keys)
        unknown = df[GROUP_COLUMN].isna()
        if unknown.any():
            log.warning("%d variant(s) not in the variant table: each is its own gene group", int(unknown.sum()))
        df[GROUP_COLUMN] = df[GROUP_COLUMN].where(~unknown, NO_GENE_GROUP_PREFIX + ids)
    else:
        source = "none: no variant table with genes, each variant is its own group (intervals too narrow)"
        df[GROUP_COLUMN] = NO_GENE_GROUP_PREFIX + ids
    return df, source


def _groups(frame: pd.DataFrame):
    return frame[GROUP_COLUMN].to_numpy(dtype=object) if GROUP_COLUMN in frame else None


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
        out[cls] = {k: json_safe(v) if not isinstance(v, dict) else v for k, v in entry.items()}
    return out


def breakdown_table(df: pd.DataFrame, experiment: str, detection_threshold: float = 0.1,
                    detection_inclusive: bool = False) -> pd.DataFrame:
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
            "detection_rate": rate_above(s[y], detection_threshold, detection_inclusive)[0] if y.any() else math.nan,
            "fp_rate": rate_above(s[grp["label"].to_numpy() == NEGATIVE], detection_threshold,
                                  detection_inclusive)[0],
            "mean_score": float(s.mean()) if s.size else math.nan,
        }
        for t in SHARE_THRESHOLDS:
            row[f"share_above_{t:g}"] = float((s > t).mean()) if s.size else math.nan
        rows.append(row)
    return pd.DataFrame(rows)


TARGET_IS_OWN_OUTPUT = "n/a (target is this model's output)"


def model_properties(training: dict) -> dict:
    """What the model's score means, from its training.json (docs/DESIGN.md).

    ``score_scale``: ``delta`` or ``probability``; a training.json without the key is read as
    ``probability`` when it carries a validation-chosen threshold (only classifiers have one).
    ``target_is_own_output``: the targets are this model's own delta (``spliceai_raw``).
    ``reads_base_model_delta``: the base model's delta, the targets' source, is an input.
    """
    scale = training.get("score_scale") or ("probability" if training.get("threshold") is not None else "delta")
    if scale not in ("delta", "probability"):
        raise UserError(f"training.json of {training.get('experiment', '?')!r}: score_scale {scale!r} unknown; "
                        "expected 'delta' or 'probability'. Re-run the training rule.")
    return {"score_scale": scale, "target_is_own_output": bool(training.get("target_is_own_output", False)),
            "reads_base_model_delta": bool(training.get("reads_base_model_delta", False))}


def detection_rule(properties: dict, training: dict, fixed_threshold: float) -> dict:
    """The threshold detection / FP are read at: the fixed |delta| cut-off for delta-scale
    scores, the validation-chosen threshold (``score >= t``) for probability scores."""
    if properties["score_scale"] == "delta":
        return {"threshold": float(fixed_threshold), "inclusive": False, "source": "fixed delta cut-off",
                "text": f"score > {fixed_threshold:g} (a |delta| cut-off)"}
    t = training.get("threshold")
    if t is None:
        return {"threshold": None, "inclusive": True, "source": "none",
                "text": "undefined: probability score without a validation-chosen threshold"}
    sel = training.get("threshold_selection") or {}
    prev = sel.get("assumed_prevalence")
    how = f"{sel.get('rule', 'threshold rule')} on validation" + (
        f" re-weighted to prevalence {prev:.3f} ({sel.get('prevalence_source', '')})" if prev is not None
        else " (class ratio of the validation split)")
    return {"threshold": float(t), "inclusive": True, "source": "validation-chosen",
            "text": f"score >= {float(t):.4g} (probability threshold chosen by {how})"}


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
    calibrated: pd.DataFrame | None = None,
    group_source: str = "",
) -> dict:
    """All metrics of one experiment as a JSON-ready dict (see module docstring).

    ``df`` (and ``baseline``) may carry ``gene_group`` (``attach_gene_groups``); without it every
    variant is its own group. ``calibrated`` (variant_id, p_sa: calibrated.parquet) adds Brier and
    ECE; without it they are undefined with a reason.
    """
    if not group_source:
        group_source = "gene_group column" if GROUP_COLUMN in df else "none: each variant its own group"
    training = training or {}
    props = model_properties(training)
    rule = detection_rule(props, training, detection_threshold)
    head = _headline_subset(df)
    y = (head["label"] == POSITIVE).to_numpy().astype(np.int8)
    scores = head["score"].to_numpy(dtype=np.float64)
    delta = has_delta_prediction(df)
    threshold = training.get("threshold")
    all_cutoffs = list(cutoffs) + ([float(threshold)] if threshold is not None else [])
    groups = _groups(head)
    est = headline_metrics(
        y, scores,
        head["pred_max_abs_delta"].to_numpy(dtype=np.float64) if delta else None,
        head["target_max_abs_delta"].to_numpy(dtype=np.float64) if "target_max_abs_delta" in head else None,
        groups=groups, n_bootstrap=n_bootstrap, seed=seed, detection_threshold=rule["threshold"], cutoffs=all_cutoffs,
        detection_inclusive=rule["inclusive"],
    )
    if rule["threshold"] is None:
        for key in ("detection_rate", "fp_rate"):
            est[key].reason = "probability score without a validation-chosen threshold"
    if props["target_is_own_output"]:
        # the target is this model's prediction: r = 1 by construction, not a measurement
        est["pearson_r"].value = est["pearson_r"].ci_low = est["pearson_r"].ci_high = math.nan
        est["pearson_r"].reason = TARGET_IS_OWN_OUTPUT
    est.update(_calibration_estimates(head, calibrated, experiment, n_bootstrap, seed))
    cutoff_rows = []
    for c in all_cutoffs:
        source = "validation threshold" if threshold is not None and c == float(threshold) and c not in cutoffs \
            else "SpliceAI cut-off"
        cutoff_rows.append({"cutoff": float(c), "source": source,
                            "sensitivity": est[f"sensitivity@{c:g}"].to_dict(),
                            "specificity": est[f"specificity@{c:g}"].to_dict()})
    counts = {cls: int((df["label"] == cls).sum()) for cls in CLASSES}
    clusters = ClusterResampler(groups, y).describe()
    unscored = {}
    if "scored" in df.columns:
        unscored = {cls: int(((df["label"] == cls) & ~df["scored"].astype(bool)).sum()) for cls in CLASSES}
    result = {
        "experiment": experiment or training.get("experiment", ""),
        "model": training.get("model", ""),
        "status": training.get("status", ""),
        "note": training.get("note", ""),
        "has_delta_prediction": delta,
        **props,
        "counts": {"test_rows": int(len(df)), "per_class": counts,
                   "unscored_by_base_model": unscored,
                   "headline": int(y.size), "gene_groups": clusters["n_groups"],
                   "test_prevalence": json_safe(float(y.mean()) if y.size else math.nan)},
        "definitions": {
            "positive": POSITIVE, "negative": NEGATIVE,
            "detection": rule["text"],
            "detection_threshold": rule["threshold"],
            "detection_inclusive": rule["inclusive"],
            "detection_threshold_source": rule["source"],
            "fixed_detection_threshold": float(detection_threshold),
            "cutoffs": "called splice-altering when score >= cut-off",
            "pearson_r": "predicted vs target max |delta|, Splice-altering variants with both values; the "
                         "target is the base model's delta, so this is agreement with the base model, "
                         "not with validated effects",
            "pr_auc": "average precision",
            "brier": "mean (p_sa - y)^2, p_sa the calibrated P(splice-altering) (calibrator fitted on validation only; "
                     "a base model's calibrated row: on every labelled train + validation row)",
            "ece": f"calibration error of p_sa: {ECE_BINS} equal-width bins on [0, 1], root of the debiased "
                   "squared ECE sum over bins of (n_bin / n) [(observed Splice-altering share - mean p_sa)^2 - "
                   "sampling variance of the share] (Kumar et al. 2019); 0 when that is negative",
            "test_prevalence": "Splice-altering share of the headline (Splice-altering + Normal) test variants; "
                               "compare with the assumed prevalence of thresholds and calibration",
        },
        "bootstrap": {"n_resamples": int(n_bootstrap), "seed": int(seed),
                      "interval": "95% percentile (ECE: basic interval of the debiased square)",
                      "scheme": "cluster bootstrap over gene groups, stratified by the classes a group holds "
                                "(Splice-altering only / Normal only / both), so both classes are in every resample",
                      "groups_from": group_source, **clusters},
        "headline": {k: est[k].to_dict() for k in ("pearson_r", "roc_auc", "pr_auc", "detection_rate", "fp_rate",
                                                     "brier", "ece")},
        "cutoffs": cutoff_rows,
        "other_classes": other_class_summary(df),
        "training": {k: training.get(k) for k in ("stopped_epoch", "max_epochs", "best_epoch",
                                                   "training_seconds", "device", "n_parameters", "threshold",
                                                   "threshold_selection")},
    }
    if baseline is not None:
        result["vs_baseline"] = compare_to_baseline(head, baseline, n_bootstrap=n_bootstrap, seed=seed)
    return result


NOT_A_PROBABILITY = "raw delta score, not a probability"  # + which row is its calibrated form


def _calibration_estimates(head: pd.DataFrame, calibrated: pd.DataFrame | None, experiment: str,
                           n_bootstrap: int, seed: int) -> dict[str, Estimate]:
    """Brier and ECE of the calibrated probabilities of the headline rows (matched by variant_id)."""
    if calibrated is None:
        reason = (f"{NOT_A_PROBABILITY} (calibrated: the {calibrated_of_raw(experiment)} row)" if is_raw_row(experiment)
                  else "no calibrated probability")
        return {"brier": Estimate(math.nan, reason=reason), "ece": Estimate(math.nan, reason=reason)}
    p_sa = calibrated.drop_duplicates("variant_id").set_index("variant_id")["p_sa"]
    p = head["variant_id"].map(p_sa).to_numpy(dtype=np.float64)
    known = np.isfinite(p)
    y = (head["label"] == POSITIVE).to_numpy()
    groups = _groups(head)
    out = calibration_metrics(y[known], p[known], groups=None if groups is None else groups[known],
                              n_bootstrap=n_bootstrap, seed=seed)
    if known.sum() > 1 and np.ptp(p[known]) == 0:  # defined, but says nothing about single variants
        for e in out.values():
            e.reason = "P(SA) is constant: the calibrator's slope is 0 (the score does not rank the validation split)"
    if not known.all():
        for e in out.values():
            e.extra["n_without_probability"] = int((~known).sum())
        log.warning("%s: %d headline variant(s) without a calibrated probability left out of Brier/ECE",
                    experiment, int((~known).sum()))
    return out


def compare_to_baseline(head: pd.DataFrame, baseline: pd.DataFrame, *, n_bootstrap: int = 1000,
                        seed: int = 0) -> dict:
    """This model minus the baseline on the same variants (matched by variant_id).

    Primary: paired cluster bootstrap over gene groups of ΔROC-AUC (``roc_auc``) and ΔPR-AUC
    (``pr_auc``), each {"model", "baseline", "difference", "ci_low", "ci_high", "p_value"}; the
    top-level ``difference`` / ``ci_low`` / ``ci_high`` / ``p_value`` repeat ΔROC-AUC's. Secondary:
    DeLong's paired test of ΔROC-AUC (``delong``), which assumes independent variants.
    p-values are unadjusted here; the report adjusts them across its rows (Holm).
    """
    cols = ["variant_id", "label", "score", *([GROUP_COLUMN] if GROUP_COLUMN in head else [])]
    base = _headline_subset(baseline)[["variant_id", "label", "score"]]
    merged = head[cols].merge(base, on="variant_id", suffixes=("", "_baseline"))
    disagree = merged["label"] != merged["label_baseline"]
    out = {"baseline": BASELINE, "n_matched": int(len(merged) - disagree.sum()),
           "n_unmatched_model": int(len(head) - len(merged)),
           "n_unmatched_baseline": int(len(base) - len(merged)),
           "n_label_mismatch": int(disagree.sum()),
           "method": "paired cluster bootstrap over gene groups (same resampled groups for both models)"}
    merged = merged[~disagree]
    y = (merged["label"] == POSITIVE).to_numpy()
    a, b = merged["score"].to_numpy(float), merged["score_baseline"].to_numpy(float)
    resampler = ClusterResampler(_groups(merged), y)
    out["n_groups"] = resampler.n_groups
    if y.all() or not y.any():
        reason = "needs Splice-altering and Normal variants"
        for key in ("roc_auc", "pr_auc"):
            out[key] = {"model": None, "baseline": None, "difference": None, "ci_low": None, "ci_high": None,
                        "p_value": None, "reason": reason}
    else:
        (auc_a, ap_a), (auc_b, ap_b) = ranking_statistics(a, y), ranking_statistics(b, y)
        for key, sa, sb in (("roc_auc", auc_a, auc_b), ("pr_auc", ap_a, ap_b)):
            r = paired_difference(sa, sb, resampler, n_bootstrap=n_bootstrap, seed=seed)
            out[key] = {"model": r["value_a"], "baseline": r["value_b"],
                        **{k: r[k] for k in ("difference", "ci_low", "ci_high", "p_value", "reason")}}
    dl = delong_paired(y, a, b)
    out["delong"] = {"assumes": "independent variants", "z": dl["z"], "p_value": dl["p_value"],
                     "difference": dl["difference"], "ci_low": dl["ci_low"], "ci_high": dl["ci_high"],
                     "reason": dl["reason"]}
    roc = out["roc_auc"]
    out.update(auc_model=roc["model"], auc_baseline=roc["baseline"], difference=roc["difference"],
               ci_low=roc["ci_low"], ci_high=roc["ci_high"], p_value=roc["p_value"], reason=roc["reason"])
    return _json_tree(out)


def _json_tree(obj):
    if isinstance(obj, dict):
        return {k: _json_tree(v) for k, v in obj.items()}
    return json_safe(obj)


# ----------------------------------------------------------------- paired comparisons of any metric
PAIRED_METRICS = ("pearson_r", "roc_auc", "pr_auc", "detection_rate", "fp_rate", "brier", "ece")


def metric_statistic(key: str, frame: pd.DataFrame, rule: dict | None = None):
    """The bootstrap statistic of a headline metric on ``frame``'s rows, and its anchor (or None).

    ``frame``: headline rows with ``label``, ``score`` and, as the metric needs, ``p_sa`` (brier,
    ece), ``pred_max_abs_delta`` / ``target_max_abs_delta`` (pearson_r). ``rule``: the detection
    rule (``metrics.json`` definitions: ``detection_threshold``, ``detection_inclusive``).
    Returns (statistic, anchor): the anchor is the plug-in value of a debiased statistic (ECE).
    """
    y = (frame["label"] == POSITIVE).to_numpy()
    score = frame["score"].to_numpy(dtype=np.float64)
    if key in ("roc_auc", "pr_auc"):
        auc, ap = ranking_statistics(score, y)
        return (auc if key == "roc_auc" else ap), None
    if key in ("detection_rate", "fp_rate"):
        rule = rule or {}
        t = rule.get("detection_threshold")
        if t is None:
            return (lambda w: np.full(w.shape[0], np.nan)), None
        called = score >= t if rule.get("detection_inclusive") else score > t
        return share_statistic(y if key == "detection_rate" else ~y, called), None
    if key == "pearson_r":
        pred = frame["pred_max_abs_delta"].to_numpy(np.float64) if "pred_max_abs_delta" in frame \
            else np.full(len(frame), np.nan)
        target = frame["target_max_abs_delta"].to_numpy(np.float64) if "target_max_abs_delta" in frame \
            else np.full(len(frame), np.nan)
        return pearson_statistic(pred, target, y & np.isfinite(pred) & np.isfinite(target)), None
    if key in ("brier", "ece"):
        p = frame["p_sa"].to_numpy(np.float64) if "p_sa" in frame else np.full(len(frame), np.nan)
        if key == "brier":
            return brier_statistic(p, y), None
        debiased, squared, _ = ece_statistics(p, y)
        ones = np.ones((1, len(frame)))
        return debiased, float(squared(ones)[0])
    raise ValueError(f"no paired statistic for metric {key!r}; expected one of {PAIRED_METRICS}")


def paired_metric_difference(key: str, a: pd.DataFrame, b: pd.DataFrame, rule_a: dict | None = None,
                             rule_b: dict | None = None, *, n_bootstrap: int = 1000, seed: int = 0) -> dict:
    """Paired cluster bootstrap of metric(a) - metric(b) on the headline variants both models scored.

    ``a`` / ``b``: per-variant frames (``variant_id``, ``label``, ``score``, ``gene_group`` and the
    columns ``metric_statistic`` needs). For brier / ece only variants with a P(SA) in both count.
    ECE is compared on its debiased square (same sign as the difference of the reported roots).
    """
    values = ["score", "p_sa", "pred_max_abs_delta", "target_max_abs_delta"]
    fa = _headline_subset(a)[[c for c in ["variant_id", "label", GROUP_COLUMN, *values] if c in a]]
    fb = _headline_subset(b)[["variant_id", *[c for c in values if c in b]]]
    merged = fa.merge(fb.rename(columns={c: f"{c}_b" for c in values}), on="variant_id")
    if key in ("brier", "ece") and "p_sa" in merged and "p_sa_b" in merged:
        merged = merged[np.isfinite(merged["p_sa"]) & np.isfinite(merged["p_sa_b"])]
    side_b = merged[["variant_id", "label"]].assign(**{c: merged[f"{c}_b"] for c in values if f"{c}_b" in merged})
    stat_a, anchor_a = metric_statistic(key, merged, rule_a)
    stat_b, anchor_b = metric_statistic(key, side_b, rule_b)
    resampler = ClusterResampler(_groups(merged), (merged["label"] == POSITIVE).to_numpy())
    anchors = None if anchor_a is None else (anchor_a, anchor_b)
    out = paired_difference(stat_a, stat_b, resampler, n_bootstrap=n_bootstrap, seed=seed, anchors=anchors)
    out["n"] = int(len(merged))
    return out


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
    calibrated: str | None = None,
    variants: str | None = None,
) -> dict:
    """Rule entry point: write metrics.json and breakdown.tsv for one experiment.

    ``calibrated``: the experiment's calibrated.parquet (None for spliceai_raw, whose calibrated
    form is the spliceai_calibrated row). ``variants``: the variant table whose gene groups are
    the bootstrap's resampling units (``attach_gene_groups``); None: the test targets' genes.
    """
    t0 = time.perf_counter()
    try:
        train_info = json.loads(Path(training).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{training}: cannot read the training summary ({exc}); re-run the training rule.") from None
    df, excluded = load_predictions(predictions, test_targets)
    group_table = pd.read_parquet(variants if variants is not None else test_targets)
    df, group_source = attach_gene_groups(df, group_table)
    base_df = df if Path(baseline).resolve() == Path(predictions).resolve() else load_predictions(baseline)[0]
    log.info("%s: %d test variants (%s)", experiment, len(df),
             ", ".join(f"{c}={int((df['label'] == c).sum())}" for c in CLASSES))
    result = evaluate_predictions(df, baseline=base_df, training=train_info, experiment=experiment,
                                  n_bootstrap=n_bootstrap, seed=seed, cutoffs=cutoffs,
                                  detection_threshold=detection_threshold,
                                  calibrated=None if calibrated is None else pd.read_parquet(calibrated),
                                  group_source=group_source)
    result["counts"]["excluded"] = excluded
    for name, m in result["headline"].items():
        value = "undefined" if m["value"] is None else f"{m['value']:.4f}"
        ci = "" if m["ci_low"] is None else f" [{m['ci_low']:.4f}, {m['ci_high']:.4f}]"
        log.info("%s: %s = %s%s%s", experiment, name, value, ci, f" ({m['reason']})" if m["reason"] else "")
    Path(metrics_path).parent.mkdir(parents=True, exist_ok=True)
    Path(metrics_path).write_text(json.dumps(result, indent=2, allow_nan=False) + "\n")
    definitions = result["definitions"]
    breakdown = breakdown_table(df, experiment, definitions["detection_threshold"], definitions["detection_inclusive"])
    breakdown.to_csv(breakdown_path, sep="\t", index=False, float_format="%.6g")
    log.info("%s: evaluated in %.1f s", experiment, time.perf_counter() - t0)
    return result
