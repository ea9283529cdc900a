"""``spliceai_features_gbm``: gradient-boosted trees on per-variant features, trained on the label.

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

Training choices (recorded in training.json):
- rows: **all** labelled (Splice-altering / Normal) train-split variants of variants.parquet,
  not the balanced sample of targets/train.parquet; the same label-independent exclusion as
  the targets (``targets.base_profile_usable``: the gene's score row must exist and be finite);
- class imbalance by weighting: ``compute_sample_weight("balanced")`` (each class weighs half
  of the total), no Normal is discarded;
- early stopping on the validation split only, passed explicitly (``X_val``; scikit-learn's
  internal ``validation_fraction`` would carve it out of train): the number of trees is the
  one with the lowest class-weighted validation log loss; the model is refitted with exactly
  that many trees (deterministic: no row or feature subsampling);
- score = P(Splice-altering) under balanced classes (``score_scale`` probability), called at a
  threshold chosen on validation like every classifier (``training.select_threshold``).

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

from ..rule_io import UserError

log = logging.getLogger("validsplice.models.spliceai_features_gbm")

MODEL_NAME = "spliceai_features_gbm"
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
VARIANT_COLUMNS = ["variant_id", "label", "split", "ref", "alt", "strand", "variant_type", "indel_length",
                   "exon_distance", "region", "nearest_site", "gene"]

DEFAULTS = {"max_iter": 500, "learning_rate": 0.05, "max_leaf_nodes": 15, "min_samples_leaf": 20,
            "l2_regularization": 1.0, "max_bins": 255, "class_weight": "balanced", "early_stopping": True,
            "patience": 20, "min_delta": 0.0, "max_train_samples": None, "seed": 0, "threshold_rule": "f1"}


def gbm_settings(settings: dict | None) -> dict:
    """This model's defaults overlaid with the experiment's settings (None keeps the default).

    Only this model's keys are kept: the network settings every experiment inherits from
    training.defaults (epochs, batch_size, hidden_dim, ...) mean nothing to trees.
    """
    out = dict(DEFAULTS)
    out.update({k: v for k, v in (settings or {}).items() if k in DEFAULTS and v is not None})
    if out["class_weight"] not in ("balanced", "none"):
        raise UserError(f"{MODEL_NAME}: class_weight {out['class_weight']!r} unknown; use 'balanced' or 'none'.")
    return out


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


def feature_matrix(frame: pd.DataFrame) -> pd.DataFrame:
    """Model input (float columns ``FEATURES``, categories as codes, NaN = missing) from a frame
    holding the variant-table columns (VARIANT_COLUMNS) and the score columns (SCORE_FEATURES).

    This is the one place features are made: training, prediction and ``validsplice predict``
    all call it, so a saved model always sees the columns it was trained on.
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
    return out[FEATURES]


def variant_features(variants: pd.DataFrame, scores: pd.DataFrame, delta_profiles: np.ndarray, *, distance: int,
                     paths: dict | None = None) -> pd.DataFrame:
    """Per row of the variant table: its features, plus ``base_model_usable`` (the targets' rule).

    The score columns are those of the variant's own ``gene`` row (``choose_score_rows``); NaN
    where that gene was not scored.
    """
    from ..targets import base_profile_usable, check_columns, choose_score_rows, crop_profiles

    paths = {"variants": "variants.parquet", "scores": "scores.parquet", "profiles": "delta_profiles.npy",
             **(paths or {})}
    check_columns(variants, VARIANT_COLUMNS, paths["variants"])
    check_score_columns(scores, paths["scores"])
    variants = variants.reset_index(drop=True)
    chosen = choose_score_rows(variants, scores, paths["scores"])
    row = chosen["score_row"].to_numpy()
    scored = (chosen["score_status"] == "scored").to_numpy() & (row >= 0)
    frame = variants.copy()
    for column in SCORE_FEATURES:
        values = np.full(len(variants), np.nan)
        values[scored] = pd.to_numeric(scores[column].iloc[row[scored]], errors="coerce").to_numpy(dtype=float)
        frame[column] = values
    out = feature_matrix(frame)
    base = crop_profiles(np.asarray(delta_profiles), int(distance), paths["profiles"])
    out["base_model_usable"] = base_profile_usable(chosen["profile_row"].to_numpy(), base)
    return out


# ------------------------------------------------------------------ model
def class_weights(labels: np.ndarray, how: str) -> np.ndarray:
    """Sample weights: "balanced" gives each class half the total weight; "none" weighs every row 1."""
    from sklearn.utils.class_weight import compute_sample_weight

    labels = np.asarray(labels).astype(int)
    return compute_sample_weight("balanced", labels) if how == "balanced" else np.ones(len(labels))


