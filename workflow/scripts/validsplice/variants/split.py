"""Train / validation / test assignment, grouped so that no gene lands in two splits.

Test: held-out chromosomes (``mode: chromosome``, ``chr`` prefixes harmonized) or held-out
genes (``mode: gene``). ``preset`` names a chromosome split: ``research_log`` (chr21, chr22) or
``spliceai_holdout`` (chr1, 3, 5, 7, 9: the chromosomes SpliceAI did not train on). ``mode: group_kfold``:
grouped K-fold cross-validation (``fold_of`` deals whole gene groups to k folds; ``fold_split`` gives one
fold's train/val/test, test = that fold). Validation: about ``validation_fraction`` of the remaining *variants*,
taken as whole gene groups in a seeded order, so a gene's variants never straddle train and
val (that would leak its splice sites). Genes that overlap each other (a variant lists both in
``genes``) form one group for the same reason. Variants without a gene are their own group.
"""
from __future__ import annotations

import logging

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..io.annotation import strip_chr

log = logging.getLogger(__name__)

SPLITS = ("train", "val", "test")
GROUP_KFOLD = "group_kfold"  # split.mode of grouped K-fold cross-validation (fold_of, fold_split)

# SpliceAI (Jaganathan et al. 2019) trained on these chromosomes and held out 1, 3, 5, 7, 9.
SPLICEAI_TRAINING_CHROMOSOMES = ("2", "4", "6", "8", *map(str, range(10, 23)), "X", "Y")
# config split.preset -> the split it stands for (it replaces split.mode and split.test_chromosomes)
SPLIT_PRESETS = {
    "research_log": {"mode": "chromosome", "test_chromosomes": ["chr21", "chr22"]},
    "spliceai_holdout": {"mode": "chromosome", "test_chromosomes": ["chr1", "chr3", "chr5", "chr7", "chr9"]},
}


def resolve_split(settings: dict | None) -> dict:
    """The split settings with ``preset`` applied (``preset`` "" or absent: mode/test_* as given).

    A preset fixes the test chromosomes, so it cannot be combined with ``mode: gene``.
    """
    settings = dict(settings or {})
    preset = settings.pop("preset", "") or ""
    if not preset:
        return settings
    if preset not in SPLIT_PRESETS:
        raise UserError(f"config split.preset is {preset!r}; use one of {', '.join(SPLIT_PRESETS)} or leave it empty.")
    if settings.get("mode") in ("gene", GROUP_KFOLD):
        raise UserError(f"config split.preset {preset!r} holds out chromosomes, but split.mode is "
                        f"{settings.get('mode')!r}; remove one of the two.")
    return {**settings, **SPLIT_PRESETS[preset], "preset": preset}


def _chromosome_list(names) -> str:
    return ", ".join(strip_chr(str(c)) for c in names)


def describe_split(settings: dict | None) -> str:
    """The split and what it means for SpliceAI-based rows, for the report header."""
    settings = resolve_split(settings)
    preset = settings.get("preset", "")
    trained = ", ".join(("2, 4, 6, 8", "10-22", "X, Y"))
    if settings.get("mode") == GROUP_KFOLD:
        return (f"Split: grouped {settings.get('k', 5)}-fold cross-validation (split.mode group_kfold): whole gene "
                "groups per fold; every variant is scored once, by the models trained without its fold, and the "
                "metrics pool these out-of-fold predictions. Early stopping, thresholds and calibration use a "
                "validation split taken (by gene group) from the training folds only.")
    if settings.get("mode", "chromosome") == "gene":
        genes = ", ".join(map(str, settings.get("test_genes") or []))
        return (f"Split: held-out genes {genes} (split.mode gene). Caveat: SpliceAI was trained on chromosomes "
                f"{trained}; test genes on those chromosomes had their splice sites seen by SpliceAI in training, "
                "which favours every row built on SpliceAI. split.preset spliceai_holdout avoids this.")
    test = [strip_chr(str(c)) for c in settings.get("test_chromosomes") or []]
    name = f"preset {preset}" if preset else "custom"
    seen = [c for c in test if c in SPLICEAI_TRAINING_CHROMOSOMES]
    text = f"Split: test chromosomes {_chromosome_list(test)} ({name})."
    if seen:
        return (text + f" Caveat: SpliceAI was trained on chromosomes {trained}, so test variants on "
                f"{', '.join(seen)} lie in genes whose splice sites SpliceAI saw in training, which favours every "
                "row built on SpliceAI. split.preset spliceai_holdout tests on SpliceAI's held-out chromosomes.")
    return text + " These are SpliceAI's held-out chromosomes: SpliceAI never saw their splice sites in training."


def describe_pooling(settings: dict | None) -> str:
    """The line under the results table that says the metrics are pooled out of fold ("" for one split)."""
    settings = resolve_split(settings)
    if settings.get("mode") != GROUP_KFOLD:
        return ""
    k = settings.get("k", 5)
    return (f"Out-of-fold metrics: every value pools the {k} folds' test predictions (group {k}-fold "
            "cross-validation): each variant is scored once, by the models trained and calibrated without its "
            "fold; intervals resample the pooled test gene groups (cluster bootstrap). Thresholds of probability scores: the median of the "
            f"{k} folds' validation-chosen thresholds.")


