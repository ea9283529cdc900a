"""The feature models: gradient-boosted trees on per-variant features, trained on the label.

Two models of the registry share this module and differ only in their feature set (``FEATURE_SETS``):
``spliceai_features_gbm`` (base-model scores + position features) and ``position_only_gbm`` (the
position features alone: a control that shows how much of a gain comes from where the variants sit,
i.e. from study design, rather than from the base model's view of the sequence).

The tabular baseline of papers on SpliceVarDB. Its target is the label itself
(Splice-altering = 1, Normal = 0), so unlike the delta regressors it can learn to call a
Splice-altering variant that SpliceAI scores low, from where the variant sits (distance to
and kind of the nearest exon boundary, region, type and length) and the pattern of the
four scores. Features (``FEATURES``), all read from files earlier rules wrote, nothing scored
again:
- SpliceAI's four DS with and without its exon mask (``DS_*_masked`` / ``DS_*_unmasked`` of
  scores.parquet, both from the same probabilities) and the four DP, of the variant's ``gene``
  (``targets.choose_score_rows``); missing (NaN) when that gene was not scored;
- variant type (categorical), ``indel_length`` and the longer allele's length;
- distance to the nearest annotated exon boundary (signed as SpliceAI, signed along the
  transcript, absolute), the kind of that boundary (acceptor / donor) and on which side the
  variant lies (``boundary_side``: e.g. ``donor_intronic``), region and strand.

Test rows without a base-model score (their gene's row was skipped: MNV, near a contig end, ...)
get **no score** (NaN, ``scored`` False) from a model that reads the scores: the training rows all have
one (targets exclude unscored rows from train/val), so the trees never learned where such a row
belongs and would send it down whichever branch held more training rows. Evaluation leaves them
out and counts them (metrics.json ``counts.excluded``); training.json's note gives the number.
``position_only_gbm`` reads no score and scores every row.

Training choices (recorded in training.json):
- rows: **all** labelled (Splice-altering / Normal) train-split variants with a target
  (targets/train_labelled.parquet, the targets' label-independent exclusions applied), not the
  balanced sample of targets/train.parquet; validation likewise (val_labelled.parquet);
- class imbalance by weighting: ``compute_sample_weight("balanced")`` (each class weighs half
  of the total), no Normal is discarded;
- early stopping on the validation split only, passed explicitly (``X_val``; scikit-learn's
  internal ``validation_fraction`` would carve it out of train): the number of trees is the
  one with the lowest class-weighted validation log loss; the model is refitted with exactly
  that many trees (deterministic: no row or feature subsampling);
- score = P(Splice-altering) under balanced classes (``score_scale`` probability), called at a
  threshold chosen on validation like every classifier (``training.select_threshold``).

Starting from calibrated SpliceAI (issue 19; ``base_offset``, default true): the trees' initial score is
the calibrated base-model logit, ``slope * max DS + intercept`` of spliceai_raw's calibrator.json, so with
no tree the model's probability IS ``spliceai_calibrated``'s and every tree is a correction of it.
scikit-learn's HistGradientBoostingClassifier has no per-row initial score, so these trees are
``GradientBoostingClassifier(init=CalibratedBaseScore(...))``, the documented hook for an initial model
(exact, float64: its logit is taken from the init's probability). Not LightGBM (whose ``init_score`` does
the same): a compiled dependency for a few thousand rows, where exact trees take seconds. Those trees take
no NaN: a missing value becomes ``MISSING`` (below every real value, so a split can still set it apart).
The correction's strength is chosen on validation: a grid of learning rate x min_samples_leaf
(``offset_grid``), each grown to max_iter trees, the number of trees (0 = the offset alone) and the grid
point with the lowest validation log loss kept; ``beats_offset`` in training.json says whether any beat 0
trees. With ``selection_folds`` k >= 2 that loss is taken over the validation rows plus the out-of-fold rows of a
group k-fold over the training rows (``inner_fold_losses``: by gene, stratified; every training row scored once by
trees grown without its gene), so a validation split of a few groups (Vex-seq: 3 to 18 Splice-altering variants
per fold) no longer decides alone; the kept trees are still those grown on all training rows. ``base_offset: false`` keeps the HistGradientBoosting trees above, started from the class prior.

Several base models (config ``base_models``, issue 20): the trees of a model that reads the scores
(``spliceai_features_gbm``) also read each additional base model's DS / DP of the variant's gene, as columns
prefixed with its name (``base_model_features``: ``openspliceai_DS_AG_masked`` ..., Pangolin's
``pangolin_DS_GAIN``, ``pangolin_DS_LOSS``, ``pangolin_DP_GAIN``, ``pangolin_DP_LOSS``); missing (NaN) where that
model did not score the gene. The primary's columns keep their names, and the offset stays the primary's
calibrated logit (spliceai_raw's calibrator). A row without the primary's scores still gets no score; one
without an additional model's gets the trees' missing-value branch.

Base-model embeddings (issue 19; ``features: base+embeddings``): the trees of spliceai_features_gbm also read
the primary base model's embeddings (``scoring.embeddings``, results/scores/embeddings.parquet), standardised and
reduced to ``embedding_components`` principal components fitted on the training rows only (no label read; 0 =
all 96 standardised columns), so ~800 training rows do not meet 96 noisy columns. The projection travels in
model.joblib (``embedding_projection``); a row without embeddings (an indel) takes the trees' missing branch.
The same training function trains the heads of ``training.offset_heads``: ``embedding_head`` (an L2 logistic
correction of the calibrated logit on the embeddings) and ``exon_site_head`` (the same on every base model's
exon-site score, ``scoring.exon_sites``; training.json ``extra_base_models`` lists the additional base models
whose scores it reads, and ``validsplice predict`` computes those scores: ``apply.base_models.exon_site_features``).
``validsplice predict`` computes no embeddings: the experiments reading them have no model folder.

``model.joblib`` holds the fitted estimator, the feature list and category codes, the settings,
the threshold and the library versions: ``load_model`` + ``predict_scores`` rebuild it anywhere.
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from .offset_heads import EMBEDDING_HEAD, EXON_SITE_HEAD, HEADS  # the logistic corrections of the calibrated base score

log = logging.getLogger("validsplice.training.gbm")

MODEL_NAME = "spliceai_features_gbm"
POSITION_ONLY = "position_only_gbm"
SCORE_SCALE = "probability"

DS_KINDS = ("AG", "AL", "DG", "DL")
SCORE_FEATURES = ([f"DS_{k}_masked" for k in DS_KINDS] + [f"DS_{k}_unmasked" for k in DS_KINDS]
                  + [f"DP_{k}" for k in DS_KINDS])
# Category codes are fixed here (not learned from the data), so a saved model reads any table the same way.
CATEGORIES = {
    "variant_type": ("SNV", "deletion", "insertion", "MNV"),
    "nearest_site": ("acceptor", "donor"),
    "boundary_side": ("acceptor_exonic", "acceptor_intronic", "donor_exonic", "donor_intronic"),
    "region": ("exonic", "intronic", "intergenic"),
    "strand": ("+", "-"),
}
NUMERIC_FEATURES = SCORE_FEATURES + ["indel_length", "allele_length", "exon_distance",
                                     "exon_distance_transcript", "abs_exon_distance"]
FEATURES = NUMERIC_FEATURES + list(CATEGORIES)
# the non-base-model features: variant type and length, exon distance, boundary kind and side, region, strand
POSITION_FEATURES = [f for f in FEATURES if f not in SCORE_FEATURES]
# a head's inputs are the embeddings or the exon-site scores alone (added by train_gbm_experiment), with the base
# score as its offset
FEATURE_SETS = {MODEL_NAME: FEATURES, POSITION_ONLY: POSITION_FEATURES, EMBEDDING_HEAD: [], EXON_SITE_HEAD: []}
# what the features are made from (label and split are not read: a VCF row to predict has neither)
# the baseline's own score (spliceai_raw: max DS of the variant's gene, 0.0 where unscored), what the
# calibrated offset reads; a column of feature_matrix's output beside the features, not a tree feature
BASE_SCORE = "spliceai_max_ds"
# what the offset trees (exact GradientBoosting, no NaN support) read for a missing value
MISSING = -1e9
# what the features are made from (label and split are not read: a VCF row to predict has neither)
VARIANT_COLUMNS = ["variant_id", "ref", "alt", "strand", "variant_type", "indel_length",
                   "exon_distance", "region", "nearest_site", "gene"]

# The settings the trees read: the model's own (registry.FeaturesGbmParams) and, of the general
# training keys (schema's training.defaults), these; epochs, batch_size, hidden_dim, ... mean nothing to trees.
SETTING_KEYS = ("max_iter", "max_leaf_nodes", "min_samples_leaf", "l2_regularization", "max_bins", "class_weight",
                "threshold_rule", "learning_rate", "early_stopping", "patience", "min_delta", "max_train_samples",
                "seed", "base_offset", "offset_grid", "selection_folds", "features", "embedding_components")


def base_model_features(base_model: str) -> list[str]:
    """The feature columns an additional base model adds (its score columns, prefixed with its name)."""
    from ..config.naming import BASE_MODEL_NAMES, PANGOLIN_DP, PANGOLIN_DS

    if base_model not in BASE_MODEL_NAMES:
        raise UserError(f"{base_model!r} is not a base model; base models: {', '.join(BASE_MODEL_NAMES)}.")
    columns = [*PANGOLIN_DS, *PANGOLIN_DP] if base_model == "pangolin" else SCORE_FEATURES
    return [f"{base_model}_{c}" for c in columns]


def features_of(model: str, extra_base_models=()) -> list[str]:
    """The feature columns of feature model ``model`` (in the order the trees read them); a model that reads
    the base model's scores also reads those of each of ``extra_base_models`` (config base_models)."""
    if model not in FEATURE_SETS:
        raise UserError(f"{model!r} is not a feature model; feature models: {', '.join(FEATURE_SETS)}.")
    features = list(FEATURE_SETS[model])
    if reads_base_model_scores(features):
        features += [c for name in extra_base_models for c in base_model_features(name)]
    return features


