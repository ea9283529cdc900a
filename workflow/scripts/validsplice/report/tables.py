"""Report tables beyond the summary: cut-off metrics, breakdowns with intervals, per-variant table.

- ``cutoff_table``: sensitivity / specificity with intervals at SpliceAI's cut-offs (delta-scale
  models) and at each probability model's validation-chosen threshold, read from ``metrics.json``.
- ``breakdown_table``: per model and subgroup (region, nearest splice site, distance to the exon
  boundary, variant type) the counts, gene groups, ROC-AUC, detection and FP rate with cluster
  bootstrap intervals over gene groups, at the model's own detection rule (``metrics.json`` definitions).
- ``paired_comparer``: the paired cluster bootstrap of any headline metric between two table rows
  (the summary's bolding rule).
- ``predictions_table``: one row per test variant with its coordinates, gene, class, the base
  model's four delta scores and every experiment's score (``results/report/predictions.tsv``).
"""
from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..evaluation.cluster_bootstrap import headline_metrics
from ..evaluation.evaluate import GROUP_COLUMN, attach_gene_groups, paired_metric_difference
from ..evaluation.metrics import NEGATIVE, POSITIVE

# |exon_distance| bands (bases to the nearest exon boundary of the variant's gene)
DISTANCE_BANDS = ((0, 2, "0-2 bp"), (3, 10, "3-10 bp"), (11, 50, "11-50 bp"), (51, 500, "51-500 bp"),
                  (501, math.inf, "> 500 bp"))
NO_GENE = "no gene"
# (factor column, title in the report); the order of the breakdown page
BREAKDOWN_FACTORS = (
    ("region", "Region"),
    ("nearest_site", "Nearest splice site"),
    ("distance_band", "Distance to the nearest exon boundary"),
    ("variant_type", "Variant type"),
)
SCORE_COLUMNS = ("DS_AG", "DS_AL", "DS_DG", "DS_DL")
VARIANT_COLUMNS = ("variant_id", "chrom", "pos", "ref", "alt", "gene", "strand", "label", "split",
                   "variant_type", "region", "nearest_site", "exon_distance")


def distance_band(exon_distance: pd.Series) -> pd.Series:
    """|exon_distance| as a band label (DISTANCE_BANDS); NO_GENE where the distance is missing."""
    d = pd.to_numeric(exon_distance, errors="coerce").abs()
    out = pd.Series(NO_GENE, index=exon_distance.index, dtype=object)
    for lo, hi, name in DISTANCE_BANDS:
        out[(d >= lo) & (d <= hi)] = name
    return out


def band_order(levels) -> list[str]:
    order = [name for _, _, name in DISTANCE_BANDS] + [NO_GENE]
    return sorted(levels, key=lambda x: order.index(x) if x in order else len(order))


# ----------------------------------------------------------------- cut-offs
def cutoff_table(experiments: list[str], metrics: list[dict]) -> pd.DataFrame:
    """Sensitivity and specificity (with intervals) per model and cut-off.

    Delta-scale models: SpliceAI's cut-offs. Probability-scale models: their validation-chosen
    threshold only (a |delta| cut-off means nothing for a probability).
    """
    rows = []
    for name, m in zip(experiments, metrics):
        scale = m.get("score_scale") or "delta"
        own = (m.get("definitions") or {}).get("detection_threshold")  # a probability model's val-chosen one
        seen = set()
        for c in m.get("cutoffs") or []:
            source = c.get("source", "")
            if scale == "probability":  # its own threshold only, even where it equals a SpliceAI cut-off
                if own is None or c.get("cutoff") != own or own in seen:
                    continue
                seen.add(own)
                source = "validation threshold"
            row = {"Experiment": name, "Score scale": scale, "Cut-off": c.get("cutoff"), "Source": source}
            for key, title in (("sensitivity", "Sensitivity"), ("specificity", "Specificity")):
                e = c.get(key) or {}
                row[title] = _num(e.get("value"))
                row[f"{title}_low"], row[f"{title}_high"] = _num(e.get("ci_low")), _num(e.get("ci_high"))
                row[f"{title}_n"] = e.get("n")
            rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- breakdowns
def with_factors(predictions: pd.DataFrame, variants: pd.DataFrame) -> pd.DataFrame:
    """Predictions joined with the variant table's grouping columns (and the distance band)."""
    cols = [c for c in ("variant_type", "region", "nearest_site", "exon_distance") if c in variants.columns]
    df = predictions.drop(columns=[c for c in cols if c in predictions.columns])
    df = df.merge(variants[["variant_id", *cols]].drop_duplicates("variant_id"), on="variant_id", how="left")
    df["distance_band"] = distance_band(df["exon_distance"]) if "exon_distance" in df else NO_GENE
    for col in ("region", "nearest_site", "variant_type"):
        if col in df:
            df[col] = df[col].fillna("").replace("", "none")
    return df