def gene_groups(table: pd.DataFrame) -> np.ndarray:
    """A group key per variant: connected components of genes sharing a variant.

    Uses ``genes`` (all overlapping genes, ``;``-joined) plus ``gene``; variants with neither
    get ``variant:<variant_id>``. The key of a component is its alphabetically first gene,
    so keys do not depend on row order.
    """
    parent: dict[str, str] = {}

    def find(x: str) -> str:
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    per_row: list[list[str]] = []
    genes_col = table["genes"] if "genes" in table else pd.Series([""] * len(table), index=table.index)
    for genes, gene in zip(genes_col.fillna(""), table["gene"].fillna("")):
        names = sorted({g for g in str(genes).split(";") if g} | ({gene} if gene else set()))
        per_row.append(names)
        for g in names:
            parent.setdefault(g, g)
        for g in names[1:]:
            a, b = find(names[0]), find(g)
            if a != b:
                parent[max(a, b)] = min(a, b)
    return np.array(
        [find(names[0]) if names else f"variant:{vid}" for names, vid in zip(per_row, table["variant_id"])],
        dtype=object,
    )


def assign_splits(table: pd.DataFrame, **settings) -> np.ndarray:
    """``train``/``val``/``test`` per row of ``table``; ``settings`` is config ``split`` (presets resolved)."""
    return _assign_splits(table, **resolve_split(settings))


def _assign_splits(
    table: pd.DataFrame,
    mode: str = "chromosome",
    test_chromosomes=("chr21", "chr22"),
    test_genes=(),
    validation_fraction: float = 0.15,
    seed: int = 42,
    preset: str = "",
    k: int = 5,
    **unused,
) -> np.ndarray:
    """``train``/``val``/``test`` per row of ``table`` (needs ``chrom``, ``gene``, ``genes``, ``variant_id``)."""
    if unused:
        log.warning("split: ignoring unknown setting(s) %s", sorted(unused))
    if not 0 <= float(validation_fraction) < 1:
        raise UserError(f"config split.validation_fraction is {validation_fraction}; set it in [0, 1).")
    groups = gene_groups(table)
    n = len(table)
    if mode == "chromosome":
        held = {strip_chr(str(c)) for c in (test_chromosomes or [])}
        is_test = np.array([strip_chr(str(c)) in held for c in table["chrom"]], dtype=bool)
        # a gene group is on one chromosome, but be safe: any test variant pulls its group to test
        test_groups = set(groups[is_test])
        is_test = np.array([g in test_groups for g in groups], dtype=bool)
    elif mode == "gene":
        held = set(map(str, test_genes or []))
        if not held:
            raise UserError("config split.mode is 'gene' but split.test_genes is empty: list the held-out genes.")
        genes_col = table["genes"].fillna("") if "genes" in table else table["gene"].fillna("")
        hit = np.array(
            [bool(held & ({g for g in str(gs).split(";") if g} | {str(g1)})) for gs, g1 in zip(genes_col, table["gene"].fillna(""))],
            dtype=bool,
        )
        test_groups = set(groups[hit])
        is_test = np.array([g in test_groups for g in groups], dtype=bool)
        found = held & set(g for gs in genes_col for g in str(gs).split(";"))
        if held - found:
            log.warning("split: test gene(s) %s have no variants", sorted(held - found))
    elif mode == GROUP_KFOLD:
        # every variant is a test variant of its fold (fold_of); the per-fold train/val/test comes from fold_split
        log.info("split (%s): every variant is tested once, out of fold", mode)
        return np.full(n, "test", dtype=object).astype(str)
    else:
        raise UserError(f"config split.mode is {mode!r}; set it to 'chromosome', 'gene' or '{GROUP_KFOLD}'.")

    split = np.where(is_test, "test", "train").astype(object)
    split[_validation_rows(groups, ~is_test, validation_fraction, seed)] = "val"
    log.info("split (%s): %s", mode, {s: int((split == s).sum()) for s in SPLITS})
    assert len(split) == n
    return split.astype(str)


def gene_group_of(table: pd.DataFrame) -> pd.Series:
    """``gene_groups`` as a Series indexed by ``variant_id``: the split's grouping, which is also the
    resampling unit of the evaluation's cluster bootstrap (``evaluation.cluster_bootstrap.ClusterResampler``).

    Computed on the variant table the split was made on (or on a test subset: a group never straddles
    splits, so its test members form the same components).
    """
    return pd.Series(gene_groups(table), index=table["variant_id"].astype(str).to_numpy(), name="gene_group")
