"""Group K-fold cross-validation (issue 19): folds of whole gene groups, per-fold splits, pooling, the DAG."""
from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import yaml
from helpers import gene_variants, honest_table

from validsplice.common.rule_io import UserError
from validsplice.training.folds import pool_folds, pool_targets
from validsplice.variants.split import assign_splits, describe_pooling, fold_of, fold_split, gene_groups


def with_overlaps(table: pd.DataFrame) -> pd.DataFrame:
    """Some variants list two genes, which joins those genes into one group."""
    table = table.copy()
    for i, other in ((3, "G70"), (10, "G71"), (20, "G5")):
        if table.at[i, "gene"]:
            table.at[i, "genes"] = f"{table.at[i, 'gene']};{other}"
    return table


@pytest.mark.parametrize("k", [2, 3, 5])
def test_every_variant_in_exactly_one_test_fold_and_no_group_crosses_folds(k):
    table = with_overlaps(gene_variants(n=1500, n_genes=60, seed=3))
    table["fold"] = fold_of(table, k, seed=42)
    assert set(table["fold"]) == set(range(k))
    groups = gene_groups(table)
    assert pd.Series(table["fold"].to_numpy()).groupby(groups).nunique().max() == 1  # no group in two folds
    sizes = np.bincount(table["fold"], minlength=k)
    assert sizes.max() - sizes.min() <= pd.Series(groups).value_counts().max()  # balanced up to one group

    tested = np.zeros(len(table), dtype=int)
    for fold in range(k):
        split = fold_split(table, fold, validation_fraction=0.15, seed=42)
        tested += split == "test"
        assert ((split == "test") == (table["fold"] == fold)).all()
        # within a fold, no gene group is in two of train / val / test
        assert pd.Series(split).groupby(groups).nunique().max() == 1
        assert 0.08 < (split == "val").sum() / (split != "test").sum() < 0.25
    assert (tested == 1).all()  # every variant scored exactly once, out of fold
    assert (fold_of(table, k, seed=42) == table["fold"]).all()  # deterministic


def test_folds_are_stratified_by_label_so_no_fold_holds_most_splice_altering_variants():
    """The Splice-altering share of a fold's training folds is what its calibrators and offsets assume; folds
    balanced in size only (main: Vex-seq 15 to 36 Splice-altering per fold) make it anti-correlated with the
    test fold's and cost pooled calibrated rows ranking. Here the Splice-altering variants sit in a few genes."""
    rng = np.random.default_rng(5)
    table = gene_variants(n=1500, n_genes=60, seed=3)
    sa_genes = {f"G{g}" for g in rng.choice(60, 12, replace=False)}
    in_sa_gene = table["gene"].isin(sa_genes).to_numpy()
    table["label"] = np.where(in_sa_gene & (rng.random(len(table)) < 0.6), "Splice-altering", "Normal")
    groups = gene_groups(table)
    for k in (3, 5):
        folds = fold_of(table, k, seed=42)
        assert pd.Series(folds).groupby(groups).nunique().max() == 1  # still whole groups
        per_fold = pd.crosstab(folds, table["label"])
        largest_sa_group = pd.Series(table["label"] == "Splice-altering").groupby(groups).sum().max()
        assert per_fold["Splice-altering"].max() - per_fold["Splice-altering"].min() <= largest_sa_group, per_fold
        sizes = per_fold.sum(axis=1)
        assert sizes.max() - sizes.min() <= 2 * pd.Series(groups).value_counts().max(), per_fold
        assert (fold_of(table, k, seed=42) == folds).all()  # deterministic
    # without labels: balanced in size as before
    unlabelled = fold_of(table.drop(columns="label"), 3, seed=42)
    sizes = np.bincount(unlabelled, minlength=3)
    assert sizes.max() - sizes.min() <= pd.Series(groups).value_counts().max()


def test_group_kfold_settings_and_errors():
    table = gene_variants(n=200, n_genes=4, seed=1)
    assert set(assign_splits(table, mode="group_kfold", k=3)) == {"test"}
    four_genes = pd.DataFrame({"variant_id": [f"v{i}" for i in range(8)], "gene": ["A", "B", "C", "D"] * 2,
                               "genes": ["A", "B", "C", "D"] * 2})
    with pytest.raises(UserError, match="split.k is 6 but the variants form only 4 gene group"):
        fold_of(four_genes, 6)
    assert sorted(np.bincount(fold_of(four_genes, 4))) == [2, 2, 2, 2]
    with pytest.raises(UserError, match="preset 'research_log' holds out chromosomes"):
        assign_splits(table, mode="group_kfold", preset="research_log")
    with pytest.raises(UserError, match="no 'fold' column"):
        fold_split(table, 0)
    assert describe_pooling({"mode": "gene"}) == ""
    assert "Out-of-fold metrics" in describe_pooling({"mode": "group_kfold", "k": 4})