def breakdown_table(predictions: dict[str, pd.DataFrame], variants: pd.DataFrame, metrics: dict[str, dict],
                    *, n_bootstrap: int = 1000, seed: int = 0) -> pd.DataFrame:
    """Per model, factor and level: counts, ROC-AUC, detection and FP rate with 95% intervals.

    Splice-altering vs Normal only (the headline classes). Detection / FP follow the model's
    own rule (``metrics.json`` definitions: fixed |delta| cut-off, or the validation-chosen
    threshold of a probability score). Intervals: cluster bootstrap over the gene groups of
    ``variants`` (``evaluation.evaluate.attach_gene_groups``) within the subgroup; ``n_groups`` is
    their number. Undefined values are NaN with a reason.
    """
    rows = []
    for name, pred in predictions.items():
        d = (metrics.get(name) or {}).get("definitions") or {}
        threshold = d.get("detection_threshold")
        inclusive = bool(d.get("detection_inclusive", False))
        df = with_factors(pred[pred["label"].isin((POSITIVE, NEGATIVE))], variants)
        df, _ = attach_gene_groups(df, variants)
        for factor, _ in BREAKDOWN_FACTORS:
            if factor not in df:
                continue
            levels = df[factor].unique()
            levels = band_order(levels) if factor == "distance_band" else sorted(levels)
            for level in levels:
                grp = df[df[factor] == level]
                y = (grp["label"] == POSITIVE).to_numpy()
                est = headline_metrics(y, grp["score"].to_numpy(np.float64), groups=grp[GROUP_COLUMN].to_numpy(),
                                       n_bootstrap=n_bootstrap, seed=seed,
                                       detection_threshold=math.inf if threshold is None else threshold,
                                       cutoffs=(), detection_inclusive=inclusive)
                row = {"experiment": name, "factor": factor, "level": level, "n_splice_altering": int(y.sum()),
                       "n_normal": int((~y).sum()), "n_groups": int(grp[GROUP_COLUMN].nunique())}
                for key in ("roc_auc", "detection_rate", "fp_rate"):
                    e = est[key]
                    undefined = threshold is None and key != "roc_auc"
                    row[key] = math.nan if undefined else e.value
                    row[f"{key}_low"] = math.nan if undefined else e.ci_low
                    row[f"{key}_high"] = math.nan if undefined else e.ci_high
                    row[f"{key}_reason"] = "no detection threshold" if undefined else (e.reason or "")
                rows.append(row)
    return pd.DataFrame(rows)


# ----------------------------------------------------------------- paired comparisons between rows
def paired_comparer(predictions: dict[str, pd.DataFrame], variants: pd.DataFrame, metrics: dict[str, dict],
                    calibrated: dict[str, pd.DataFrame] | None = None, *, n_bootstrap: int = 1000, seed: int = 0):
    """A function ``compare(metric key, experiment a, experiment b) -> dict`` (``difference``,
    ``ci_low``, ``ci_high``, ``p_value``): the paired cluster bootstrap over the gene groups of
    ``variants`` (``evaluation.evaluate.paired_metric_difference``), each model at its own detection
    rule, Brier / ECE of its calibrated P(SA) (None when the experiment has none)."""
    frames = {}
    for name, pred in predictions.items():
        frame, _ = attach_gene_groups(pred, variants)
        if calibrated and name in calibrated:
            p_sa = calibrated[name].drop_duplicates("variant_id").set_index("variant_id")["p_sa"]
            frame["p_sa"] = frame["variant_id"].map(p_sa)
        frames[name] = frame
    rules = {name: (m or {}).get("definitions") or {} for name, m in metrics.items()}

    def compare(key: str, a: str, b: str) -> dict | None:
        if a not in frames or b not in frames:
            return None
        if key in ("brier", "ece") and not all("p_sa" in frames[e] for e in (a, b)):
            return None
        return paired_metric_difference(key, frames[a], frames[b], rules.get(a), rules.get(b),
                                        n_bootstrap=n_bootstrap, seed=seed)

    return compare


# ----------------------------------------------------------------- per-variant table
def predictions_table(variants: pd.DataFrame, scores: pd.DataFrame, predictions: dict[str, pd.DataFrame],
                      calibrated: dict[str, pd.DataFrame] | None = None) -> pd.DataFrame:
    """One row per test variant: coordinates, gene, class, split, DS_* of its gene, each experiment's score.

    ``<experiment>_score`` is the model's ranking score (delta scale or probability, see the
    summary's Score scale); ``<experiment>_p_sa`` is its calibrated P(splice-altering) from
    ``calibrated`` ({experiment: calibrated.parquet}) where the experiment has one (rows built from
    calibrated probabilities, spliceai_calibrated and ensembles, have P(SA) as their score too).
    Missing values are empty: the base model did not score the variant's gene, or the model left
    the variant out (reason in its log).
    """
    test = variants[variants["split"] == "test"] if "split" in variants else variants
    table = test[[c for c in VARIANT_COLUMNS if c in test.columns]].rename(columns={"label": "class"})
    if len(scores) and {"variant_id", "gene"} <= set(scores.columns):
        scored = scores[scores.get("status", "scored") == "scored"] if "status" in scores else scores
        ds = scored[["variant_id", "gene", *[c for c in SCORE_COLUMNS if c in scored]]]
        table = table.merge(ds.drop_duplicates(["variant_id", "gene"]), on=["variant_id", "gene"], how="left")
    for col in SCORE_COLUMNS:
        if col not in table:
            table[col] = np.nan
    for name, pred in predictions.items():
        keep = pred[["variant_id", "score"]].rename(columns={"score": f"{name}_score"})
        table = table.merge(keep.drop_duplicates("variant_id"), on="variant_id", how="left")
        if calibrated and name in calibrated:
            p_sa = calibrated[name][["variant_id", "p_sa"]].rename(columns={"p_sa": f"{name}_p_sa"})
            table = table.merge(p_sa.drop_duplicates("variant_id"), on="variant_id", how="left")
    return table.reset_index(drop=True)


def _num(x) -> float:
    return math.nan if x is None else float(x)