def _validation_rows(groups: np.ndarray, rest: np.ndarray, validation_fraction: float, seed: int) -> np.ndarray:
    """Rows of ``rest`` taken for validation: whole groups in a seeded order until about
    ``validation_fraction`` of the ``rest`` rows are chosen."""
    chosen_rows = np.zeros(len(groups), dtype=bool)
    target = float(validation_fraction) * rest.sum()
    if target <= 0:
        return chosen_rows
    keys, sizes = np.unique(groups[rest].astype(str), return_counts=True)  # sorted keys
    order = np.random.default_rng(int(seed)).permutation(len(keys))
    chosen, total = [], 0
    for k in order:
        if total >= target:
            break
        if abs(total + sizes[k] - target) < abs(total - target):
            chosen.append(keys[k])
            total += sizes[k]
    chosen_rows[rest & np.isin(groups.astype(str), chosen)] = True
    if total == 0:
        log.warning("split: no validation variants (fraction %s of %d; groups too large)", validation_fraction, rest.sum())
    return chosen_rows


# ------------------------------------------------------------------ grouped K-fold cross-validation
def fold_of(table: pd.DataFrame, k: int, seed: int = 42) -> np.ndarray:
    """The test fold (0 .. k-1) of every row: whole gene groups (``gene_groups``) dealt to folds, stratified by
    label.

    Without a ``label`` column: groups are taken largest first (ties in a seeded random order) and each goes
    to the fold with the fewest variants so far, so folds are about equal in size and no group is split
    between folds. With one (as ``normalize_variants`` writes it), stratified like scikit-learn's
    StratifiedGroupKFold: groups taken in order of how unevenly their labels are spread (then size, then the
    seeded order), each to the fold that keeps every label's share across folds most even (ties: the fold
    with the fewest variants). Why: a fold's calibrators and offsets are fitted on the other folds, whose
    Splice-altering share is the complement of the test fold's; folds balanced only in size (Vex-seq: 15 to
    36 Splice-altering per fold) give the folds with the most Splice-altering the lowest fitted prior, and
    pooling the folds' calibrated probabilities then loses ranking (``spliceai_calibrated`` 0.04 ROC-AUC below
    ``spliceai_raw`` on Vex-seq, a monotone map of it).
    """
    k = int(k)
    groups = gene_groups(table).astype(str)
    keys, index, sizes = np.unique(groups, return_inverse=True, return_counts=True)
    if k < 2:
        raise UserError(f"config split.k is {k}; group K-fold needs k >= 2.")
    if len(keys) < k:
        raise UserError(
            f"config split.k is {k} but the variants form only {len(keys)} gene group(s); lower split.k "
            "or use split.mode chromosome/gene."
        )
    tie_break = np.random.default_rng(int(seed)).permutation(len(keys))
    load = np.zeros(k, dtype=np.int64)
    fold_of_group = np.zeros(len(keys), dtype=np.int64)
    if "label" not in table:
        for i in np.lexsort((tie_break, -sizes)):  # largest first, seeded among equal sizes
            f = int(np.argmin(load))  # the first of the least loaded folds
            fold_of_group[i] = f
            load[f] += sizes[i]
    else:
        labels, label_index = np.unique(table["label"].astype(str).to_numpy(), return_inverse=True)
        counts = np.zeros((len(keys), len(labels)), dtype=np.int64)  # group x label
        np.add.at(counts, (index, label_index), 1)
        per_fold = np.zeros((k, len(labels)), dtype=np.int64)
        totals = np.maximum(counts.sum(axis=0), 1)
        for i in np.lexsort((tie_break, -sizes, -counts.std(axis=1))):
            spread = []
            for f in range(k):
                trial = per_fold.copy()
                trial[f] += counts[i]
                spread.append(float(np.mean(np.std(trial / totals, axis=0))))
            spread = np.asarray(spread)
            best = np.flatnonzero(np.isclose(spread, spread.min()))
            f = int(best[np.argmin(load[best])])
            fold_of_group[i] = f
            per_fold[f] += counts[i]
            load[f] += sizes[i]
        log.info("group K-fold, stratified by label: per fold %s",
                 [dict(zip(labels.tolist(), row.tolist())) for row in per_fold])
    log.info("group K-fold: %d groups into %d folds of %s variants", len(keys), k, load.tolist())
    return fold_of_group[index]


def fold_split(table: pd.DataFrame, fold: int, validation_fraction: float = 0.15, seed: int = 42) -> np.ndarray:
    """``train``/``val``/``test`` of every row for one fold of group K-fold.

    Test: the rows whose ``fold`` column equals ``fold``. Validation: about ``validation_fraction`` of
    the other folds' rows, taken as whole gene groups (seeded, a different draw per fold), the rest train.
    So no gene group is in two of train, val and test, and test never informs training, early stopping,
    threshold choice or calibration of its own fold.
    """
    if "fold" not in table:
        raise UserError("variants.parquet has no 'fold' column: it was made without split.mode group_kfold. "
                        "Re-run normalize_variants.")
    folds = table["fold"].to_numpy()
    if not (folds == int(fold)).any():
        raise UserError(f"fold {fold} has no variants (folds present: {sorted(set(folds.tolist()))}).")
    is_test = folds == int(fold)
    split = np.where(is_test, "test", "train").astype(object)
    groups = gene_groups(table)
    split[_validation_rows(groups, ~is_test, validation_fraction, int(seed) + int(fold))] = "val"
    log.info("fold %s: %s", fold, {s: int((split == s).sum()) for s in SPLITS})
    return split.astype(str)
