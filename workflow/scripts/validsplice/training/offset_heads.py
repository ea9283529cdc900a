"""The offset heads: L2 logistic corrections of calibrated SpliceAI on a few inputs (issue 19).

P(Splice-altering) = expit(offset + z . w + b), where offset = ``slope * max DS + intercept`` is spliceai_raw's
calibrator (the logit of ``spliceai_calibrated``) and z the head's inputs standardised on the training rows. w and
b start at 0, so before training a head IS calibrated SpliceAI (a test asserts it to 1e-6). Two heads:

- ``embedding_head``: z = the variant's embeddings (``scoring.embeddings``: 96 columns from
  results/scores/embeddings.parquet), optionally reduced to ``embedding_components`` principal components fitted on
  the training rows only (no label is read);
- ``exon_site_head``: z = the square root of each base model's exon-site score (plus ``SITE_FLOOR``) (``scoring.exon_sites``: how much
  the variant moves its nearest exon's acceptor and donor; results/scores/exon_sites/<base model>.parquet). The
  candidate input sets are each base model's score alone and, with several base models, all of them together;
  the set is chosen with the penalty. On Vex-seq it is the model that beats raw SpliceAI (docs/vexseq.md).

The fit: weighted log loss + penalty * |w|^2 (b not penalised), L-BFGS (scipy), seconds on a CPU. The
penalty (and input set) is chosen from ``penalties`` like the trees' grid (``training.gbm``): the lowest log loss
over the validation rows plus, with ``selection_folds`` k >= 2, the training rows scored out of fold by a group
k-fold by gene; the offset alone (w = b = 0) is a candidate too, kept when nothing beats it (``beats_offset``).
A row without inputs (an indel without embeddings, a variant without an annotated exon site, ...) gets no
correction: its score is calibrated SpliceAI's (training.json counts them); such training rows are left out of
the fit.

The rules are train_embedding_head and train_exon_site_head (workflow/rules/train.smk's feature-model rules);
their trainer is ``training.gbm.train_gbm_experiment`` (registry), which does everything around the fit (rows,
threshold, predictions, training.json, model.joblib) and calls ``fit_offset_head``. This module imports nothing
of gbm (no cycle): the base score's column name and the class weights are given to it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

EMBEDDING_HEAD = "embedding_head"
EXON_SITE_HEAD = "exon_site_head"
HEADS = (EMBEDDING_HEAD, EXON_SITE_HEAD)
# what a head reads of its settings (registry.EmbeddingHeadParams / ExonSiteHeadParams + these general keys)
SETTING_KEYS = ("embedding_components", "penalties", "selection_folds", "class_weight", "threshold_rule",
                "max_train_samples", "seed")


def head_settings(settings: dict | None, model: str = EMBEDDING_HEAD) -> dict:
    from ..config.registry import model_settings

    typed = model_settings(model, settings)
    values = {key: getattr(typed, key) for key in SETTING_KEYS if hasattr(typed, key)}
    values["penalties"] = [float(v) for v in values["penalties"]]
    return values


# ------------------------------------------------------------------ the exon-site head's inputs
# added before the square root: the root's slope at 0 would turn the ~1e-8 float32 noise of a delta near 0
# (ensemble sums in batches of other widths) into ~1e-4; with the floor it stays below 1e-6 (predict and the
# workflow then agree to 1e-6), and the deltas above it (99 % of Vex-seq's) keep their spread
SITE_FLOOR = 1e-3


def exon_site_column(base_model: str) -> str:
    return f"{base_model}_exon_site"


def exon_site_transform(delta) -> np.ndarray:
    """The head's input made of an ``exon_site_delta``: sqrt(delta + SITE_FLOOR) (NaN stays NaN)."""
    return np.sqrt(np.asarray(delta, dtype=np.float64) + SITE_FLOOR)