def reads_base_model_scores(features) -> bool:
    """True when the trees read the base model's scores (the features hold DS / DP)."""
    return any(f in SCORE_FEATURES for f in features)


def gbm_settings(settings: dict | None, model: str = MODEL_NAME) -> dict:
    """The keys the trees read, with their defaults from the registry's one place (an unknown key is a UserError)."""
    from ..config.registry import model_settings

    typed = model_settings(model, settings)
    return {key: getattr(typed, key) for key in SETTING_KEYS}


# ------------------------------------------------------------------ features
def check_score_columns(scores: pd.DataFrame, path="scores.parquet") -> None:
    missing = [c for c in SCORE_FEATURES if c not in scores.columns]
    if missing:
        raise UserError(f"{path}: lacks column(s) {', '.join(missing)} ({MODEL_NAME} reads masked and unmasked DS); "
                        "the scores come from an older version: re-run score_shard and gather_scores.")


def _codes(values: pd.Series, categories: tuple[str, ...]) -> np.ndarray:
    """Category -> float code (its index in ``categories``); anything else (e.g. "") -> NaN (missing)."""
    lookup = {c: float(i) for i, c in enumerate(categories)}
    return values.fillna("").astype(str).map(lambda v: lookup.get(v, np.nan)).to_numpy(dtype=float)


