"""Report figures (SVG, matplotlib Agg): ROC, PR, predicted-vs-target, training curves, scores,
reliability.

Every function takes predictions as {experiment: DataFrame} in report order and writes one
SVG. Headline curves use Splice-altering vs Normal only, like the metrics. A figure with
nothing to show (no delta model, no trained model) still gets written with a sentence
saying why, so the report never has a missing file. SVGs are written without a date and
with a fixed hash salt so reruns give identical files.

Readability rules (issue 13): the baseline is drawn last, thick, dashed and black; every other
experiment keeps one colour from PALETTE in every figure (no grey or black: those are the
reference lines'); legends sit outside the axes, sorted by AUC; with HIGHLIGHT_FROM or more
experiments only the TOP_N best curves are coloured; tick labels are plain numbers; epochs are
integers; each model's own calling rule is marked; figures are about FIGURE_WIDTH inches wide
(the report's panel at a 1280 px window).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator, NullFormatter  # noqa: E402

from ..evaluation.cluster_bootstrap import ECE_BINS, calibration_bins
from ..evaluation.metrics import (
    BASELINE,
    CLASSES,
    NEGATIVE,
    POSITIVE,
    average_precision,
    pearson_r,
    pr_curve,
    roc_auc,
    roc_curve,
)

plt.rcParams["svg.hashsalt"] = "validsplice"
plt.rcParams["svg.fonttype"] = "none"  # real text in the SVG: smaller, searchable
CLASS_COLORS = {"Splice-altering": "#d62728", "Normal": "#1f77b4", "Low-frequency": "#2ca02c", "Conflicting": "#9467bd"}
# Experiment colours: tab10 without its grey, then darker tab20b/c tones; never grey or black.
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
           "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d", "#31a354", "#756bb1")
BASELINE_STYLE = {"color": "black", "ls": "--", "lw": 2.6, "zorder": 10}
REFERENCE_STYLE = {"color": "#8a8a8a", "ls": ":", "lw": 1.0, "zorder": 1}
BACKGROUND_STYLE = {"color": "#d0d0d0", "lw": 0.8, "zorder": 2}
HIGHLIGHT_FROM = 12   # with this many experiments or more, only the TOP_N best curves get a colour
TOP_N = 7
FIGURE_WIDTH = 9.5    # inches; about the width of the report's panel beside the menu at 1280 px
LOSS_BY_SCALE = {"probability": "BCE", "delta": "MSE"}   # the training loss of each score scale


@dataclass
class CallRule:
    """How a model's score is called splice-altering (from ``metrics.json`` definitions)."""

    threshold: float | None
    inclusive: bool = False
    source: str = "fixed delta cut-off"
    score_scale: str = "delta"

    @classmethod
    def from_metrics(cls, metrics: dict) -> "CallRule":
        d = metrics.get("definitions") or {}
        return cls(d.get("detection_threshold"), bool(d.get("detection_inclusive", False)),
                   d.get("detection_threshold_source") or "fixed delta cut-off", metrics.get("score_scale") or "delta")

    def label(self) -> str:
        if self.threshold is None:
            return "no threshold"
        op = "≥" if self.inclusive else ">"
        what = "validation-chosen" if self.source == "validation-chosen" else "|Δ| cut-off"
        return f"called at score {op} {self.threshold:.3g} ({what})"


def experiment_colors(names) -> dict[str, str]:
    """One colour per experiment in report order (the baseline is black)."""
    others = [n for n in names if n != BASELINE]
    colors = {n: PALETTE[i % len(PALETTE)] for i, n in enumerate(others)}
    colors[BASELINE] = BASELINE_STYLE["color"]
    return colors


def _save(fig, path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)


def _plain_ticks(ax, log_y: bool = False) -> None:
    """Tick labels as plain numbers (0.01, 10, 200), never 10^k or ×10^k."""
    plain = FuncFormatter(lambda v, _: f"{v:g}")
    ax.xaxis.set_major_formatter(plain)
    ax.yaxis.set_major_formatter(plain)
    if log_y:  # 1, 2, 5, 10, 20 ...: at least two labels even when the data span less than a decade
        ax.yaxis.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        ax.yaxis.set_minor_formatter(NullFormatter())


