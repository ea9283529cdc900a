"""Validated targets: what the models are trained to predict.

SpliceVarDB says *whether* a variant alters splicing; SpliceAI says *how* (which site, how
much). We combine them: a Splice-altering variant keeps the base model's delta (alt - ref
probability, softmax applied once inside the base model and never again here), a Normal
variant gets a zero delta, and Low-frequency / Conflicting variants have no trustworthy
target, so they are left out of training and validation but kept in the test table (the
evaluation reports them separately).

Two target forms are written:
- seed form: the signed 3-vector (neither, acceptor, donor) at the position of largest
  |delta| within +-D, neither = -(acceptor + donor) since the three probabilities sum to 1;
- profile form: the whole (2D+1, 2) [acceptor, donor] delta profile, in ``profiles.npy``,
  oriented like the model windows (the gene's strand: reversed for minus-strand variants,
  whereas the base model's profiles are in genomic + strand order), so position i of a
  profile target lines up with position i of the window band the models look at.

Test rows without a validated target (Low-frequency, Conflicting, and Splice-altering or
Normal variants whose gene the base model could not score) keep NaN targets and
``profile_row`` -1, so the test set stays complete for classification metrics.

Which score row: the one of the variant's own ``gene`` (chosen once at normalization), never
another overlapping gene's. Exclusions never depend on the label: a Splice-altering or
Normal variant without a usable base-model profile (``base_model_scored`` False) leaves
train/val and stays in test, flagged.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..variants.split import fold_split

log = logging.getLogger("validsplice.training.targets")

SA, NORMAL = "Splice-altering", "Normal"
CLASSES = (SA, NORMAL, "Low-frequency", "Conflicting")
TRAINING_SPLITS = ("train", "val")
SPLITS = ("train", "val", "test")
# Every Splice-altering / Normal row of train and val that has a target, before balancing and
# capping: for models that handle the class imbalance by weighting instead of discarding Normals.
LABELLED_TABLES = {"train_labelled": "train", "val_labelled": "val"}

VARIANT_COLUMNS = ["variant_id", "label", "gene", "split", "variant_type", "indel_length", "region", "nearest_site"]
SCORE_COLUMNS = ["variant_id", "gene", "max_ds", "status", "profile_row"]
TARGET_COLUMNS = [
    "variant_id", "label", "is_splice_altering", "split", "gene", "window_row", "profile_row",
    "variant_type", "indel_length", "region", "nearest_site",
    "delta_neither", "delta_acceptor", "delta_donor", "target_max_abs_delta", "spliceai_max_ds",
    "base_model_scored",
]


def _examples(values, n: int = 5) -> str:
    values = list(values)
    more = f" (and {len(values) - n} more)" if len(values) > n else ""
    return ", ".join(repr(v) for v in values[:n]) + more


def check_columns(df: pd.DataFrame, required: list[str], path) -> None:
    missing = [c for c in required if c not in df.columns]
    if missing:
        raise UserError(
            f"{path}: missing column(s) {', '.join(missing)}; this file must come from the workflow's "
            f"earlier stage (see docs/DESIGN.md). Re-run that stage."
        )


def check_alignment(variants: pd.DataFrame, window_ids: np.ndarray, windows_path="windows.npz") -> None:
    """Row i of windows.npz must be row i of the variant table."""
    ids = variants["variant_id"].astype(str).to_numpy()
    window_ids = np.asarray(window_ids).astype(str)
    if len(ids) != len(window_ids):
        raise UserError(
            f"{windows_path}: holds {len(window_ids)} windows but the variant table has {len(ids)} rows; "
            "the windows are stale. Re-run extract_windows."
        )
    bad = np.flatnonzero(ids != window_ids)
    if bad.size:
        pairs = [f"row {i}: variants {ids[i]!r} vs windows {window_ids[i]!r}" for i in bad[:5]]
        raise UserError(
            f"{windows_path}: window rows do not follow the variant table order ({bad.size} rows differ; "
            f"{'; '.join(pairs)}). Re-run extract_windows."
        )


def choose_score_rows(variants: pd.DataFrame, scores: pd.DataFrame, scores_path="scores.parquet") -> pd.DataFrame:
    """One score row per variant: the row of the variant's own ``gene`` (variants.parquet).

    The gene was chosen once, at normalization (docs/DESIGN.md "gene choice"), and windows are
    cut on its strand; taking the score row of any other overlapping gene (e.g. the one with
    the largest max_ds) would pair a target with a window of the other strand. When a score
    table holds two rows of the same gene name, the one on the variant's ``strand`` wins. A
    variant without a gene (``gene`` "") matches the extended mode's no-gene row (gene "").

    Returns a frame indexed like ``variants`` with columns profile_row (-1 if that gene's row
    is not scored), spliceai_max_ds (NaN then), score_status ("scored", the skip reason of
    the gene's row or of the variant, or "no score row for gene <gene>") and score_row (the
    chosen row's position in ``scores``, -1 when the gene has none).
    """
    unknown = sorted(set(scores["variant_id"].astype(str)) - set(variants["variant_id"].astype(str)))
    if unknown:
        raise UserError(
            f"{scores_path}: {len(unknown)} score row(s) name variants absent from the variant table, "
            f"e.g. {_examples(unknown)}. The scores are stale; re-run the base-model scoring."
        )
    dup = variants["variant_id"].astype(str).duplicated()
    if dup.any():
        raise UserError(
            f"variants.parquet: variant_id {variants['variant_id'].astype(str)[dup].iloc[0]!r} names more than one "
            "row; ids must be unique (normalize_variants makes them so). Re-run normalize_variants."
        )
    ids = variants["variant_id"].astype(str).to_numpy()
    gene = variants["gene"].fillna("").astype(str).to_numpy()
    strand = (variants["strand"].fillna(".").astype(str).to_numpy() if "strand" in variants
              else np.full(len(variants), "."))
    s = pd.DataFrame({
        "variant_id": scores["variant_id"].astype(str).to_numpy(),
        "gene": scores["gene"].fillna("").astype(str).to_numpy(),
        "score_strand": (scores["strand"].fillna(".").astype(str).to_numpy() if "strand" in scores
                         else np.full(len(scores), ".")),
        "status": scores["status"].astype(str).to_numpy(),
        "max_ds": scores["max_ds"].astype(float).to_numpy(),
        "profile_row": scores["profile_row"].to_numpy(),
        "_order": np.arange(len(scores)),
    })
    key = pd.DataFrame({"variant_id": ids, "gene": gene, "strand": strand, "_row": np.arange(len(variants))})
    m = key.merge(s, on=["variant_id", "gene"], how="inner")
    # preference among rows of the variant's gene: scored, then on the variant's strand, then file order
    m["_rank"] = (m["status"] != "scored").astype(int) * 2 + (m["score_strand"] != m["strand"]).astype(int)
    best = m.sort_values(["_row", "_rank", "_order"], kind="stable").drop_duplicates("_row").set_index("_row")
    best = best.reindex(np.arange(len(variants)))
    is_scored = (best["status"] == "scored").to_numpy()
    out = pd.DataFrame(index=variants.index)
    out["profile_row"] = np.where(is_scored, best["profile_row"].fillna(-1), -1).astype(np.int64)
    out["spliceai_max_ds"] = np.where(is_scored, best["max_ds"].astype(float), np.nan)
    out["score_row"] = best["_order"].fillna(-1).to_numpy().astype(np.int64)
    # why a variant has no score: its gene's skip reason; else a whole-variant skip (one row, gene "",
    # e.g. "skipped: no gene"); else no row for its gene at all (scores from another annotation)
    whole = s[s["gene"] == ""].drop_duplicates("variant_id").set_index("variant_id")["status"]
    has_rows = set(s["variant_id"])
    status = []
    for vid, g, st in zip(ids, gene, best["status"].to_numpy()):
        if isinstance(st, str):
            status.append(st)
        elif vid in whole.index:
            status.append(str(whole[vid]))
        elif vid in has_rows:
            status.append(f"no score row for gene {g or '(none)'}")
        else:
            status.append("no score row")
    out["score_status"] = status
    return out


def seed_from_profiles(profiles: np.ndarray) -> np.ndarray:
    """(n, P, 2) [acceptor, donor] -> (n, 3) (neither, acceptor, donor) at the position of
    largest |delta| (ties: first position). Values are copied, never re-normalised."""
    if len(profiles) == 0:
        return np.zeros((0, 3), dtype=np.float32)
    pos = np.abs(profiles).max(axis=2).argmax(axis=1)
    at = profiles[np.arange(len(profiles)), pos]
    return np.column_stack([-(at[:, 0] + at[:, 1]), at[:, 0], at[:, 1]]).astype(np.float32)


def crop_profiles(profiles: np.ndarray, distance: int, path="delta_profiles.npy") -> np.ndarray:
    """Central 2D+1 positions of the base-model profiles (error if they are narrower)."""
    if profiles.ndim != 3 or profiles.shape[2] != 2:
        raise UserError(f"{path}: expected shape (n, 2D+1, 2), found {profiles.shape}. Re-run gather_scores.")
    stored = profiles.shape[1] // 2
    if distance > stored:
        raise UserError(
            f"{path}: profiles cover +-{stored} positions but targets need +-{distance} (base_model.distance). "
            "Re-run the base-model scoring with the current distance."
        )
    return profiles[:, stored - distance: stored + distance + 1]


def balance_classes(table: pd.DataFrame, rng: np.random.Generator) -> pd.DataFrame:
    """Downsample the larger of Splice-altering / Normal to the smaller (seeded); keep row order."""
    sa = np.flatnonzero(table["label"].to_numpy() == SA)
    normal = np.flatnonzero(table["label"].to_numpy() == NORMAL)
    n = min(len(sa), len(normal))
    keep = np.concatenate([rng.choice(sa, n, replace=False), rng.choice(normal, n, replace=False)])
    return table.iloc[np.sort(keep)]


def cap_rows(table: pd.DataFrame, max_rows: int, rng: np.random.Generator) -> pd.DataFrame:
    """Keep at most max_rows rows, sampled per class in proportion (so balance survives)."""
    if max_rows is None or len(table) <= max_rows:
        return table
    labels = table["label"].to_numpy()
    keep = []
    for cls in (SA, NORMAL):
        idx = np.flatnonzero(labels == cls)
        n = int(round(max_rows * len(idx) / len(table)))
        keep.append(rng.choice(idx, min(n, len(idx)), replace=False))
    return table.iloc[np.sort(np.concatenate(keep))]


def _counts(table: pd.DataFrame) -> dict:
    counts = table["label"].value_counts()
    return {cls: int(counts.get(cls, 0)) for cls in CLASSES if cls in counts or cls in (SA, NORMAL)}


def make_targets(
    variants: pd.DataFrame,
    scores: pd.DataFrame,
    delta_profiles: np.ndarray,
    *,
    distance: int,
    seed: int = 0,
    balance: bool = True,
    max_train_samples: int | None = None,
    window_ids: np.ndarray | None = None,
    paths: dict | None = None,
):
    """Build the three target tables, the profile array and the summary (no file I/O).

    Returns ``(tables: {name: DataFrame}, profiles: float32 (n, 2D+1, 2), summary: dict)``; names
    are the splits (train and val balanced / capped as asked) and ``LABELLED_TABLES``.
    """
    paths = {"variants": "variants.parquet", "windows": "windows.npz", "scores": "scores.parquet",
             "profiles": "delta_profiles.npy", **(paths or {})}
    variants = _checked_variants(variants, scores, window_ids, paths)
    base, chosen = _base_profiles(variants, scores, delta_profiles, distance, paths)
    table, profiles, has_target, base_ok = _target_table(variants, chosen, base, distance)
    split = variants["split"].to_numpy()

    summary: dict = {"distance": int(distance), "seed": int(seed), "balance": bool(balance),
                     "max_train_samples": max_train_samples, "input_variants": int(len(variants))}
    summary.update(_exclusions(table, split, has_target, base_ok))
    tables, before, after = _sampled_tables(table, split, has_target, summary["excluded"], balance=balance,
                                            max_train_samples=max_train_samples, seed=seed, paths=paths)
    summary["genes_in_train_and_val"] = _genes_in_train_and_val(tables)
    summary["per_split_before_balancing"] = before
    summary["per_split"] = after
    all_profiles = _number_profile_rows(tables, profiles, has_target)
    summary["target_ranges"] = _target_ranges(tables)
    summary["n_profiles"] = int(len(all_profiles))
    return tables, all_profiles.astype(np.float32), summary


def _checked_variants(variants: pd.DataFrame, scores: pd.DataFrame, window_ids: np.ndarray | None,
                      paths: dict) -> pd.DataFrame:
    """The input checks: the columns of both tables, the windows' row order, known labels and splits."""
    check_columns(variants, VARIANT_COLUMNS, paths["variants"])
    check_columns(scores, SCORE_COLUMNS, paths["scores"])
    variants = variants.reset_index(drop=True)
    if window_ids is not None:
        check_alignment(variants, window_ids, paths["windows"])
    bad_labels = sorted(set(variants["label"]) - set(CLASSES))
    if bad_labels:
        raise UserError(f"{paths['variants']}: unknown label(s) {_examples(bad_labels)}; expected {', '.join(CLASSES)}.")
    bad_splits = sorted(set(variants["split"]) - set(SPLITS))
    if bad_splits:
        raise UserError(f"{paths['variants']}: unknown split(s) {_examples(bad_splits)}; expected train, val, test.")
    return variants


def _base_profiles(variants: pd.DataFrame, scores: pd.DataFrame, delta_profiles: np.ndarray, distance: int,
                   paths: dict) -> tuple[np.ndarray, pd.DataFrame]:
    """The base model's profiles cropped to ±distance and each variant's score row (its own gene's),
    checked to point inside the profile array."""
    base = crop_profiles(np.asarray(delta_profiles), distance, paths["profiles"])
    chosen = choose_score_rows(variants, scores, paths["scores"])
    row_max = int(chosen["profile_row"].to_numpy().max(initial=-1))
    if row_max >= len(base):
        raise UserError(
            f"{paths['scores']}: profile_row {row_max} is beyond the {len(base)} rows of {paths['profiles']}; "
            "the two files come from different runs. Re-run gather_scores."
        )
    return base, chosen


def _target_table(variants: pd.DataFrame, chosen: pd.DataFrame, base: np.ndarray,
                  distance: int) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """Every variant's target row (seed form, max |Δ|, the reason it has no target in ``_reason``) and profile
    (window orientation). Returns (table, profiles, has_target, base_ok), the arrays in variant order."""
    n = len(variants)
    length = 2 * distance + 1
    profiles = np.zeros((n, length, 2), dtype=np.float32)
    has_target = np.zeros(n, dtype=bool)
    reason = np.full(n, "", dtype=object)
    labels = variants["label"].to_numpy()
    row = chosen["profile_row"].to_numpy()

    # Label-independent exclusion: a variant whose gene the base model did not score (MNV, no
    # gene, near a contig end, ...) or scored with NaN has no base-model profile, whatever its
    # class. Both classes then leave train/val and stay in test with base_model_scored False and
    # no target; otherwise "no base score" would itself mean Normal to any model that reads the
    # base profile (Normal used to be kept with target 0 while Splice-altering was dropped).
    scored = row >= 0
    base_nan = np.zeros(n, dtype=bool)
    base_nan[scored] = np.isnan(np.asarray(base[row[scored]], dtype=np.float32)).any(axis=(1, 2))
    base_ok = scored & ~base_nan
    is_sa = labels == SA
    validated = np.isin(labels, (SA, NORMAL))
    profiles[is_sa & base_ok] = base[row[is_sa & base_ok]].astype(np.float32)
    has_target[validated & base_ok] = True
    for i in np.flatnonzero(validated & ~scored):
        reason[i] = f"not scored by the base model ({chosen['score_status'].iat[i]})"
    reason[validated & base_nan] = "NaN in the base-model delta profile"
    minus = variants["strand"].to_numpy() == "-" if "strand" in variants else np.zeros(n, bool)
    profiles[minus] = profiles[minus, ::-1]  # genomic order -> window (gene-strand) order
    no_validated = ~validated
    reason[no_validated] = [f"{lab} variant has no validated target (kept in test only)" for lab in labels[no_validated]]

    seeds = seed_from_profiles(profiles)
    table = variants[VARIANT_COLUMNS].copy()
    table["is_splice_altering"] = is_sa
    table["window_row"] = np.arange(n, dtype=np.int64)
    table["delta_neither"], table["delta_acceptor"], table["delta_donor"] = seeds.T
    table["target_max_abs_delta"] = np.abs(profiles).max(axis=(1, 2)) if n else np.zeros(0, np.float32)
    table.loc[~has_target, ["delta_neither", "delta_acceptor", "delta_donor", "target_max_abs_delta"]] = np.nan
    table["spliceai_max_ds"] = chosen["spliceai_max_ds"].to_numpy()
    table["base_model_scored"] = base_ok
    table["_reason"] = reason
    return table, profiles, has_target, base_ok


def _exclusions(table: pd.DataFrame, split: np.ndarray, has_target: np.ndarray, base_ok: np.ndarray) -> dict:
    """The summary's ``excluded`` (train/val rows without a target, by reason), ``base_model_unscored`` and
    ``test_rows_without_target``."""
    excluded = table[np.isin(split, TRAINING_SPLITS) & ~has_target]
    summary = {"excluded": {
        r: {"n": int(len(g)), "per_class": _counts(g), "examples": g["variant_id"].head(5).tolist()}
        for r, g in excluded.groupby("_reason", sort=True)
    }}
    # Variants without a usable base-model profile for their gene, per split and class: in
    # train/val they are excluded whatever the class; in test they stay, flagged.
    summary["base_model_unscored"] = {
        name: _counts(table[(split == name) & ~base_ok]) for name in SPLITS
    }
    test_untargeted = table[(split == "test") & ~has_target]
    summary["test_rows_without_target"] = {r: int(len(g)) for r, g in test_untargeted.groupby("_reason", sort=True)}
    return summary


def _sampled_tables(table: pd.DataFrame, split: np.ndarray, has_target: np.ndarray, excluded: dict, *,
                    balance: bool, max_train_samples: int | None, seed: int,
                    paths: dict) -> tuple[dict, dict, dict]:
    """The rows of each table: train and val only with a target (both classes required), balanced and
    capped as asked (one seeded generator, train before val); test whole. Returns (tables, class counts
    before sampling, after)."""
    rng = np.random.default_rng(seed)
    tables, before, after = {}, {}, {}
    for name in SPLITS:
        part = table[split == name]
        if name in TRAINING_SPLITS:
            part = part[has_target[split == name]]
            tables[f"{name}_labelled"] = part
        before[name] = _counts(part)
        if name in TRAINING_SPLITS:
            for cls in (SA, NORMAL):
                if before[name].get(cls, 0) == 0:
                    raise UserError(
                        f"{paths['variants']}: no usable {cls} variants in the {name} split after filtering "
                        f"(exclusions: {json.dumps({r: v['n'] for r, v in excluded.items()})}). "
                        "Add variants of that class, or check the split settings and base-model scoring."
                    )
            if balance:
                part = balance_classes(part, rng)
            if name == "train":
                part = cap_rows(part, max_train_samples, rng)
        after[name] = _counts(part)
        tables[name] = part
    return tables, before, after


def _genes_in_train_and_val(tables: dict) -> int:
    """How many genes both train and val hold (0 for a gene-grouped split), with a warning otherwise."""
    train_genes = set(tables["train"]["gene"]) - {""}
    shared = sorted(train_genes & (set(tables["val"]["gene"]) - {""}))
    if shared:
        log.warning("%d gene(s) appear in both train and val, e.g. %s; the split is not grouped by gene.",
                    len(shared), _examples(shared))
    return len(shared)


def _number_profile_rows(tables: dict, profiles: np.ndarray, has_target: np.ndarray) -> np.ndarray:
    """Give each table's targeted rows their ``profile_row`` in the output array (-1: no target), reduce
    the tables to TARGET_COLUMNS (in place in ``tables``), and return that array."""
    # profiles.npy holds the rows of train, val, test, train_labelled, val_labelled in that order
    # (a labelled table repeats the profiles of its rows that the balanced table also holds).
    out_profiles, offset = [], 0
    for name in (*SPLITS, *LABELLED_TABLES):
        part = tables[name].drop(columns="_reason").copy()
        targeted = has_target[part["window_row"].to_numpy()]
        rows = np.full(len(part), -1, dtype=np.int64)
        rows[targeted] = offset + np.arange(int(targeted.sum()))
        offset += int(targeted.sum())
        out_profiles.append(profiles[part["window_row"].to_numpy()[targeted]])
        part["profile_row"] = rows
        tables[name] = part[TARGET_COLUMNS].reset_index(drop=True)
    return np.concatenate(out_profiles) if out_profiles else np.zeros((0, *profiles.shape[1:]), np.float32)


def _target_ranges(tables: dict) -> dict:
    """[min, max] of each target column per table (None for a column without values)."""
    ranges_per_table = {}
    for name, part in tables.items():
        ranges = {}
        for col in ("delta_neither", "delta_acceptor", "delta_donor", "target_max_abs_delta"):
            values = part[col].dropna()
            ranges[col] = [float(values.min()), float(values.max())] if len(values) else None
        ranges_per_table[name] = ranges
    return ranges_per_table


def base_model_inputs(variants: pd.DataFrame, scores: pd.DataFrame, delta_profiles: np.ndarray,
                      *, distance: int) -> np.ndarray:
    """The base model's own delta profile for every variant row (model *input*, not target).

    float32 (n_variants, 2D+1, 2) indexed by ``window_row``, oriented like the windows
    (reversed for minus-strand variants), zeros where the base model did not score the
    variant or produced NaN. Unlike the targets, Normal variants keep their base-model delta
    here: a model that reads it learns when to trust the base model, which is how it can beat
    the raw scores (fewer confident false positives).
    """
    variants = variants.reset_index(drop=True)
    base = crop_profiles(np.asarray(delta_profiles), distance)
    row = choose_score_rows(variants, scores)["profile_row"].to_numpy()
    out = np.zeros((len(variants), 2 * distance + 1, 2), dtype=np.float32)
    scored = row >= 0
    out[scored] = base[row[scored]]
    minus = variants["strand"].to_numpy() == "-" if "strand" in variants else np.zeros(len(out), bool)
    out[minus] = out[minus, ::-1]
    return np.nan_to_num(out, nan=0.0)


def align_base_model_profiles(*, variants_path, scores_path, profiles_path, out_path, name: str,
                              distance: int, extra_distance: int) -> np.ndarray:
    """Rule align_base_model_profiles: an additional base model's delta profiles (config ``base_models.<name>``)
    as model input, like ``base_profiles.npy`` (``base_model_inputs``): float32 (n_variants, 2D+1, 2) in
    ``window_row`` order (the variant table's, every fold's), the variant's own gene's row, window orientation,
    cropped to the primary's ±D (``base_model.distance``), zeros where the model did not score the gene.

    A paired classifier concatenates these after the primary's channels (OpenSpliceAI: acceptor, donor;
    Pangolin: gain, loss; ``scoring.pangolin.shards``).
    """
    if int(extra_distance) < int(distance):
        raise UserError(f"config base_models.{name}.distance {extra_distance} is below base_model.distance {distance}: "
                        f"{name}'s profiles cover ±{extra_distance} positions but the paired classifier reads every "
                        f"base model's profile at the primary's ±{distance}. Set base_models.{name}.distance to at "
                        f"least {distance}.")
    variants = pd.read_parquet(variants_path)
    scores = pd.read_parquet(scores_path)
    check_columns(variants, ["variant_id", "gene"], variants_path)
    check_columns(scores, SCORE_COLUMNS, scores_path)
    profiles = np.load(profiles_path, mmap_mode="r")
    scored = scores["profile_row"] >= 0
    if int(scored.sum()) != len(profiles) or (len(profiles) and int(scores["profile_row"].max()) >= len(profiles)):
        raise UserError(f"{scores_path}: {int(scored.sum())} scored rows but {profiles_path} holds {len(profiles)} "
                        f"profiles; the two files come from different runs. Re-run {name}'s scoring "
                        "(gather_base_model_scores).")
    if profiles.ndim != 3 or profiles.shape[2] != 2 or profiles.shape[1] < 2 * int(distance) + 1:
        raise UserError(f"{profiles_path}: shape {profiles.shape}, expected (n, 2D+1, 2) with D >= {distance} "
                        f"(base_model.distance); re-run {name}'s scoring with base_models.{name}.distance >= "
                        f"{distance}.")
    out = base_model_inputs(variants, scores, profiles, distance=int(distance))
    Path(out_path).parent.mkdir(parents=True, exist_ok=True)
    np.save(out_path, out)
    log.info("%s: %d variant profiles (%d non-zero), ±%d, from %s", name, len(out),
             int(np.abs(out).max(axis=(1, 2)).astype(bool).sum()) if len(out) else 0, int(distance), profiles_path)
    return out


def build_targets(
    *, variants_path, windows_path, scores_path, profiles_path,
    train_path, val_path, test_path, out_profiles_path, summary_path, base_profiles_path=None,
    train_labelled_path=None, val_labelled_path=None,
    seed: int = 0, balance: bool = True, max_train_samples: int | None = None, distance: int = 50,
    fold: int | None = None, validation_fraction: float = 0.15, split_seed: int = 42,
) -> dict:
    """File-level wrapper of ``make_targets`` for the build_targets rule.

    ``fold`` (group K-fold): the tables of that fold; the variant table's ``split`` is replaced by
    ``split.fold_split`` (test = the fold, validation = gene groups of the other folds).
    """
    variants = pd.read_parquet(variants_path)
    if fold is not None:
        variants = variants.assign(split=fold_split(variants, int(fold), validation_fraction, split_seed))
    scores = pd.read_parquet(scores_path)
    with np.load(windows_path, allow_pickle=False) as npz:
        if "variant_id" not in npz.files:
            raise UserError(f"{windows_path}: no 'variant_id' array; re-run extract_windows.")
        window_ids = npz["variant_id"]
    delta_profiles = np.load(profiles_path, mmap_mode="r")
    log.info("Building targets from %d variants, %d score rows, %d base-model profiles (D=%d)",
             len(variants), len(scores), len(delta_profiles), distance)
    tables, profiles, summary = make_targets(
        variants, scores, delta_profiles, distance=int(distance), seed=int(seed), balance=bool(balance),
        max_train_samples=None if max_train_samples is None else int(max_train_samples), window_ids=window_ids,
        paths={"variants": str(variants_path), "windows": str(windows_path), "scores": str(scores_path),
               "profiles": str(profiles_path)},
    )
    for name, path in (("train", train_path), ("val", val_path), ("test", test_path),
                       ("train_labelled", train_labelled_path), ("val_labelled", val_labelled_path)):
        if path is None:
            continue
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        tables[name].to_parquet(path, index=False)
        log.info("%s: %d rows %s", name, len(tables[name]), _counts(tables[name]))
    np.save(out_profiles_path, profiles)
    if base_profiles_path is not None:
        np.save(base_profiles_path, base_model_inputs(variants, scores, delta_profiles, distance=int(distance)))
    if fold is not None:
        summary["fold"] = int(fold)
    Path(summary_path).write_text(json.dumps(summary, indent=2, default=str) + "\n")
    for reason, info in summary["excluded"].items():
        log.info("excluded from train/val: %d x %s", info["n"], reason)
    return summary