def make_estimator(settings: dict, max_iter: int, early_stopping: bool, patience: int):
    from sklearn.ensemble import HistGradientBoostingClassifier

    categorical = np.array([f in CATEGORIES for f in FEATURES])
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
    settings = gbm_settings(settings)
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
    grown = make_estimator(settings, max_iter, True, patience)
    grown.fit(x_train, y_train, sample_weight=w_train, X_val=x_val, y_val=y_val, sample_weight_val=w_val)
    val_losses = -np.asarray(grown.validation_score_)[1:]  # entry i: after i + 1 trees
    train_losses = -np.asarray(grown.train_score_)[1:]
    best = int(np.argmin(val_losses)) + 1 if stop else grown.n_iter_
    estimator = grown
    if best < grown.n_iter_:
        estimator = make_estimator(settings, best, False, patience).fit(x_train, y_train, sample_weight=w_train)
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
    from ..training import safe_roc_auc

    aucs = [safe_roc_auc(y_val, p[:, 1]) for p in estimator.staged_predict_proba(x_val)]
    n = len(val_losses)
    return pd.DataFrame({"epoch": np.arange(1, n + 1), "train_loss": train_losses, "val_loss": val_losses,
                         "val_metric": aucs[:n], "learning_rate": float(settings["learning_rate"]),
                         "seconds": seconds / max(n, 1)})


def predict_scores(bundle: dict, features: pd.DataFrame) -> np.ndarray:
    """P(Splice-altering) of each row from a ``model.joblib`` bundle and ``feature_matrix`` output."""
    missing = [c for c in bundle["features"] if c not in features.columns]
    if missing:
        raise UserError(f"{MODEL_NAME}: features {', '.join(missing)} missing; the model was saved with "
                        f"{bundle['features']}.")
    return bundle["estimator"].predict_proba(features[bundle["features"]])[:, 1]


def library_versions() -> dict:
    import sklearn

    from ..training import code_version

    return {"scikit-learn": sklearn.__version__, "numpy": np.__version__, "pandas": pd.__version__,
            "validsplice": code_version()}