def feature_matrix(frame: pd.DataFrame, extra_features=()) -> pd.DataFrame:
    """Model input (float columns ``FEATURES``, categories as codes, NaN = missing) from a frame
    holding the variant-table columns (VARIANT_COLUMNS) and the score columns (SCORE_FEATURES).

    This is the one place features are made: training, prediction and ``validsplice predict``
    all call it, so a saved model always sees the columns it was trained on. ``extra_features``: the
    additional base models' columns (``base_model_features``), numbers taken as they are, after ``FEATURES``.
    """
    missing = [c for c in SCORE_FEATURES + ["ref", "alt", "strand", "variant_type", "indel_length",
                                            "exon_distance", "region", "nearest_site"] if c not in frame.columns]
    if missing:
        raise UserError(f"{MODEL_NAME}: feature input lacks column(s) {', '.join(missing)}.")
    out = pd.DataFrame(index=frame.index)
    for column in SCORE_FEATURES:
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    out["indel_length"] = frame["indel_length"].astype(float)
    out["allele_length"] = np.maximum(frame["ref"].astype(str).str.len(), frame["alt"].astype(str).str.len())
    distance = pd.to_numeric(frame["exon_distance"], errors="coerce").astype(float)
    # exon_distance is boundary - pos in genomic coordinates (SpliceAI's convention); along the
    # transcript the sign flips on the minus strand (> 0: the boundary lies downstream)
    along = np.where(frame["strand"].astype(str) == "-", -1.0, 1.0)
    out["exon_distance"] = distance
    out["exon_distance_transcript"] = distance * along
    out["abs_exon_distance"] = distance.abs()
    region, site = frame["region"].fillna("").astype(str), frame["nearest_site"].fillna("").astype(str)
    side = (site + "_" + region).where((site != "") & region.isin(["exonic", "intronic"]), "")
    sources = {"variant_type": frame["variant_type"], "nearest_site": site, "boundary_side": side,
               "region": region, "strand": frame["strand"]}
    for column, categories in CATEGORIES.items():
        out[column] = _codes(sources[column], categories)
    extra = list(extra_features)
    for column in extra:
        if column not in frame.columns:
            raise UserError(f"{MODEL_NAME}: feature input lacks the additional base model's column {column}.")
        out[column] = pd.to_numeric(frame[column], errors="coerce").astype(float)
    if BASE_SCORE in frame:  # the offset's input, as spliceai_raw scores it (unscored: 0.0)
        out[BASE_SCORE] = np.nan_to_num(pd.to_numeric(frame[BASE_SCORE], errors="coerce").to_numpy(dtype=float),
                                        nan=0.0)
        return out[FEATURES + extra + [BASE_SCORE]]
    return out[FEATURES + extra]