def _grid(n: int, ncols: int = 3, height: float = 2.9):
    """Figure with n small-multiple axes (unused cells hidden), FIGURE_WIDTH wide."""
    ncols = max(1, min(ncols if n < HIGHLIGHT_FROM else 4, n))
    nrows = max(1, math.ceil(n / ncols))
    width = FIGURE_WIDTH if n > 1 else FIGURE_WIDTH / 2
    fig, axes = plt.subplots(nrows, ncols, figsize=(width, height * nrows + 0.6), squeeze=False,
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


# ----------------------------------------------------------------- ROC and PR
@dataclass
class _Curve:
    name: str
    auc: float
    x: np.ndarray
    y: np.ndarray
    reason: str | None = None


def _roc_curves(predictions) -> list[_Curve]:
    curves = []
    for name, df in predictions.items():
        y, s = _headline(df)
        auc, reason = roc_auc(y, s)
        fpr, tpr = roc_curve(y, s) if not (reason and math.isnan(auc)) else (np.array([]), np.array([]))
        curves.append(_Curve(name, auc, fpr, tpr, reason))
    return curves


def _pr_curves(predictions) -> list[_Curve]:
    curves = []
    for name, df in predictions.items():
        y, s = _headline(df)
        ap, reason = average_precision(y, s)
        recall, precision = pr_curve(y, s) if not (reason and math.isnan(ap)) else (np.array([]), np.array([]))
        curves.append(_Curve(name, ap, recall, precision, reason))
    return curves


def coinciding_groups(curves: list[_Curve], tolerance: float = 0.005) -> list[list[str]]:
    """Groups of experiments whose curves lie on top of each other (same AUC, same shape)."""
    grid = np.linspace(0, 1, 201)
    signature = {}
    for c in curves:
        if c.x.size < 2 or math.isnan(c.auc):
            continue
        order = np.argsort(c.x, kind="stable")
        signature[c.name] = np.interp(grid, c.x[order], c.y[order])
    groups: list[list[str]] = []
    for name, sig in signature.items():
        for group in groups:
            if np.max(np.abs(signature[group[0]] - sig)) <= tolerance:
                group.append(name)
                break
        else:
            groups.append([name])
    return [g for g in groups if len(g) > 1]


def _draw_curves(ax, curves: list[_Curve], metric: str, step: bool) -> None:
    """Baseline last and dashed black; others in their colours, top TOP_N only when there are many."""
    colors = experiment_colors([c.name for c in curves])
    ranked = sorted(curves, key=lambda c: (math.isnan(c.auc), -(0 if math.isnan(c.auc) else c.auc)))
    others = [c for c in ranked if c.name != BASELINE]
    highlighted = {c.name for c in others[:TOP_N]} if len(curves) >= HIGHLIGHT_FROM else {c.name for c in others}
    plot = (lambda *a, **k: ax.step(*a, where="pre", **k)) if step else ax.plot
    background = [c for c in others if c.name not in highlighted and c.x.size]
    for c in background:
        plot(c.x, c.y, **BACKGROUND_STYLE)
    handles = []
    for c in ranked:
        label = f"{c.name} ({metric} {_fmt(c.auc)})" if not (c.reason and math.isnan(c.auc)) else \
            f"{c.name} ({metric} undefined: {c.reason})"
        if c.name == BASELINE:
            style = BASELINE_STYLE
        elif c.name in highlighted:
            style = {"color": colors[c.name], "lw": 1.7, "zorder": 5}
        else:
            continue
        if c.x.size and c.name != BASELINE:
            plot(c.x, c.y, **style)
        handles.append(Line2D([], [], label=label, **{k: v for k, v in style.items() if k != "zorder"}))
    base = next((c for c in curves if c.name == BASELINE and c.x.size), None)
    if base is not None:  # drawn last so no other curve hides it
        plot(base.x, base.y, **BASELINE_STYLE)
    if background:
        handles.append(Line2D([], [], label=f"{len(background)} more (light grey; see the results table)",
                              **{k: v for k, v in BACKGROUND_STYLE.items() if k != "zorder"}))
    ax.legend(handles=handles + [h for h in ax.get_legend_handles_labels()[0]], loc="upper left",
              bbox_to_anchor=(1.02, 1.0), fontsize=8, frameon=False, title=f"sorted by {metric}",
              title_fontsize=8, alignment="left")
    groups = coinciding_groups(curves)
    if groups:
        text = "Curves that coincide (drawn on top of each other): " + "; ".join(" = ".join(g) for g in groups)
        ax.text(0, -0.16, text, transform=ax.transAxes, fontsize=8, va="top", wrap=True)
    _plain_ticks(ax)


def plot_roc(predictions: dict[str, pd.DataFrame], path) -> None:
    """All models' ROC curves on one axis; the legend (outside) gives each ROC-AUC, best first."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.62, FIGURE_WIDTH * 0.5))
    ax.plot([0, 1], [0, 1], label="chance", **REFERENCE_STYLE)
    _draw_curves(ax, _roc_curves(predictions), "AUC", step=False)
    ax.set(xlim=(0, 1), ylim=(0, 1.01), xlabel="False-positive rate (Normal called splice-altering)",
           ylabel="True-positive rate (Splice-altering detected)",
           title="ROC: Splice-altering vs Normal, test split")
    _save(fig, path)


def plot_pr(predictions: dict[str, pd.DataFrame], path) -> None:
    """All models' precision-recall curves; the legend (outside) gives average precision, best first."""
    fig, ax = plt.subplots(figsize=(FIGURE_WIDTH * 0.62, FIGURE_WIDTH * 0.5))
    prevalence = next((y.mean() for y, _ in map(_headline, predictions.values()) if y.size), math.nan)
    if not math.isnan(prevalence):
        ax.axhline(prevalence, label=f"chance (share Splice-altering {prevalence:.2f})", **REFERENCE_STYLE)
    _draw_curves(ax, _pr_curves(predictions), "AP", step=True)
    ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Recall (Splice-altering detected)",
           ylabel="Precision (called variants that are Splice-altering)",
           title="Precision-recall: Splice-altering vs Normal, test split")
    _save(fig, path)