def save_model(bundle: dict, path) -> None:
    """joblib dump to a temporary name, then rename (a crash never leaves a file that looks complete)."""
    import os

    import joblib

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        joblib.dump(bundle, tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def load_model(path) -> dict:
    """The bundle written by ``train_gbm_experiment``; warns when scikit-learn's version differs."""
    import joblib
    import sklearn

    bundle = joblib.load(path)
    if bundle.get("model") != MODEL_NAME:
        raise UserError(f"{path}: not a {MODEL_NAME} model file (model {bundle.get('model')!r}).")
    saved = bundle.get("versions", {}).get("scikit-learn")
    if saved != sklearn.__version__:
        log.warning("%s was saved with scikit-learn %s, this is %s; predictions may differ.", path, saved,
                    sklearn.__version__)
    return bundle


# ------------------------------------------------------------------ the rule
def labelled_rows(variants: pd.DataFrame, features: pd.DataFrame, split: str) -> np.ndarray:
    """Positions of the Splice-altering / Normal rows of ``split`` with a usable base-model score."""
    from ..targets import NORMAL, SA

    keep = (variants["split"].to_numpy() == split) & variants["label"].isin([SA, NORMAL]).to_numpy()
    return np.flatnonzero(keep & features["base_model_usable"].to_numpy())


def train_gbm_experiment(*, variants_path, scores_path, delta_profiles_path, val_path, test_path, model_path,
                         history_path, predictions_path, val_predictions_path, training_path, experiment: str,
                         settings: dict | None = None, distance: int = 50, threads: int | None = None) -> dict:
    """Train one spliceai_features_gbm experiment; write model.joblib, history.tsv, predictions.parquet,
    val_predictions.parquet (rows of targets/val.parquet, for calibration) and training.json."""
    from ..predict import prediction_table, write_history
    from ..targets import SA, cap_rows
    from ..training import select_threshold

    config = gbm_settings(settings)
    model_path = Path(model_path)
    if model_path.exists():
        model_path.unlink()  # a stale model must not survive a failed rerun
    variants = pd.read_parquet(variants_path).reset_index(drop=True)
    scores = pd.read_parquet(scores_path)
    delta_profiles = np.load(delta_profiles_path, mmap_mode="r")
    features = variant_features(variants, scores, delta_profiles, distance=int(distance),
                                paths={"variants": str(variants_path), "scores": str(scores_path),
                                       "profiles": str(delta_profiles_path)})
    train_rows = labelled_rows(variants, features, "train")
    if config["max_train_samples"] is not None:
        capped = cap_rows(variants.iloc[train_rows], int(config["max_train_samples"]),
                          np.random.default_rng(int(config["seed"])))
        train_rows = capped.index.to_numpy()
    val_rows = labelled_rows(variants, features, "val")
    y_train = (variants["label"].to_numpy()[train_rows] == SA).astype(int)
    y_val = (variants["label"].to_numpy()[val_rows] == SA).astype(int)
    x = features[FEATURES]
    log.info("%s: %d train rows (%d Splice-altering, %d Normal; all labelled, class weights %s), %d val rows",
             experiment, len(train_rows), int(y_train.sum()), int((1 - y_train).sum()), config["class_weight"],
             len(val_rows))
    from threadpoolctl import threadpool_limits  # scikit-learn's tree code runs on OpenMP threads

    with threadpool_limits(limits=int(threads) if threads else None):
        estimator, history, fit_info = fit_gbm(x.iloc[train_rows], y_train, x.iloc[val_rows], y_val, config)
    log.info("%s: %d trees (best on validation; grown %d of max %d), val loss %.5f, val ROC-AUC %.4f, %.1f s",
             experiment, fit_info["best_iteration"], fit_info["stopped_iteration"], fit_info["max_iter"],
             fit_info["best_val_loss"], fit_info["best_val_roc_auc"], fit_info["seconds"])

    test, val_table = pd.read_parquet(test_path), pd.read_parquet(val_path)
    for name, table in (("test", test), ("val", val_table)):
        rows = table["window_row"].to_numpy()
        if len(rows) and (rows.max() >= len(variants)
                          or (variants["variant_id"].to_numpy()[rows] != table["variant_id"].to_numpy()).any()):
            raise UserError(f"{test_path if name == 'test' else val_path}: window_row does not point at the same "
                            f"variants in {variants_path}; re-run build_targets.")
    val_scores = estimator.predict_proba(x.iloc[val_rows])[:, 1]
    threshold, selection = select_threshold(val_scores, y_val, test, config["threshold_rule"])
    n_sa, n_normal = int(y_train.sum()), int((1 - y_train).sum())
    weighting = {"how": ("class_weight balanced: sample weight n / (2 n_class) per class, on train and in the "
                         "validation loss" if config["class_weight"] == "balanced" else "none (every row weight 1)"),
                 "rows": "all labelled train-split rows (not the balanced sample of targets/train.parquet)",
                 "n_train": len(train_rows), "n_train_splice_altering": n_sa, "n_train_normal": n_normal,
                 "n_val": len(val_rows)}
    version = library_versions()
    metrics = {"best_val_loss": fit_info["best_val_loss"], "best_val_roc_auc": fit_info["best_val_roc_auc"],
               "best_epoch": fit_info["best_iteration"], "stopped_epoch": fit_info["stopped_iteration"],
               "weights": fit_info["weights"], "threshold": threshold}
    save_model({"model": MODEL_NAME, "experiment": experiment, "estimator": estimator, "features": FEATURES,
                "categories": CATEGORIES, "settings": config, "distance": int(distance), "threshold": threshold,
                "score_scale": SCORE_SCALE, "metrics": metrics, "versions": version}, model_path)

    predictions = prediction_table(test, estimator.predict_proba(x.iloc[test["window_row"].to_numpy()])[:, 1])
    val_predictions = prediction_table(val_table,
                                       estimator.predict_proba(x.iloc[val_table["window_row"].to_numpy()])[:, 1])
    for path, table in ((predictions_path, predictions), (val_predictions_path, val_predictions)):
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path, index=False)
    write_history(history.to_dict("records"), history_path)
    no_base = int((~features["base_model_usable"].to_numpy()[test["window_row"].to_numpy()]).sum())
    info = {
        "experiment": experiment, "model": MODEL_NAME, "status": "trained",
        "stopped_epoch": fit_info["stopped_iteration"], "max_epochs": fit_info["max_iter"],
        "best_epoch": fit_info["best_iteration"], "training_seconds": round(fit_info["seconds"], 3),
        "device": "cpu", "n_parameters": None, "n_trainable_parameters": None,
        "n_trees": int(estimator.n_iter_), "threshold": threshold, "threshold_selection": selection,
        "score_scale": SCORE_SCALE, "target_is_own_output": False, "reads_base_model_delta": True,
        "class_weighting": weighting, "features": FEATURES,
        "note": (f"trees on SpliceAI DS/DP + position features; epochs are trees; {no_base} test rows without "
                 "a base-model score (their DS/DP are missing values)"),
        "metrics": metrics, "config": {"distance": int(distance), **config}, "code_version": version["validsplice"],
        "versions": version,
    }
    Path(training_path).write_text(json.dumps(info, indent=2, default=str) + "\n")
    log.info("wrote %s (%d test predictions, %d val predictions)", predictions_path, len(predictions),
             len(val_predictions))
    return info