def _gene_row_values(variants: pd.DataFrame, scores: pd.DataFrame, columns, path) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(choose_score_rows' frame, ``columns`` of each variant's own gene row; NaN where that gene was not scored)."""
    from .targets import choose_score_rows

    chosen = choose_score_rows(variants, scores, path)
    row = chosen["score_row"].to_numpy()
    scored = (chosen["score_status"] == "scored").to_numpy() & (row >= 0)
    values = pd.DataFrame(index=variants.index)
    for column in columns:
        column_values = np.full(len(variants), np.nan)
        column_values[scored] = pd.to_numeric(scores[column].iloc[row[scored]], errors="coerce").to_numpy(dtype=float)
        values[column] = column_values
    return chosen, values


def variant_features(variants: pd.DataFrame, scores: pd.DataFrame, paths: dict | None = None,
                     extra_scores: dict | None = None) -> pd.DataFrame:
    """Per row of the variant table: its features (``feature_matrix``).

    The score columns are those of the variant's own ``gene`` row (``choose_score_rows``); NaN
    where that gene was not scored. ``extra_scores``: {additional base model: its scores table}, whose
    columns join as ``base_model_features`` (the same gene row choice on each model's own table).
    """
    from .targets import check_columns

    paths = {"variants": "variants.parquet", "scores": "scores.parquet", **(paths or {})}
    check_columns(variants, VARIANT_COLUMNS, paths["variants"])
    check_score_columns(scores, paths["scores"])
    variants = variants.reset_index(drop=True)
    chosen, values = _gene_row_values(variants, scores, SCORE_FEATURES, paths["scores"])
    frame = variants.copy()
    frame[SCORE_FEATURES] = values
    frame[BASE_SCORE] = chosen["spliceai_max_ds"].to_numpy(dtype=float)
    extra = []
    for name, table in (extra_scores or {}).items():
        columns = base_model_features(name)
        own = [c[len(name) + 1:] for c in columns]
        missing = [c for c in own if c not in table.columns]
        if missing:
            raise UserError(f"the {name} scores lack column(s) {', '.join(missing)}; re-run its scoring "
                            f"(results/scores/{name}/).")
        _, values = _gene_row_values(variants, table, own, f"results/scores/{name}/scores.parquet")
        frame[columns] = values.to_numpy()
        extra += columns
    return feature_matrix(frame, extra)


# ------------------------------------------------------------------ model
def class_weights(labels: np.ndarray, how: str) -> np.ndarray:
    """Sample weights: "balanced" gives each class half the total weight; "none" weighs every row 1."""
    from sklearn.utils.class_weight import compute_sample_weight

    labels = np.asarray(labels).astype(int)
    return compute_sample_weight("balanced", labels) if how == "balanced" else np.ones(len(labels))


def make_estimator(settings: dict, max_iter: int, early_stopping: bool, patience: int, features=None):
    from sklearn.ensemble import HistGradientBoostingClassifier

    categorical = np.array([f in CATEGORIES for f in (FEATURES if features is None else features)])
    return HistGradientBoostingClassifier(
        loss="log_loss", learning_rate=float(settings["learning_rate"]), max_iter=int(max_iter),
        max_leaf_nodes=int(settings["max_leaf_nodes"]), min_samples_leaf=int(settings["min_samples_leaf"]),
        l2_regularization=float(settings["l2_regularization"]), max_bins=int(settings["max_bins"]),
        categorical_features=categorical, early_stopping=early_stopping, scoring="loss",
        validation_fraction=None, n_iter_no_change=int(patience), tol=float(settings["min_delta"]),
        random_state=int(settings["seed"]),
    )


def fit_gbm(x_train: pd.DataFrame, y_train: np.ndarray, x_val: pd.DataFrame, y_val: np.ndarray, settings: dict):
    """Fit on train; pick the number of trees on validation only. Returns (estimator, history, info).

    The validation rows are passed to scikit-learn explicitly (``X_val``), weighted like the
    training rows, and tracked for every tree. With ``early_stopping`` growth stops after
    ``patience`` trees without improvement and the model is refitted with the best number of
    trees; without it every tree up to ``max_iter`` is grown and kept (patience beyond max_iter).
    """
    settings = gbm_settings(settings)  # both feature models share these keys (registry.FeaturesGbmParams)
    x_train = x_train.drop(columns=[BASE_SCORE], errors="ignore")  # the offset's input, not a tree feature
    x_val = x_val.drop(columns=[BASE_SCORE], errors="ignore")
    features = list(x_train.columns)
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    for name, y in (("train", y_train), ("validation", y_val)):
        if len(np.unique(y)) < 2:
            raise UserError(f"{MODEL_NAME}: the {name} rows hold one class only ({len(y)} rows); "
                            "it needs Splice-altering and Normal variants in train and val.")
    w_train = class_weights(y_train, settings["class_weight"])
    w_val = class_weights(y_val, settings["class_weight"])
    max_iter, stop = int(settings["max_iter"]), bool(settings["early_stopping"])
    patience = int(settings["patience"]) if stop else max_iter + 1
    start = time.perf_counter()
    grown = make_estimator(settings, max_iter, True, patience, features)
    grown.fit(x_train, y_train, sample_weight=w_train, X_val=x_val, y_val=y_val, sample_weight_val=w_val)
    val_losses = -np.asarray(grown.validation_score_)[1:]  # entry i: after i + 1 trees
    train_losses = -np.asarray(grown.train_score_)[1:]
    best = int(np.argmin(val_losses)) + 1 if stop else grown.n_iter_
    estimator = grown
    if best < grown.n_iter_:
        estimator = make_estimator(settings, best, False, patience, features).fit(x_train, y_train, sample_weight=w_train)
    seconds = time.perf_counter() - start
    history = staged_history(grown, x_val, y_val, train_losses, val_losses, settings, seconds)
    info = {"best_iteration": best, "stopped_iteration": int(grown.n_iter_), "max_iter": max_iter,
            "best_val_loss": float(val_losses[best - 1]), "best_val_roc_auc": float(history["val_metric"].iat[best - 1]),
            "seconds": seconds, "weights": "best iteration (refitted)" if estimator is not grown else "final iteration"}
    return estimator, history, info


def staged_history(estimator, x_val, y_val, train_losses, val_losses, settings, seconds) -> pd.DataFrame:
    """history.tsv rows, one per tree ("epoch" = number of trees): weighted log losses, val ROC-AUC.

    ``seconds`` is the fit time spread evenly over the trees (scikit-learn does not time each one).
    """
    from .loop import safe_roc_auc

    aucs = [safe_roc_auc(y_val, p[:, 1]) for p in estimator.staged_predict_proba(x_val)]
    n = len(val_losses)
    return pd.DataFrame({"epoch": np.arange(1, n + 1), "train_loss": train_losses, "val_loss": val_losses,
                         "val_metric": aucs[:n], "learning_rate": float(settings["learning_rate"]),
                         "seconds": seconds / max(n, 1)})


def base_score_missing(features: pd.DataFrame, columns) -> np.ndarray:
    """Rows whose base-model features among ``columns`` are missing (the base model did not score the gene)."""
    used = [c for c in columns if c in SCORE_FEATURES]
    if not used:
        return np.zeros(len(features), dtype=bool)
    return features[used].isna().all(axis=1).to_numpy()


# ------------------------------------------------------------------ trees started from calibrated SpliceAI
class CalibratedBaseScore:
    """The trees' initial model: P = expit(slope * x[:, column] + intercept), calibrated SpliceAI.

    ``GradientBoostingClassifier(init=...)`` starts from ``logit(predict_proba(X)[:, 1])``: exactly this
    logit. ``fit`` changes nothing: the calibrator was fitted by calibrate_model (spliceai_raw's, on every
    labelled train + validation row: the base model never saw those labels, ``training.calibration``).
    Also the whole model when no tree beats it on validation (it has ``predict_proba``).
    """

    def __init__(self, slope: float, intercept: float, column: int):
        self.slope, self.intercept, self.column = float(slope), float(intercept), int(column)
        self.classes_ = np.array([0, 1])

    def fit(self, X, y, sample_weight=None):  # noqa: N803 (scikit-learn's signature)
        return self

    def predict_proba(self, X) -> np.ndarray:  # noqa: N803
        from scipy.special import expit

        p = expit(self.slope * np.asarray(X, dtype=np.float64)[:, self.column] + self.intercept)
        return np.column_stack([1.0 - p, p])


def tree_matrix(features: pd.DataFrame, columns: list[str]) -> np.ndarray:
    """The offset trees' input: ``columns`` then the base score (last), NaN -> ``MISSING``."""
    return np.nan_to_num(features[list(columns) + [BASE_SCORE]].to_numpy(dtype=np.float64), nan=MISSING)


def offset_grid(settings: dict) -> list[dict]:
    """(learning_rate, min_samples_leaf) points tried; from the settings' values, shrunk by ``offset_grid`` factors."""
    points = []
    for lr_factor, leaf_factor in ((1, 1), (1, 3), (1 / 3, 1), (1 / 3, 3))[: int(settings["offset_grid"])]:
        points.append({"learning_rate": float(settings["learning_rate"]) * lr_factor,
                       "min_samples_leaf": int(settings["min_samples_leaf"]) * leaf_factor})
    return points


def _log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> float:
    p = np.clip(p, 1e-15, 1 - 1e-15)
    return float(-np.sum(w * (y * np.log(p) + (1 - y) * np.log(1 - p))) / np.sum(w))


def _loss_sums(y: np.ndarray, staged, w: np.ndarray) -> np.ndarray:
    """Weighted log-loss sums (not means) per number of trees: summed over parts, divided once by all weights."""
    return np.array([_log_loss(y, p, w) * float(np.sum(w)) for p in staged])


def inner_fold_losses(make_trees, a_train: np.ndarray, y_train, w_train, groups, folds: int, seed: int):
    """Weighted log-loss sums, per number of trees, of the training rows scored out of fold: a group k-fold
    over the training rows (stratified by class, whole groups per fold), trees grown on the other folds.
    Returns (sums of length max_iter, the folds actually used); (None, 0) when the rows hold too few groups."""
    from sklearn.model_selection import StratifiedGroupKFold

    groups = np.asarray(groups)
    k = min(int(folds), len(np.unique(groups[y_train == 1])), len(np.unique(groups[y_train == 0])))
    if k < 2:
        return None, 0
    sums = None
    splitter = StratifiedGroupKFold(n_splits=k, shuffle=True, random_state=seed)
    for fit_rows, held in splitter.split(a_train, y_train, groups):
        if len(np.unique(y_train[fit_rows])) < 2 or not len(held):
            continue  # a fold of one class cannot be fitted; its rows are simply not scored
        trees = make_trees().fit(a_train[fit_rows], y_train[fit_rows], sample_weight=w_train[fit_rows])
        part = _loss_sums(y_train[held], [p[:, 1] for p in trees.staged_predict_proba(a_train[held])], w_train[held])
        sums = part if sums is None else sums + part
    return sums, k


def fit_offset_gbm(x_train: pd.DataFrame, y_train, x_val: pd.DataFrame, y_val, settings: dict, calibrator,
                   groups=None):
    """Trees started from ``calibrator``'s logit of the base score; the grid point and number of trees
    (0 = the offset alone) with the lowest validation log loss are kept (with ``selection_folds`` >= 2 and
    ``groups``, the training rows' genes: the loss over validation + the training rows scored out of fold,
    ``inner_fold_losses``). Returns (estimator, history, info)."""
    from sklearn.ensemble import GradientBoostingClassifier

    from .loop import safe_roc_auc

    settings = gbm_settings(settings)
    y_train, y_val = np.asarray(y_train).astype(int), np.asarray(y_val).astype(int)
    w_train = class_weights(y_train, settings["class_weight"])
    w_val = class_weights(y_val, settings["class_weight"])
    # the model's features (features_of: FEATURE_SETS + any additional base model's), in order; not the offset's input
    columns = [c for c in x_train.columns if c != BASE_SCORE]
    a_train, a_val = tree_matrix(x_train, columns), tree_matrix(x_val, columns)
    offset = CalibratedBaseScore(calibrator.slope, calibrator.intercept, column=len(columns))
    p0_val = offset.predict_proba(a_val)[:, 1]
    offset_loss, offset_auc = _log_loss(y_val, p0_val, w_val), safe_roc_auc(y_val, p0_val)
    folds = int(settings["selection_folds"]) if groups is not None else 0
    # the selection loss of 0 trees (the offset alone) on the same rows as the trees' (validation [+ training])
    offset_criterion = offset_loss
    if folds >= 2:
        p0_train = offset.predict_proba(a_train)[:, 1]
        offset_criterion = ((_log_loss(y_val, p0_val, w_val) * w_val.sum() + _log_loss(y_train, p0_train, w_train)
                             * w_train.sum()) / (w_val.sum() + w_train.sum()))
    max_iter = int(settings["max_iter"])
    start = time.perf_counter()
    best = {"val_loss": offset_criterion, "n_trees": 0, "point": None, "estimator": offset}
    tried, histories, used_folds = [], [], 0
    for point in offset_grid(settings):
        def make_trees(point=point):
            return GradientBoostingClassifier(
                loss="log_loss", init=offset, n_estimators=max_iter, learning_rate=point["learning_rate"],
                max_leaf_nodes=int(settings["max_leaf_nodes"]), min_samples_leaf=point["min_samples_leaf"],
                max_depth=None, subsample=1.0, random_state=int(settings["seed"]))

        trees = make_trees().fit(a_train, y_train, sample_weight=w_train)
        staged = [p[:, 1] for p in trees.staged_predict_proba(a_val)]
        val_losses = np.array([_log_loss(y_val, p, w_val) for p in staged])
        criterion = val_losses
        if folds >= 2:
            inner, used_folds = inner_fold_losses(make_trees, a_train, y_train, w_train, groups, folds,
                                                  int(settings["seed"]))
            if inner is not None:
                criterion = (val_losses * w_val.sum() + inner) / (w_val.sum() + w_train.sum())
        n = int(np.argmin(criterion)) + 1
        tried.append({**point, "best_n_trees": n, "val_loss": float(val_losses[n - 1]),
                      "selection_loss": float(criterion[n - 1])})
        histories.append((point, trees, staged, val_losses))
        if criterion[n - 1] < best["val_loss"] - float(settings["min_delta"]):
            best = {"val_loss": float(criterion[n - 1]), "n_trees": n, "point": point, "trees": trees}
    if best["n_trees"]:
        # keep the first n trees of the grown model (exact: the same trees a refit with n would grow)
        estimator = best["trees"]
        estimator.estimators_ = estimator.estimators_[: best["n_trees"]]
        estimator.train_score_ = estimator.train_score_[: best["n_trees"]]
        estimator.n_estimators = estimator.n_estimators_ = best["n_trees"]
    else:
        estimator = offset
    seconds = time.perf_counter() - start
    point, trees, staged, val_losses = next(h for h in histories if h[0] is best["point"]) if best["point"] \
        else histories[0]
    train_losses = [_log_loss(y_train, p[:, 1], w_train) for p in trees.staged_predict_proba(a_train)] \
        if best["point"] is None else list(trees.train_score_)
    n = min(len(val_losses), len(train_losses))
    history = pd.DataFrame({"epoch": np.arange(1, n + 1), "train_loss": np.asarray(train_losses[:n], dtype=float),
                            "val_loss": val_losses[:n], "val_metric": [safe_roc_auc(y_val, p) for p in staged[:n]],
                            "learning_rate": point["learning_rate"], "seconds": seconds / max(n, 1)})
    best_auc = safe_roc_auc(y_val, estimator.predict_proba(a_val)[:, 1])
    info = {"best_iteration": best["n_trees"], "stopped_iteration": max_iter, "max_iter": max_iter,
            "best_val_loss": best["val_loss"], "best_val_roc_auc": best_auc, "seconds": seconds,
            "weights": ("the calibrated base-model offset alone (no tree beat it on validation)" if not best["n_trees"]
                        else f"first {best['n_trees']} trees of the best grid point"),
            "offset_val_loss": offset_loss, "offset_val_roc_auc": offset_auc, "beats_offset": bool(best["n_trees"]),
            "grid": tried, "chosen": best["point"],
            # what chose the grid point and number of trees (best_val_loss is that loss when folds were used)
            "selection": (f"validation + {used_folds}-fold group cross-validation of the training rows (by gene)"
                          if used_folds else "validation"), "offset_selection_loss": offset_criterion}
    return estimator, history, info


def predict_scores(bundle: dict, features: pd.DataFrame) -> np.ndarray:
    """P(Splice-altering) of each row from a ``model.joblib`` bundle and ``feature_matrix`` output.

    NaN (no score) for a row without a base-model score when the model reads the scores: the
    trees never saw such a row in training (module docstring), so any value would be a guess.
    Training, the workflow's predictions and ``validsplice predict`` all call this function.
    """
    missing = [c for c in bundle["features"] if c not in features.columns]
    projection = bundle.get("embedding_projection")
    if projection is not None and missing:  # the trees read projected embeddings: project the raw columns
        from .offset_heads import project

        features = features.join(project(features, projection))
        missing = [c for c in bundle["features"] if c not in features.columns]
    if missing:
        raise UserError(f"{bundle.get('model', MODEL_NAME)}: features {', '.join(missing)} missing; the model was "
                        f"saved with {bundle['features']}.")
    if bundle.get("model") in HEADS:  # reads its raw input columns and the base score itself
        return np.asarray(bundle["estimator"].predict_proba(features)[:, 1], dtype=np.float64)
    if bundle.get("base_offset"):
        if BASE_SCORE not in features.columns:
            raise UserError(f"{bundle.get('model', MODEL_NAME)}: this model starts from calibrated SpliceAI and needs "
                            f"the {BASE_SCORE} column (the base model's max DS of the variant's gene) in its features.")
        p = bundle["estimator"].predict_proba(tree_matrix(features, bundle["features"]))[:, 1]
    else:
        p = bundle["estimator"].predict_proba(features[bundle["features"]])[:, 1]
    p = np.asarray(p, dtype=np.float64)
    return np.where(base_score_missing(features, bundle["features"]), np.nan, p)


def library_versions() -> dict:
    import sklearn

    from ..common.provenance import code_version

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "validsplice": code_version()}


