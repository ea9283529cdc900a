"""Report figures (SVG, matplotlib Agg): ROC, PR, predicted-vs-target, training curves, scores,
reliability.

Every function takes predictions as {experiment: DataFrame} in report order and writes one
SVG. Headline curves use Splice-altering vs Normal only, like the metrics. A figure with
nothing to show (no delta model, no trained model) still gets written with a sentence
saying why, so the report never has a missing file. SVGs are written without a date and
with a fixed hash salt so reruns give identical files.
"""
from __future__ import annotations

import math
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from .metrics import (  # noqa: E402
    CLASSES, ECE_BINS, NEGATIVE, POSITIVE, average_precision, calibration_bins, pearson_r, pr_curve, roc_auc,
    roc_curve,
)

plt.rcParams["svg.hashsalt"] = "validsplice"
plt.rcParams["svg.fonttype"] = "none"  # real text in the SVG: smaller, searchable
CLASS_COLORS = {"Splice-altering": "#d62728", "Normal": "#1f77b4", "Low-frequency": "#2ca02c", "Conflicting": "#9467bd"}


def _save(fig, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def _grid(n: int, ncols: int = 3, size=(4.0, 3.4)):
    """Figure with n small-multiple axes (unused cells hidden)."""
    ncols = max(1, min(ncols, n))
    nrows = max(1, math.ceil(n / ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(size[0] * ncols, size[1] * nrows), squeeze=False,
                             layout="constrained")
    flat = list(axes.ravel())
    for ax in flat[n:]:
        ax.set_visible(False)
    return fig, flat[:n]


def _message_figure(path, title: str, message: str) -> None:
    fig, ax = plt.subplots(figsize=(6, 2.5))
    ax.axis("off")
    ax.set_title(title)
    ax.text(0.5, 0.5, message, ha="center", va="center", wrap=True)
    _save(fig, path)


def _headline(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    head = df[df["label"].isin((POSITIVE, NEGATIVE))]
    return (head["label"] == POSITIVE).to_numpy(), head["score"].to_numpy(dtype=np.float64)


def _fmt(x: float) -> str:
    return "undefined" if x is None or math.isnan(x) else f"{x:.3f}"


def plot_roc(predictions: dict[str, pd.DataFrame], path) -> None:
    """All models' ROC curves on one axis; the legend gives each ROC-AUC."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    for name, df in predictions.items():
        y, s = _headline(df)
        auc, reason = roc_auc(y, s)
        if reason and math.isnan(auc):
            ax.plot([], [], label=f"{name} (AUC undefined: {reason})")
            continue
        fpr, tpr = roc_curve(y, s)
        ax.plot(fpr, tpr, lw=1.6, label=f"{name} (AUC {_fmt(auc)})")
    ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1, label="chance")
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False-positive rate (Normal called splice-altering)",
           ylabel="True-positive rate (Splice-altering detected)",
           title="ROC: Splice-altering vs Normal, test split")
    ax.legend(loc="lower right", fontsize=8)
    _save(fig, path)


def plot_pr(predictions: dict[str, pd.DataFrame], path) -> None:
    """All models' precision-recall curves; the legend gives average precision (PR-AUC)."""
    fig, ax = plt.subplots(figsize=(6, 5.5))
    prevalence = math.nan
    for name, df in predictions.items():
        y, s = _headline(df)
        ap, reason = average_precision(y, s)
        if y.size:
            prevalence = y.mean()
        if reason and math.isnan(ap):
            ax.plot([], [], label=f"{name} (PR-AUC undefined: {reason})")
            continue
        recall, precision = pr_curve(y, s)
        ax.step(recall, precision, where="pre", lw=1.6, label=f"{name} (AP {_fmt(ap)})")
    if not math.isnan(prevalence):
        ax.axhline(prevalence, ls=":", color="grey", lw=1, label=f"chance (share SA {prevalence:.2f})")
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Recall (Splice-altering detected)",
           ylabel="Precision (called variants that are Splice-altering)",
           title="Precision-recall: Splice-altering vs Normal, test split")
    ax.legend(loc="lower left", fontsize=8)
    _save(fig, path)


def plot_scatter(predictions: dict[str, pd.DataFrame], path) -> None:
    """Predicted vs target max |delta| on Splice-altering test variants, one panel per delta model."""
    delta = {n: d for n, d in predictions.items()
             if "pred_max_abs_delta" in d.columns and d["pred_max_abs_delta"].notna().any()}
    if not delta:
        _message_figure(path, "Predicted vs target max |Δ|", "No model in this run predicts a delta.")
        return
    fig, axes = _grid(len(delta))
    for ax, (name, df) in zip(axes, delta.items()):
        sa = df[(df["label"] == POSITIVE) & df["pred_max_abs_delta"].notna() & df["target_max_abs_delta"].notna()]
        x, t = sa["target_max_abs_delta"].to_numpy(float), sa["pred_max_abs_delta"].to_numpy(float)
        r, reason = pearson_r(t, x)
        ax.scatter(x, t, s=8, alpha=0.5, color=CLASS_COLORS[POSITIVE], edgecolors="none")
        hi = max(1e-3, float(np.nanmax(np.r_[x, t, 0.0])))
        ax.plot([0, hi], [0, hi], ls=":", color="grey", lw=1)
        ax.set(xlabel="Target max |Δ| (base model)", ylabel="Predicted max |Δ|",
               title=f"{name}\nr = {_fmt(r)}, n = {len(sa)}" + (f" ({reason})" if reason else ""))
        ax.title.set_fontsize(9)
    fig.suptitle("Predicted vs target max |Δ|, Splice-altering test variants")
    _save(fig, path)


def plot_training_curves(histories: dict[str, pd.DataFrame], trainings: dict[str, dict], path) -> None:
    """Train and validation loss per epoch for each trained model; the best epoch is marked."""
    trained = {n: h for n, h in histories.items() if h is not None and len(h) and "epoch" in h.columns}
    if not trained:
        _message_figure(path, "Training curves", "No trained model in this run (history.tsv files are empty).")
        return
    fig, axes = _grid(len(trained))
    for ax, (name, hist) in zip(axes, trained.items()):
        hist = hist.sort_values("epoch")
        for col, style in (("train_loss", "-"), ("val_loss", "--")):
            if col in hist.columns and hist[col].notna().any():
                ax.plot(hist["epoch"], hist[col], style, marker="o", ms=3, label=col.replace("_", " "))
        best = (trainings.get(name) or {}).get("best_epoch")
        if best is None and "val_loss" in hist.columns and hist["val_loss"].notna().any():
            best = int(hist.loc[hist["val_loss"].idxmin(), "epoch"])
        if best is not None:
            ax.axvline(best, color="grey", ls=":", lw=1.2, label=f"best epoch {best}")
        ax.set(xlabel="Epoch", ylabel="Loss", title=name)
        ax.legend(fontsize=7)
    fig.suptitle("Training curves (loss per epoch)")
    _save(fig, path)


def plot_score_distributions(predictions: dict[str, pd.DataFrame], path,
                             threshold: float | dict[str, float | None] = 0.1) -> None:
    """Per model, the score histogram of each class (density, so small classes stay visible).

    ``threshold``: the detection threshold line, one for all or per model (a classifier's
    validation-chosen threshold; None draws no line).
    """
    if not predictions:
        _message_figure(path, "Score distributions", "No predictions.")
        return
    fig, axes = _grid(len(predictions))
    for ax, (name, df) in zip(axes, predictions.items()):
        scores = df["score"].to_numpy(dtype=np.float64)
        finite = scores[np.isfinite(scores)]
        lo = min(0.0, float(finite.min())) if finite.size else 0.0
        hi = max(1.0, float(finite.max())) if finite.size else 1.0
        bins = np.linspace(lo, hi, 41)
        for cls in CLASSES:
            s = df.loc[df["label"] == cls, "score"].dropna().to_numpy(dtype=np.float64)
            if s.size:
                ax.hist(s, bins=bins, density=True, histtype="step", lw=1.4, color=CLASS_COLORS[cls],
                        label=f"{cls} (n={s.size})")
        t = threshold.get(name) if isinstance(threshold, dict) else threshold
        if t is not None:
            ax.axvline(t, color="black", ls=":", lw=1, label=f"detection threshold {t:.3g}")
        ax.set(xlabel="Score", ylabel="Density", title=name, yscale="log")
        ax.legend(fontsize=7)
    fig.suptitle("Score distributions per class, test split")
    _save(fig, path)


def plot_reliability(calibrated: dict[str, pd.DataFrame], path, n_bins: int = ECE_BINS) -> None:
    """Reliability diagram per row: observed Splice-altering share vs mean calibrated P(SA).

    Test split, Splice-altering vs Normal, in the ECE's ``n_bins`` equal-width bins; marker area
    grows with the number of variants in the bin; the diagonal is perfect calibration.
    """
    if not calibrated:
        _message_figure(path, "Reliability diagram", "No calibrated probabilities in this run.")
        return
    fig, axes = _grid(len(calibrated))
    for ax, (name, df) in zip(axes, calibrated.items()):
        head = df[df["label"].isin((POSITIVE, NEGATIVE)) & df["p_sa"].notna()]
        p, y = head["p_sa"].to_numpy(np.float64), (head["label"] == POSITIVE).to_numpy(np.float64)
        bins = calibration_bins(p, n_bins)
        count = np.bincount(bins, minlength=n_bins)
        used = count > 0
        mean_p = np.bincount(bins, p, n_bins)[used] / count[used]
        observed = np.bincount(bins, y, n_bins)[used] / count[used]
        ax.plot([0, 1], [0, 1], ls=":", color="grey", lw=1)
        ax.plot(mean_p, observed, "-", color="#444", lw=1)
        ax.scatter(mean_p, observed, s=12 + 200 * count[used] / max(count.max(), 1), color="#d62728", alpha=0.7,
                   edgecolors="none")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Mean calibrated P(splice-altering)",
               ylabel="Observed share Splice-altering", title=f"{name} (n = {len(head)})")
        ax.title.set_fontsize(9)
    fig.suptitle(f"Reliability: calibrated probabilities on the test split ({n_bins} equal-width bins)")
    _save(fig, path)