def write_fold(tmp_path, fold: int, ids: list[str], threshold: float | None, val_ids: list[str]):
    folder = tmp_path / f"fold{fold}"
    folder.mkdir()
    preds = pd.DataFrame({"variant_id": ids, "label": "Normal", "split": "test", "score": np.linspace(0, 1, len(ids))})
    preds.to_parquet(folder / "predictions.parquet")
    pd.DataFrame({"variant_id": val_ids, "label": "Normal", "split": "val", "score": 0.5}).to_parquet(
        folder / "val_predictions.parquet")
    preds.assign(p_sa=0.5).to_parquet(folder / "calibrated.parquet")
    (folder / "training.json").write_text(json.dumps({
        "experiment": "x", "model": "binary_cnn", "threshold": threshold, "training_seconds": 2.0 + fold,
        "stopped_epoch": 3 + fold, "max_epochs": 10, "validation_counts": {"Normal": 2, "Splice-altering": 1},
        "threshold_selection": {"rule": "max F1"}, "metrics": {"weights": "best epoch", "best_epoch": 2}}))
    (folder / "history.tsv").write_text("epoch\ttrain_loss\tval_loss\n1\t0.7\t0.6\n2\t0.5\t0.55\n")
    return folder


def test_pool_folds_keeps_each_variant_once_and_says_what_it_pooled(tmp_path):
    folders = [write_fold(tmp_path, 0, ["a", "b"], 0.2, ["c"]), write_fold(tmp_path, 1, ["c"], 0.4, ["a"]),
               write_fold(tmp_path, 2, ["d", "e"], 0.9, ["a", "b"])]
    out = tmp_path / "pooled"
    files = {k: [str(f / f"{k}.{ext}") for f in folders] for k, ext in
             (("predictions", "parquet"), ("val_predictions", "parquet"), ("calibrated", "parquet"),
              ("training", "json"), ("history", "tsv"))}
    training = pool_folds(predictions=files["predictions"], val_predictions=files["val_predictions"],
                          calibrated=files["calibrated"], trainings=files["training"], histories=files["history"],
                          out_predictions=out / "predictions.parquet", out_val_predictions=out / "val.parquet",
                          out_calibrated=out / "calibrated.parquet", out_training=out / "training.json",
                          out_history=out / "history.tsv", experiment="x")
    pooled = pd.read_parquet(out / "predictions.parquet")
    assert sorted(pooled["variant_id"]) == ["a", "b", "c", "d", "e"]
    assert dict(zip(pooled["variant_id"], pooled["fold"])) == {"a": 0, "b": 0, "c": 1, "d": 2, "e": 2}
    assert len(pd.read_parquet(out / "val.parquet")) == 4 and len(pd.read_parquet(out / "calibrated.parquet")) == 5
    assert training["threshold"] == pytest.approx(0.4) and training["fold_thresholds"] == [0.2, 0.4, 0.9]
    assert "median of the 3 folds' thresholds" in training["threshold_selection"]["rule"]
    assert training["training_seconds"] == pytest.approx(9.0) and training["stopped_epoch"] == "3, 4, 5"
    assert training["validation_counts"] == {"Normal": 6, "Splice-altering": 3}
    assert list(pd.read_csv(out / "history.tsv", sep="\t")["fold"]) == [0, 0, 1, 1, 2, 2]
    assert training["note"] == "3 folds, pooled out of fold"

    # a variant tested in two folds is a clear error, not a silent duplicate
    write_fold(tmp_path, 3, ["a"], 0.5, [])
    with pytest.raises(UserError, match=r"variant 'a' is in the test split of folds \[0, 1\]"):
        pool_folds(predictions=[files["predictions"][0], str(tmp_path / "fold3" / "predictions.parquet")],
                   val_predictions=files["val_predictions"][:2], calibrated=[], trainings=files["training"][:2],
                   histories=files["history"][:2], out_predictions=out / "p2.parquet",
                   out_val_predictions=out / "v2.parquet", out_calibrated=out / "c2.parquet",
                   out_training=out / "t2.json", out_history=out / "h2.tsv")