def save_model(bundle: dict, path) -> None:
    """joblib dump to a temporary name, then rename (a crash never leaves a file that looks complete).

    Why joblib and not skops: the estimator, its category tables and the settings round-trip exactly
    with the scikit-learn that trained them, with no extra dependency (skops is not in the envs).
    joblib is pickle: loading runs code from the file, so a model folder is trusted like the code of
    the workflow that wrote it (load only folders you made or got from someone you trust);
    ``library_versions`` in the bundle makes a scikit-learn mismatch visible when it is loaded.
    """
    import joblib

    from ..common.files import write_atomically

    write_atomically(path, lambda tmp: joblib.dump(bundle, tmp))


def load_model(path) -> dict:
    """The bundle written by ``train_gbm_experiment``; warns when scikit-learn's version differs."""
    import joblib
    import sklearn

    bundle = joblib.load(path)
    if not isinstance(bundle, dict) or bundle.get("model") not in FEATURE_SETS:
        model = bundle.get("model") if isinstance(bundle, dict) else type(bundle).__name__
        raise UserError(f"{path}: not a feature-model file (model {model!r}; expected one of "
                        f"{', '.join(FEATURE_SETS)}).")
    saved = bundle.get("versions", {}).get("scikit-learn")
    if saved != sklearn.__version__:
        log.warning("%s was saved with scikit-learn %s, this is %s; predictions may differ.", path, saved,
                    sklearn.__version__)
    return bundle


