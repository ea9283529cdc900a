"""``embedding_head``: an L2 logistic correction of calibrated SpliceAI on SpliceAI's own embeddings (issue 19).

P(Splice-altering) = expit(offset + z . w + b), where offset = ``slope * max DS + intercept`` is spliceai_raw's
calibrator (the logit of ``spliceai_calibrated``) and z the variant's embeddings (``scoring.embeddings``:
96 columns from results/scores/embeddings.parquet) standardised on the training rows, optionally reduced to
``embedding_components`` principal components fitted on the training rows only (no label is read). w and b
start at 0, so before training the head IS calibrated SpliceAI (a test asserts it to 1e-6).

The fit: weighted log loss + penalty * |w|^2 (b not penalised), L-BFGS (scipy), seconds on a CPU. The
penalty is chosen from ``penalties`` like the trees' grid (``training.gbm``): the lowest log loss over the
validation rows plus, with ``selection_folds`` k >= 2, the training rows scored out of fold by a group k-fold
by gene; the offset alone (w = b = 0) is a candidate too, kept when no penalty beats it (``beats_offset``).
A row without embeddings (an indel, ...; ``embedding_status``) gets no correction: its score is calibrated
SpliceAI's (training.json counts them); training rows without embeddings are left out of the fit.

The rule is train_embedding_head (workflow/rules/train.smk's feature-model rules); its trainer is
``training.gbm.train_gbm_experiment`` (registry), which does everything around the fit (rows, threshold,
predictions, training.json, model.joblib) and calls ``fit_embedding_head``. This module imports nothing of
gbm (no cycle): the base score's column name and the class weights are given to it.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

MODEL_NAME = "embedding_head"
# what the head reads of its settings (registry.EmbeddingHeadParams + these general keys)
SETTING_KEYS = ("embedding_components", "penalties", "selection_folds", "class_weight", "threshold_rule",
                "max_train_samples", "seed")


def head_settings(settings: dict | None) -> dict:
    from ..config.registry import model_settings

    typed = model_settings(MODEL_NAME, settings)
    values = {key: getattr(typed, key) for key in SETTING_KEYS}
    values["penalties"] = [float(v) for v in values["penalties"]]
    return values


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
    """The projected columns of ``frame``'s embedding columns (NaN rows stay NaN)."""
    z = (frame[projection["inputs"]].to_numpy(dtype=np.float64) - projection["mean"]) / projection["scale"]
    if projection["axes"] is not None:
        z = z @ projection["axes"].T
    return pd.DataFrame(z, columns=projection["names"], index=frame.index)


# ------------------------------------------------------------------ the head
class OffsetLogisticHead:
    """expit(calibrated logit + z . coef + bias); z = ``project``ed embeddings; no correction where z is missing."""

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
    import time

    from sklearn.model_selection import StratifiedGroupKFold

    from .loop import safe_roc_auc

    start = time.perf_counter()
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    w_train = _class_weights(y_train, settings["class_weight"])
    w_val = _class_weights(y_val, settings["class_weight"])
    projection = fit_projection(x_train[list(embedding_columns)].to_numpy(), settings["embedding_components"],
                                embedding_columns)
    head0 = OffsetLogisticHead(calibrator, projection, base_score=base_score)

    def parts(frame):
        z = project(frame, projection).to_numpy()
        has = np.isfinite(z).all(axis=1)
        return np.nan_to_num(z), head0.offset(frame), has

    z_tr, o_tr, has_tr = parts(x_train)
    z_va, o_va, has_va = parts(x_val)
    zero = np.zeros(z_tr.shape[1] + 1)
    # rows without embeddings get no correction: they add the same loss to every candidate, so they are left out
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

    def criterion(penalty):
        sel = has_va
        total = _loss_sum(_fit_weights(z_tr[has_tr], o_tr[has_tr], y_train[has_tr], w_train[has_tr], penalty),
                          z_va[sel], o_va[sel], y_val[sel], w_val[sel]) if penalty is not None else \
            _loss_sum(zero, z_va[sel], o_va[sel], y_val[sel], w_val[sel])
        weight = w_val[sel].sum()
        for fit_rows, held in inner_rows:
            theta = zero if penalty is None else _fit_weights(z_tr[fit_rows], o_tr[fit_rows], y_train[fit_rows],
                                                              w_train[fit_rows], penalty)
            total += _loss_sum(theta, z_tr[held], o_tr[held], y_train[held], w_train[held])
            weight += w_train[held].sum()
        return total / weight

    offset_criterion = criterion(None)
    tried = [{"penalty": p, "selection_loss": criterion(p)} for p in settings["penalties"]]
    best = min(tried, key=lambda t: t["selection_loss"])
    beats = best["selection_loss"] < offset_criterion
    if beats:
        theta = _fit_weights(z_tr[has_tr], o_tr[has_tr], y_train[has_tr], w_train[has_tr], best["penalty"])
        estimator = OffsetLogisticHead(calibrator, projection, theta[:-1], theta[-1], base_score=base_score)
    else:
        estimator = head0
    seconds = time.perf_counter() - start
    p_val = estimator.predict_proba(x_val)[:, 1]
    p0_val = head0.predict_proba(x_val)[:, 1]
    history = pd.DataFrame({"epoch": np.arange(1, len(tried) + 1), "train_loss": np.nan,
                            "val_loss": [t["selection_loss"] for t in tried], "val_metric": np.nan,
                            "learning_rate": [t["penalty"] for t in tried], "seconds": seconds / len(tried)})
    info = {"best_iteration": int(beats), "stopped_iteration": len(tried), "max_iter": len(tried),
            "best_val_loss": float(best["selection_loss"] if beats else offset_criterion),
            "best_val_roc_auc": safe_roc_auc(y_val, p_val), "seconds": seconds,
            "weights": (f"L2 penalty {best['penalty']:g} on {len(projection['names'])} embedding input(s)" if beats
                        else "the calibrated base-model offset alone (no penalty beat it)"),
            "offset_val_loss": _loss_sum(zero, z_va, o_va, y_val, w_val) / w_val.sum(), "offset_val_roc_auc": safe_roc_auc(y_val, p0_val),
            "beats_offset": bool(beats), "grid": tried, "chosen": best if beats else None,
            "selection": (f"validation + {used_folds}-fold group cross-validation of the training rows (by gene)"
                          if used_folds else "validation"), "offset_selection_loss": float(offset_criterion),
            "train_rows_without_embeddings": int((~has_tr).sum())}
    return estimator, history, info