def exon_site_inputs(variants: pd.DataFrame, paths) -> pd.DataFrame:
    """The exon-site head's input columns: per base model (``paths``: results/scores/exon_sites/<name>.parquet,
    the primary first), ``exon_site_transform`` of its ``exon_site_delta`` (NaN where skipped). The square root
    spreads the many small changes that a linear term on the raw delta (mostly 0.00-0.05, a few up to 0.8) would
    squeeze together; it was chosen in the development of issue 19 on Vex-seq (docs/vexseq.md says how)."""
    from pathlib import Path

    from ..scoring.exon_sites import exon_site_scores_of

    columns = {}
    for path in paths:
        columns[exon_site_column(Path(path).stem)] = exon_site_transform(
            exon_site_scores_of(variants, pd.read_parquet(path), path).to_numpy())
    return pd.DataFrame(columns, index=variants.index)


def exon_site_input_sets(columns) -> dict:
    """The candidate input sets: each base model's column alone, and (with several) all of them together."""
    sets = {c.removesuffix("_exon_site"): [c] for c in columns}
    if len(columns) > 1:
        sets["all"] = list(columns)
    return sets


# ------------------------------------------------------------------ standardise / project (training rows only)
def fit_projection(values: np.ndarray, components: int, names) -> dict:
    """Mean, scale and (components > 0) principal axes of the finite rows of ``values`` (training rows)."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values).all(axis=1)]
    mean = finite.mean(axis=0) if len(finite) else np.zeros(values.shape[1])
    scale = finite.std(axis=0) if len(finite) else np.ones(values.shape[1])
    scale = np.where(scale > 1e-12, scale, 1.0)  # a constant column stays 0, not inf
    axes = None
    k = int(components)
    if k and len(finite) > 1:
        k = min(k, len(finite) - 1, values.shape[1])
        _, _, vt = np.linalg.svd((finite - mean) / scale, full_matrices=False)
        axes = vt[:k]
    out_names = [f"emb_pc_{i + 1}" for i in range(len(axes))] if axes is not None else [f"{n}_z" for n in names]
    return {"inputs": list(names), "mean": mean, "scale": scale, "axes": axes, "names": out_names}


def project(frame: pd.DataFrame, projection: dict) -> pd.DataFrame:
    """The projected (standardised, and with axes reduced) columns of ``frame``'s input columns (NaN rows stay
    NaN)."""
    z = (frame[projection["inputs"]].to_numpy(dtype=np.float64) - projection["mean"]) / projection["scale"]
    if projection["axes"] is not None:
        z = z @ projection["axes"].T
    return pd.DataFrame(z, columns=projection["names"], index=frame.index)


# ------------------------------------------------------------------ the head
class OffsetLogisticHead:
    """expit(calibrated logit + z . coef + bias); z = the ``project``ed inputs; no correction where z is missing."""

    def __init__(self, calibrator, projection: dict, coef=None, bias: float = 0.0, base_score: str = "spliceai_max_ds"):
        self.slope, self.intercept = float(calibrator.slope), float(calibrator.intercept)
        self.projection, self.base_score = projection, base_score
        self.coef = np.zeros(len(projection["names"])) if coef is None else np.asarray(coef, dtype=np.float64)
        self.bias = float(bias)
        self.classes_ = np.array([0, 1])

    def offset(self, frame: pd.DataFrame) -> np.ndarray:
        return self.slope * frame[self.base_score].to_numpy(dtype=np.float64) + self.intercept

    def logit(self, frame: pd.DataFrame) -> np.ndarray:
        z = project(frame, self.projection).to_numpy()
        has = np.isfinite(z).all(axis=1)
        correction = np.where(has, np.nan_to_num(z) @ self.coef + self.bias, 0.0)
        return self.offset(frame) + correction

    def predict_proba(self, frame: pd.DataFrame) -> np.ndarray:
        from scipy.special import expit

        p = expit(self.logit(frame))
        return np.column_stack([1.0 - p, p])


def _fit_weights(z: np.ndarray, offset: np.ndarray, y: np.ndarray, w: np.ndarray, penalty: float) -> np.ndarray:
    """(coef..., bias) minimising sum w * logloss(y, expit(offset + z coef + bias)) + penalty |coef|^2, from 0."""
    from scipy.optimize import minimize
    from scipy.special import expit, log_expit

    def loss(theta):
        eta = offset + z @ theta[:-1] + theta[-1]
        value = -np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta))) + penalty * theta[:-1] @ theta[:-1]
        r = w * (expit(eta) - y)
        return value, np.concatenate([z.T @ r + 2 * penalty * theta[:-1], [r.sum()]])

    result = minimize(loss, np.zeros(z.shape[1] + 1), jac=True, method="L-BFGS-B", options={"maxiter": 500})
    return result.x


def _loss_sum(theta, z, offset, y, w) -> float:
    from scipy.special import log_expit

    eta = offset + z @ theta[:-1] + theta[-1]
    return float(-np.sum(w * (y * log_expit(eta) + (1 - y) * log_expit(-eta))))


def _class_weights(labels: np.ndarray, how: str) -> np.ndarray:
    """As training.gbm.class_weights: "balanced" gives each class half the total weight, "none" weight 1."""
    from sklearn.utils.class_weight import compute_sample_weight

    labels = np.asarray(labels).astype(int)
    return compute_sample_weight("balanced", labels) if how == "balanced" else np.ones(len(labels))


def fit_embedding_head(x_train: pd.DataFrame, y_train, x_val: pd.DataFrame, y_val, settings: dict, calibrator,
                       embedding_columns, groups=None, base_score: str = "spliceai_max_ds"):
    """The head on the training rows, penalty chosen on validation (+ inner group folds). Returns
    (estimator, history, info) as ``training.gbm.fit_offset_gbm``."""
    return fit_offset_head(x_train, y_train, x_val, y_val, settings, calibrator, {"embeddings": list(embedding_columns)},
                           groups=groups, base_score=base_score, what="embedding")


def fit_offset_head(x_train: pd.DataFrame, y_train, x_val: pd.DataFrame, y_val, settings: dict, calibrator,
                    input_sets: dict, groups=None, base_score: str = "spliceai_max_ds", what: str = "embedding"):
    """An offset head on the training rows. ``input_sets``: {name: columns}, the candidate inputs; the input set
    and the penalty are chosen together, by the lowest selection loss (validation + inner group folds), against
    the offset alone. One set: ``embedding_head``; one per base model and all together: ``exon_site_head``
    (``exon_site_input_sets``). Every candidate is judged on the same rows: those with every input finite
    (the rows without get no correction whatever is chosen, so they add the same loss to every candidate).
    Returns (estimator, history, info) as ``training.gbm.fit_offset_gbm``."""
    import time

    from sklearn.model_selection import StratifiedGroupKFold

    from .loop import safe_roc_auc

    start = time.perf_counter()
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    w_train = _class_weights(y_train, settings["class_weight"])
    w_val = _class_weights(y_val, settings["class_weight"])
    every = [c for columns in input_sets.values() for c in columns]
    has_tr = np.isfinite(x_train[every].to_numpy(dtype=np.float64)).all(axis=1)
    has_va = np.isfinite(x_val[every].to_numpy(dtype=np.float64)).all(axis=1)
    # the inner folds are drawn once, so every candidate is judged on the same splits
    folds, used_folds, inner_rows = int(settings["selection_folds"]), 0, []
    if folds >= 2 and groups is not None:
        g = np.asarray(groups)[has_tr]
        yt = y_train[has_tr]
        k = min(folds, len(np.unique(g[yt == 1])), len(np.unique(g[yt == 0])))
        if k >= 2:
            used_folds = k
            idx = np.flatnonzero(has_tr)
            splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=int(settings["seed"]))
            inner_rows = [(idx[a], idx[b]) for a, b in splitter.split(idx, yt, g)]
    candidates = {}
    for name, columns in input_sets.items():
        projection = fit_projection(x_train[list(columns)].to_numpy(), settings.get("embedding_components", 0), columns)
        head0 = OffsetLogisticHead(calibrator, projection, base_score=base_score)

        def parts(frame, projection=projection, head0=head0):
            return np.nan_to_num(project(frame, projection).to_numpy()), head0.offset(frame)

        candidates[name] = (projection, head0, parts(x_train), parts(x_val))

    def criterion(name, penalty):
        _, _, (z_tr, o_tr), (z_va, o_va) = candidates[name]
        zero = np.zeros(z_tr.shape[1] + 1)
        sel = has_va
        theta = zero if penalty is None else _fit_weights(z_tr[has_tr], o_tr[has_tr], y_train[has_tr], w_train[has_tr],
                                                          penalty)
        total = _loss_sum(theta, z_va[sel], o_va[sel], y_val[sel], w_val[sel])
        weight = w_val[sel].sum()
        for fit_rows, held in inner_rows:
            theta = zero if penalty is None else _fit_weights(z_tr[fit_rows], o_tr[fit_rows], y_train[fit_rows],
                                                              w_train[fit_rows], penalty)
            total += _loss_sum(theta, z_tr[held], o_tr[held], y_train[held], w_train[held])
            weight += w_train[held].sum()
        return total / weight

    first = next(iter(input_sets))
    offset_criterion = criterion(first, None)  # the offset alone reads no input: the same for every set
    tried = [{"inputs": name, "penalty": p, "selection_loss": criterion(name, p)}
             for name in input_sets for p in settings["penalties"]]
    best = min(tried, key=lambda t: t["selection_loss"])
    beats = best["selection_loss"] < offset_criterion
    projection, head0, (z_tr, o_tr), _ = candidates[best["inputs"] if beats else first]
    if beats:
        theta = _fit_weights(z_tr[has_tr], o_tr[has_tr], y_train[has_tr], w_train[has_tr], best["penalty"])
        estimator = OffsetLogisticHead(calibrator, projection, theta[:-1], theta[-1], base_score=base_score)
    else:
        estimator = head0
    seconds = time.perf_counter() - start
    p_val = estimator.predict_proba(x_val)[:, 1]
    p0_val = head0.predict_proba(x_val)[:, 1]
    _, _, _, (z_va0, o_va0) = candidates[first]
    zero = np.zeros(z_va0.shape[1] + 1)
    history = pd.DataFrame({"epoch": np.arange(1, len(tried) + 1), "train_loss": np.nan,
                            "val_loss": [t["selection_loss"] for t in tried], "val_metric": np.nan,
                            "learning_rate": [t["penalty"] for t in tried], "seconds": seconds / len(tried)})
    several = len(input_sets) > 1
    info = {"best_iteration": int(beats), "stopped_iteration": len(tried), "max_iter": len(tried),
            "best_val_loss": float(best["selection_loss"] if beats else offset_criterion),
            "best_val_roc_auc": safe_roc_auc(y_val, p_val), "seconds": seconds,
            "weights": (f"L2 penalty {best['penalty']:g} on {len(projection['names'])} {what} input(s)"
                        + (f" ({best['inputs']})" if several else "") if beats
                        else "the calibrated base-model offset alone (no penalty beat it)"),
            "offset_val_loss": _loss_sum(zero, z_va0, o_va0, y_val, w_val) / w_val.sum(),
            "offset_val_roc_auc": safe_roc_auc(y_val, p0_val),
            "beats_offset": bool(beats), "grid": tried, "chosen": best if beats else None,
            "selection": (f"validation + {used_folds}-fold group cross-validation of the training rows (by gene)"
                          if used_folds else "validation"), "offset_selection_loss": float(offset_criterion),
            "train_rows_without_inputs": int((~has_tr).sum())}
    return estimator, history, info