# ----------------------------------------------------------------- small multiples
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
        ax.plot([0, hi], [0, hi], **REFERENCE_STYLE)
        ax.set(xlabel="Target max |Δ| (base model)", ylabel="Predicted max |Δ|",
               title=f"{name}\nr = {_fmt(r)}, n = {len(sa)}" + (f" ({reason})" if reason else ""))
        ax.title.set_fontsize(9)
        _plain_ticks(ax)
    fig.suptitle("Predicted vs target max |Δ|, Splice-altering test variants (dotted: equality)")
    _save(fig, path)


def _kept_epoch(training: dict, hist: pd.DataFrame) -> tuple[int | None, str]:
    """The epoch whose weights the model kept, and how to say it (never "best" for final weights)."""
    metrics = training.get("metrics") or {}
    weights = metrics.get("weights")
    best = training.get("best_epoch", metrics.get("best_epoch"))
    final = training.get("stopped_epoch") or (int(hist["epoch"].max()) if len(hist) else None)
    if weights == "best epoch" and best is not None:
        return int(best), f"kept: epoch {best} (best val loss)"
    if weights == "final epoch" and final is not None:
        tail = f"; best val loss at epoch {best}" if best is not None and best != final else ""
        return int(final), f"kept: final epoch {final}{tail}"
    if best is not None:  # older training.json without "weights": say only what is known
        return None, f"best val loss at epoch {best}"
    return None, ""


def loss_name(training: dict) -> str:
    """The training loss of a model: training.json's "loss" when recorded, else by score scale."""
    return training.get("loss") or LOSS_BY_SCALE.get(training.get("score_scale") or "delta", "loss")