def test_pool_targets_sums_test_counts(tmp_path):
    tests, summaries = [], []
    for fold, ids in enumerate((["a", "b"], ["c"])):
        path = tmp_path / f"test{fold}.parquet"
        pd.DataFrame({"variant_id": ids, "label": "Normal", "split": "test"}).to_parquet(path)
        summary = tmp_path / f"summary{fold}.json"
        summary.write_text(json.dumps({"per_split": {"test": {"Normal": len(ids)}, "train": {"Normal": 9}},
                                       "base_model_unscored": {"test": {"Normal": fold}}}))
        tests.append(str(path))
        summaries.append(str(summary))
    out = pool_targets(tests=tests, summaries=summaries, test_out=tmp_path / "t.parquet", summary_out=tmp_path / "s.json")
    assert out["per_split"] == {"test": {"Normal": 3}} and out["base_model_unscored"] == {"test": {"Normal": 1}}
    assert out["cross_validation"]["folds"] == 2 and set(out["per_fold"]) == {"0", "1"}
    assert list(pd.read_parquet(tmp_path / "t.parquet")["fold"]) == [0, 0, 1]


def kfold_demo_config(work, k: int, keep_apply: bool = False) -> None:
    path = work / "config" / "config.yaml"
    config = yaml.safe_load(path.read_text())
    config["split"].update(mode="group_kfold", k=k)
    if not keep_apply:
        config.pop("predict")
        config.pop("external_test")
    path.write_text(yaml.safe_dump(config, sort_keys=False))


def test_dry_run_of_the_demo_with_group_kfold_k3(tmp_path, copy_workflow, planned_jobs, run_snakemake):
    work = copy_workflow(tmp_path)
    kfold_demo_config(work, 3)
    run = run_snakemake(work, "-n")
    jobs = planned_jobs(run)
    # once: the data stages; per fold: targets, every experiment's training and calibration, the calibrated rows
    for rule in ("ingest_variants", "normalize_variants", "extract_windows", "gather_scores", "pool_targets",
                 "make_report"):
        assert jobs[rule] == 1, (rule, jobs)
    assert jobs["score_shard"] == 2
    assert jobs["build_targets"] == 3 and jobs["baseline_predictions"] == 3
    assert jobs["train_gated_cnn"] == 9 and jobs["train_gated_cnn_paired"] == 6 and jobs["train_binary_cnn"] == 3
    assert jobs["train_paired_cnn_classifier"] == 6 and jobs["train_spliceai_features_gbm"] == 3
    assert jobs["train_position_only_gbm"] == 3
    assert jobs["calibrate_model"] == 13 * 3 and jobs["combine_calibrated"] == 2 * 3
    # each fold's spliceai_raw calibrator (spliceai_calibrated, the offset) is fitted on every labelled train +
    # validation row of that fold (its calibration_rows.parquet); a trained experiment's on validation only
    inputs = re.findall(r"rule calibrate_model:\n\s+input: (.*)", run.stdout + run.stderr)
    assert len(inputs) == 13 * 3, len(inputs)
    raw = [i for i in inputs if "/models/spliceai_raw/" in i]
    assert sorted(raw) == sorted(
        f"results/folds/fold{k}/models/spliceai_raw/calibration_rows.parquet, "
        f"results/folds/fold{k}/models/spliceai_raw/val_predictions.parquet, "
        f"results/folds/fold{k}/models/spliceai_raw/predictions.parquet, "
        f"results/folds/fold{k}/models/spliceai_raw/training.json, results/folds/fold{k}/targets/summary.json"
        for k in range(3)), raw
    assert not any("calibration_rows" in i for i in inputs if i not in raw)
    # pooled: the 13 experiments, spliceai_calibrated and the ensemble; each evaluated once, out of fold
    assert jobs["pool_folds"] == 15 and jobs["evaluate_model"] == 15


def test_group_kfold_with_predict_is_a_parse_time_error(tmp_path, copy_workflow, run_snakemake):
    work = copy_workflow(tmp_path)
    kfold_demo_config(work, 3, keep_apply=True)
    proc = run_snakemake(work, "-n", check=False)
    assert proc.returncode != 0
    assert "no single model folder for `predict` or `external_test`" in proc.stdout + proc.stderr


def test_the_table_says_its_metrics_are_pooled_out_of_fold():
    from validsplice.report.table_formats import format_html, format_markdown

    table = honest_table()
    line = describe_pooling({"mode": "group_kfold", "k": 5})
    md = format_markdown(table, "synthetic", "split line", pooling=line)
    under = md.split("\n\n", 2)[2]  # after the split line and the table
    assert under.startswith("Data: synthetic\n\nOut-of-fold metrics: every value pools the 5 folds' test predictions")
    assert "Out-of-fold metrics" in format_html(table, "synthetic", "split line", pooling=line)
    assert "Out-of-fold" not in format_markdown(table, "synthetic", "split line")