# ------------------------------------------------------------------ the rule
def _rows(table: pd.DataFrame, variants: pd.DataFrame, path) -> np.ndarray:
    """Variant-table rows of a targets table (its ``window_row``), checked to name the same variants."""
    rows = table["window_row"].to_numpy(dtype=np.int64)
    ids = variants["variant_id"].astype(str).to_numpy()
    if len(rows) and (rows.min() < 0 or rows.max() >= len(ids)
                      or (ids[rows] != table["variant_id"].astype(str).to_numpy()).any()):
        raise UserError(f"{path}: window_row does not point at the same variants in variants.parquet; "
                        "re-run build_targets.")
    return rows


def train_gbm_experiment(*, variants_path, scores_path, train_labelled_path, val_labelled_path, val_path, test_path,
                         model_path, history_path, predictions_path, val_predictions_path, training_path,
                         experiment: str, target_summary_path=None, base_calibrator_path=None,
                         settings: dict | None = None, threads: int | None = None, model_name: str = MODEL_NAME,
                         extra_scores_paths=(), extra_base_models=(), embeddings_path=None,
                         exon_sites_paths=()) -> dict:
    """Train one experiment of feature model ``model_name`` (``FEATURE_SETS``); write model.joblib, history.tsv, predictions.parquet,
    val_predictions.parquet (rows of targets/val.parquet, like every model, for calibration) and training.json.

    Rows: train_labelled / val_labelled.parquet, every Splice-altering / Normal variant of the split
    with a target (the targets' label-independent exclusions apply), not the balanced sample. The
    threshold is chosen on val_labelled re-weighted to the assumed prevalence of ``target_summary_path``
    (results/targets/summary.json, as every classifier; without it the validation rows' own ratio).
    With ``base_offset`` the trees start from ``base_calibrator_path`` (spliceai_raw's calibrator.json).
    ``extra_base_models`` / ``extra_scores_paths`` (same order): the additional base models whose scores a model
    that reads scores takes as features too (``features_of``). ``embeddings_path``: results/scores/embeddings.parquet,
    for an experiment that reads the embeddings (``registry.experiment_reads_embeddings``). ``exon_sites_paths``:
    results/scores/exon_sites/<base model>.parquet of every base model (the primary first), for ``exon_site_head``.
    """
    from threadpoolctl import threadpool_limits  # scikit-learn's tree code runs on OpenMP threads

    from ..config.prevalence import assumed_prevalence
    from .loop import read_target_summary, select_threshold, validation_counts
    from .predictions import prediction_table, write_history
    from .targets import SA, cap_rows

    extra_base_models = list(extra_base_models) if reads_base_model_scores(features_of(model_name)) else []
    if len(extra_base_models) != len(list(extra_scores_paths)):
        raise UserError(f"experiment {experiment!r}: {len(extra_base_models)} additional base model(s) "
                        f"({', '.join(extra_base_models)}) but {len(list(extra_scores_paths))} scores file(s).")
    from ..config.registry import experiment_reads_embeddings
    from .offset_heads import head_settings

    features = features_of(model_name, extra_base_models)
    head = model_name in HEADS
    config = head_settings(settings, model_name) if head else gbm_settings(settings, model_name)
    if model_name == EXON_SITE_HEAD and not list(exon_sites_paths):
        raise UserError(f"experiment {experiment!r} reads the base models' exon-site scores but none were given "
                        "(results/scores/exon_sites/<base model>.parquet, rule base_model_exon_sites).")
    reads_embeddings = experiment_reads_embeddings(model_name, config)
    if reads_embeddings and not head and not reads_base_model_scores(features):
        raise UserError(f"experiment {experiment!r}: {model_name} is the control without any base-model input; "
                        "features: base+embeddings is for spliceai_features_gbm.")
    if reads_embeddings and embeddings_path is None:
        raise UserError(f"experiment {experiment!r} reads the base model's embeddings but none were given "
                        "(results/scores/embeddings.parquet, rule base_model_embeddings).")
    model_path = Path(model_path)
    if model_path.exists():
        model_path.unlink()  # a stale model must not survive a failed rerun
    variants = pd.read_parquet(variants_path).reset_index(drop=True)
    x = variant_features(variants, pd.read_parquet(scores_path),
                         paths={"variants": str(variants_path), "scores": str(scores_path)},
                         extra_scores={name: pd.read_parquet(path) for name, path in zip(extra_base_models,
                                                                                         extra_scores_paths)})
    x = x[features + ([BASE_SCORE] if BASE_SCORE in x.columns else [])]
    tables = {name: pd.read_parquet(path) for name, path in (
        ("train", train_labelled_path), ("val", val_labelled_path), ("val_table", val_path), ("test", test_path))}
    if config["max_train_samples"] is not None:
        tables["train"] = cap_rows(tables["train"], int(config["max_train_samples"]),
                                   np.random.default_rng(int(config["seed"])))
    rows = {name: _rows(table, variants, path) for (name, table), path in zip(
        tables.items(), (train_labelled_path, val_labelled_path, val_path, test_path))}
    y_train = (tables["train"]["label"] == SA).to_numpy(dtype=int)
    y_val = (tables["val"]["label"] == SA).to_numpy(dtype=int)
    projection, embedding_columns, without_embeddings = None, [], 0
    input_sets = None  # a head's candidate inputs (training.offset_heads.fit_offset_head)
    if model_name == EXON_SITE_HEAD:
        from .offset_heads import exon_site_input_sets, exon_site_inputs

        sites = exon_site_inputs(variants, exon_sites_paths)
        embedding_columns = list(sites.columns)  # the head's raw input columns (bundle["features"])
        without_embeddings = int((~np.isfinite(sites.to_numpy()).all(axis=1)).sum())
        x = pd.concat([x, sites.set_index(x.index)], axis=1)
        input_sets = exon_site_input_sets(embedding_columns)
        features = embedding_columns
        # the additional base models it reads (the first file is the primary's): predict scores with each, and the
        # model folder's manifest lists their settings and weights (training.json extra_base_models)
        extra_base_models = [Path(p).stem for p in list(exon_sites_paths)[1:]]
    if reads_embeddings:
        from ..scoring.embeddings import embeddings_of
        from .offset_heads import fit_projection, project

        embeddings = embeddings_of(variants, pd.read_parquet(embeddings_path), embeddings_path)
        embedding_columns = list(embeddings.columns)
        without_embeddings = int((~np.isfinite(embeddings.to_numpy()).all(axis=1)).sum())
        x = pd.concat([x, embeddings.set_index(x.index)], axis=1)
        if not head:  # the trees read the projection (fitted on the training rows only), the head projects itself
            projection = fit_projection(embeddings.iloc[rows["train"]].to_numpy(), config["embedding_components"],
                                        embedding_columns)
            x = x.join(project(x, projection))
            features = features + projection["names"]
        else:
            features = embedding_columns
    log.info("%s: %d train rows (%d Splice-altering, %d Normal; all labelled, class weights %s), %d val rows",
             experiment, len(y_train), int(y_train.sum()), int((1 - y_train).sum()), config["class_weight"],
             len(y_val))
    calibrator = None
    # the position-only control never starts from the base model: it must not see any base-model score
    if head or (config["base_offset"] and reads_base_model_scores(features)):
        from .calibration import Calibrator

        if base_calibrator_path is None:
            raise UserError(f"experiment {experiment!r}: base_offset is true but no base-model calibrator was given "
                            "(results/models/spliceai_raw/calibrator.json); set base_offset: false to start from "
                            "the class prior.")
        calibrator = Calibrator.load(base_calibrator_path)
    with threadpool_limits(limits=int(threads) if threads else None):
        if head or calibrator is not None:
            # the training rows' genes: the groups of the inner cross-validation (selection_folds), a variant
            # without a gene its own group
            genes = tables["train"]["gene"].fillna("").astype(str)
            genes = genes.where(genes != "", tables["train"]["variant_id"].astype(str))
            if head:
                from .offset_heads import fit_offset_head

                estimator, history, fit_info = fit_offset_head(
                    x.iloc[rows["train"]], y_train, x.iloc[rows["val"]], y_val, config, calibrator,
                    input_sets or {"embeddings": embedding_columns}, groups=genes.to_numpy(), base_score=BASE_SCORE,
                    what="exon-site" if input_sets else "embedding")
            else:
                estimator, history, fit_info = fit_offset_gbm(x.iloc[rows["train"]][features + [BASE_SCORE]], y_train,
                                                              x.iloc[rows["val"]][features + [BASE_SCORE]], y_val,
                                                              config, calibrator, groups=genes.to_numpy())
        else:
            estimator, history, fit_info = fit_gbm(x.iloc[rows["train"]][features], y_train,
                                                   x.iloc[rows["val"]][features], y_val, config)
    log.info("%s: %d trees (best on validation; grown %d of max %d), val loss %.5f, val ROC-AUC %.4f, %.1f s",
             experiment, fit_info["best_iteration"], fit_info["stopped_iteration"], fit_info["max_iter"],
             fit_info["best_val_loss"], fit_info["best_val_roc_auc"], fit_info["seconds"])

    bundle = {"model": model_name, "experiment": experiment, "estimator": estimator, "features": features,
              "categories": {k: v for k, v in CATEGORIES.items() if k in features}, "settings": config,
              "score_scale": SCORE_SCALE, "base_offset": calibrator is not None}
    if projection is not None:
        bundle["embedding_projection"] = projection
    if head:
        bundle["features"] = embedding_columns + [BASE_SCORE]

    def scores_of(name):
        return predict_scores(bundle, x.iloc[rows[name]])  # NaN where a row lacks the base-model scores it reads

    prevalence = assumed_prevalence(read_target_summary(target_summary_path))
    threshold, selection = select_threshold(scores_of("val"), y_val, prevalence, config["threshold_rule"])
    weighting = {"how": ("class_weight balanced: sample weight n / (2 n_class) per class, on train and in the "
                         "validation loss" if config["class_weight"] == "balanced" else "none (every row weight 1)"),
                 "rows": "every labelled train-split row with a target (train_labelled.parquet), not the balanced "
                         "sample of train.parquet; validation: val_labelled.parquet",
                 "n_train": len(y_train), "n_train_splice_altering": int(y_train.sum()),
                 "n_train_normal": int((1 - y_train).sum()), "n_val": len(y_val)}
    version = library_versions()
    metrics = {"best_val_loss": fit_info["best_val_loss"], "best_val_roc_auc": fit_info["best_val_roc_auc"],
               "best_epoch": fit_info["best_iteration"], "stopped_epoch": fit_info["stopped_iteration"],
               "weights": fit_info["weights"], "threshold": threshold}
    offset = {k: fit_info[k] for k in ("offset_val_loss", "offset_val_roc_auc", "beats_offset", "offset_selection_loss")
              if k in fit_info}
    metrics.update(offset)
    save_model({**bundle, "threshold": threshold, "metrics": metrics, "versions": version}, model_path)

    test_scores, val_scores = scores_of("test"), scores_of("val_table")
    predictions = prediction_table(tables["test"], test_scores, scored=np.isfinite(test_scores))
    val_predictions = prediction_table(tables["val_table"], val_scores, scored=np.isfinite(val_scores))
    for path, table in ((predictions_path, predictions), (val_predictions_path, val_predictions)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path, index=False)
    write_history(history.to_dict("records"), history_path)
    reads_scores = reads_base_model_scores(features)
    no_score = int((~np.isfinite(test_scores)).sum())
    if model_name == EXON_SITE_HEAD:
        note = (f"L2 logistic correction of calibrated SpliceAI on the base models' exon-site scores (inputs chosen "
                f"among {', '.join(input_sets)}); {without_embeddings} variant(s) without them (no annotated exon "
                "site, ...) get calibrated SpliceAI's score unchanged")
    elif head:
        note = (f"L2 logistic correction of calibrated SpliceAI on its embeddings; {without_embeddings} variant(s) "
                "without embeddings (indels, ...) get calibrated SpliceAI's score unchanged")
    elif reads_scores:
        also = f" and {', '.join(extra_base_models)}'s" if extra_base_models else ""
        note = (f"trees on SpliceAI DS/DP{also} + position features; epochs are trees; {no_score} test row(s) without a "
                "base-model score get no score (left out of the metrics and counted, not sent down a branch the "
                "trees learned on scored rows)")
    else:
        note = "trees on position features only (no base-model score); epochs are trees"
    info = {
        "experiment": experiment, "model": model_name, "status": "trained",
        "stopped_epoch": fit_info["stopped_iteration"], "max_epochs": fit_info["max_iter"],
        "best_epoch": fit_info["best_iteration"], "training_seconds": round(fit_info["seconds"], 3),
        "device": "cpu", "n_parameters": None, "n_trainable_parameters": None,
        "n_trees": int(fit_info["best_iteration"]), "threshold": threshold, "threshold_selection": selection,
        "score_scale": SCORE_SCALE, "target_is_own_output": False, "reads_base_model_delta": reads_scores,
        "starts_from_base_model": calibrator is not None, "beats_offset": offset.get("beats_offset"),
        "offset_grid": fit_info.get("grid"), "offset_grid_chosen": fit_info.get("chosen"),
        "selection": fit_info.get("selection", "validation"),
        "class_weighting": weighting,
        # what the model reads (a head: its inputs and the base score of its offset; model.json copies it)
        "features": bundle["features"], "extra_base_models": extra_base_models, "validation_counts": validation_counts(tables["val"]),
        "test_rows_without_base_model_score": no_score,
        "reads_embeddings": reads_embeddings, "variants_without_embeddings": without_embeddings if reads_embeddings
        else None, "embedding_inputs": (projection or {}).get("names") if projection else None,
        "exon_site_inputs": input_sets, "variants_without_exon_sites": without_embeddings if input_sets else None,
        "inputs_chosen": (fit_info.get("chosen") or {}).get("inputs") if input_sets else None,
        "note": (f"starts from calibrated SpliceAI ({fit_info['weights']}); " if calibrator is not None else "") + note,
        "metrics": metrics, "config": config, "code_version": version["validsplice"], "versions": version,
    }
    Path(training_path).write_text(json.dumps(info, indent=2, default=str) + "\n")
    log.info("wrote %s (%d test predictions, %d val predictions)", predictions_path, len(predictions),
             len(val_predictions))
    return info