def plot_training_curves(histories: dict[str, pd.DataFrame], trainings: dict[str, dict], path) -> None:
    """Train and validation loss per epoch for each trained model; the epoch whose weights were kept is marked."""
    trained = {n: h for n, h in histories.items() if h is not None and len(h) and "epoch" in h.columns}
    if not trained:
        _message_figure(path, "Training curves", "No trained model in this run (history.tsv files are empty).")
        return
    fig, axes = _grid(len(trained))
    for ax, (name, hist) in zip(axes, trained.items()):
        training = trainings.get(name) or {}
        # group K-fold: one curve per fold (history.tsv has a fold column)
        for _, part in (hist.groupby("fold", sort=True) if "fold" in hist.columns else [(None, hist)]):
            part = part.sort_values("epoch")
            for col, style in (("train_loss", "-"), ("val_loss", "--")):
                if col in part.columns and part[col].notna().any():
                    ax.plot(part["epoch"], part[col], style, marker="o", ms=3,
                            color="#1f77b4" if col == "train_loss" else "#ff7f0e")
        kept, text = _kept_epoch(training, hist)
        if kept is not None:
            ax.axvline(kept, **REFERENCE_STYLE)
        ax.set(xlabel="Epoch", ylabel=f"Loss ({loss_name(training)})", title=f"{name}\n{text}" if text else name)
        ax.title.set_fontsize(9)
        ax.xaxis.set_major_locator(MaxNLocator(integer=True))
        _plain_ticks(ax)
    handles = [Line2D([], [], color="#1f77b4", marker="o", ms=3, label="training loss"),
               Line2D([], [], color="#ff7f0e", ls="--", marker="o", ms=3, label="validation loss"),
               Line2D([], [], label="epoch whose weights were kept", **REFERENCE_STYLE)]
    fig.legend(handles=handles, loc="outside lower center", ncols=3, fontsize=8, frameon=False)
    fig.suptitle("Training curves (loss per epoch; MSE for delta models, BCE for classifiers)")
    _save(fig, path)


def plot_score_distributions(predictions: dict[str, pd.DataFrame], path,
                             rules: dict[str, CallRule] | None = None) -> None:
    """Per model, the score histogram of each class (density, log scale), with the model's own calling rule.

    ``rules``: each experiment's CallRule (a delta model's |Δ| cut-off, a classifier's
    validation-chosen threshold); a model without a threshold gets no line.
    """
    if not predictions:
        _message_figure(path, "Score distributions", "No predictions.")
        return
    rules = rules or {}
    fig, axes = _grid(len(predictions))
    for ax, (name, df) in zip(axes, predictions.items()):
        rule = rules.get(name) or CallRule(None)
        scores = df["score"].to_numpy(dtype=np.float64)
        finite = scores[np.isfinite(scores)]
        lo = min(0.0, float(finite.min())) if finite.size else 0.0
        hi = max(1.0, float(finite.max())) if finite.size else 1.0
        bins = np.linspace(lo, hi, 41)
        for cls in CLASSES:
            s = df.loc[df["label"] == cls, "score"].dropna().to_numpy(dtype=np.float64)
            if s.size:
                ax.hist(s, bins=bins, density=True, histtype="step", lw=1.4, color=CLASS_COLORS[cls])
        if rule.threshold is not None:
            ax.axvline(rule.threshold, color="black", ls="--", lw=1)
        scale = "probability" if rule.score_scale == "probability" else "max |Δ|"
        ax.set(xlabel=f"Score ({scale})", ylabel="Density", title=f"{name}\n{rule.label()}", yscale="log")
        ax.title.set_fontsize(9)
        _plain_ticks(ax, log_y=True)
    counts = {cls: int(sum((df["label"] == cls).sum() for df in list(predictions.values())[:1])) for cls in CLASSES}
    handles = [Line2D([], [], color=CLASS_COLORS[c], lw=1.4, label=f"{c} (n={counts[c]})") for c in CLASSES
               if counts[c]]
    handles.append(Line2D([], [], color="black", ls="--", lw=1, label="the model's calling threshold"))
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=8, frameon=False)
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
        ax.plot([0, 1], [0, 1], **REFERENCE_STYLE)
        ax.plot(mean_p, observed, "-", color="#444", lw=1)
        ax.scatter(mean_p, observed, s=12 + 200 * count[used] / max(count.max(), 1), color="#d62728", alpha=0.7,
                   edgecolors="none")
        ax.set(xlim=(0, 1), ylim=(0, 1.02), xlabel="Mean calibrated P(splice-altering)",
               ylabel="Observed share Splice-altering", title=f"{name} (n = {len(head)})")
        ax.title.set_fontsize(9)
        _plain_ticks(ax)
    fig.suptitle(f"Reliability: calibrated probabilities on the test split ({n_bins} equal-width bins)")
    _save(fig, path)
