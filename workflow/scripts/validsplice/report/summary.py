"""The comparison report's rule entry point (rule ``make_report``): reads the runs' files and writes the
results-summary table (TSV, Markdown, HTML, terminal text), the cut-off and breakdown pages, the per-variant
table, the data summary and the figures.

The table: ``results_table``; its words: ``table_text``; its renderings: ``table_formats``; the data
summary page: ``data_summary``; the cut-off and breakdown pages: ``detail_pages`` (their tables:
``report_tables``).
"""
from __future__ import annotations

import logging
import sys
from pathlib import Path

import pandas as pd

from ..common.errors import UserError
from ..common.files import read_json
from ..config.naming import BASELINE
from ..evaluation.evaluate import load_predictions
from . import plots
from . import tables as report_tables
from .data_summary import data_summary_html
from .detail_pages import breakdown_html, cutoffs_html
from .results_table import summary_table
from .table_formats import format_html, format_markdown, format_terminal

log = logging.getLogger("validsplice.report.summary")


def _read_history(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t")
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _read_rejected(path) -> pd.DataFrame:
    try:
        return pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    except pd.errors.EmptyDataError:
        return pd.DataFrame()


def _read_parquet(path, what: str) -> pd.DataFrame:
    try:
        return pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc}); re-run the rule that writes it.") from None


def _read_calibrated(calibrated: list[str], calibrated_experiments: list[str],
                     experiments: list[str]) -> dict[str, pd.DataFrame]:
    """{experiment: calibrated.parquet table} in report order (reliability diagram, per-variant P(SA))."""
    if len(calibrated) != len(calibrated_experiments):
        raise UserError(f"make_report: {len(calibrated)} calibrated file(s) for {len(calibrated_experiments)} "
                        "calibrated experiments; the lists must match.")
    rank = {e: i for i, e in enumerate(experiments)}
    pairs = sorted(zip(calibrated_experiments, calibrated), key=lambda pair: rank.get(pair[0], len(rank)))
    return {e: _read_parquet(p, "calibrated probabilities") for e, p in pairs}


def make_report(
    metrics: list[str], predictions: list[str], histories: list[str], trainings: list[str],
    variant_summary: str, score_summary: str, target_summary: str, rejected: str, variants: str, scores: str,
    *, tsv: str, md: str, txt: str, html_path: str, cutoffs: str, breakdown: str, breakdown_tsv: str,
    predictions_tsv: str, data_summary: str, roc: str, pr: str, scatter: str, training_curves: str,
    distributions: str, experiments: list[str], data_description: str = "", n_bootstrap: int = 1000,
    seed: int = 0, calibrated: list[str] = (), calibrated_experiments: list[str] = (), reliability: str | None = None,
    split_description: str = "", pooling: str = "",
) -> pd.DataFrame:
    """Rule entry point: the summary table (TSV, Markdown, terminal text, HTML), the cut-off and
    breakdown pages, the per-variant table, the data summary and six SVGs.

    ``calibrated`` (calibrated.parquet files of ``calibrated_experiments``) feed the reliability
    diagram and the per-variant table's P(SA) columns; ``split_description``
    (``split.describe_split``) heads the table; ``pooling`` (``split.describe_pooling``, group K-fold)
    is the out-of-fold line under it.
    """
    experiments = list(experiments)
    lists = {"metrics": metrics, "predictions": predictions, "histories": histories, "trainings": trainings}
    for key, paths in lists.items():
        if len(paths) != len(experiments):
            raise UserError(f"make_report: {len(paths)} {key} file(s) for {len(experiments)} experiments; "
                            "the input lists must follow params.experiments.")
    order = sorted(range(len(experiments)), key=lambda i: experiments[i] != BASELINE)  # baseline first, stable
    experiments = [experiments[i] for i in order]
    metric_dicts = [read_json(metrics[i]) for i in order]
    training_dicts = [read_json(trainings[i]) for i in order]
    preds = {e: load_predictions(predictions[i])[0] for e, i in zip(experiments, order)}
    hists = {e: _read_history(histories[i]) for e, i in zip(experiments, order)}
    variant_table = _read_parquet(variants, "variant table")
    calibrated_by_experiment = _read_calibrated(calibrated, calibrated_experiments, experiments)

    outputs = (tsv, md, txt, html_path, cutoffs, breakdown, breakdown_tsv, predictions_tsv, data_summary, roc, pr,
               scatter, training_curves, distributions) + ((reliability,) if reliability else ())
    for path in outputs:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
    compare = report_tables.paired_comparer(preds, variant_table, dict(zip(experiments, metric_dicts)),
                                            calibrated_by_experiment, n_bootstrap=n_bootstrap, seed=seed)
    table = summary_table(experiments, metric_dicts, training_dicts, compare=compare)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    Path(md).write_text(format_markdown(table, data_description, split_description, pooling))
    terminal = format_terminal(table)
    Path(txt).write_text(terminal)
    Path(html_path).write_text(format_html(table, data_description, split_description, pooling))

    Path(cutoffs).write_text(cutoffs_html(report_tables.cutoff_table(experiments, metric_dicts)))
    log.info("breakdowns: %d experiments, %d bootstrap resamples per group", len(experiments), n_bootstrap)
    groups = report_tables.breakdown_table(preds, variant_table, dict(zip(experiments, metric_dicts)),
                                           n_bootstrap=n_bootstrap, seed=seed)
    groups.to_csv(breakdown_tsv, sep="\t", index=False, float_format="%.6g")
    Path(breakdown).write_text(breakdown_html(groups, experiments))
    per_variant = report_tables.predictions_table(variant_table, _read_parquet(scores, "base-model scores"), preds,
                                                  calibrated_by_experiment)
    per_variant.to_csv(predictions_tsv, sep="\t", index=False, float_format="%.6g")
    log.info("per-variant table: %d test variants, %d columns -> %s", len(per_variant), per_variant.shape[1],
             predictions_tsv)
    Path(data_summary).write_text(data_summary_html(
        read_json(variant_summary), read_json(score_summary), read_json(target_summary), _read_rejected(rejected)))

    log.info("plotting %d experiments", len(experiments))
    rules = {e: plots.CallRule.from_metrics(m) for e, m in zip(experiments, metric_dicts)}
    plots.plot_roc(preds, roc)
    plots.plot_pr(preds, pr)
    plots.plot_scatter(preds, scatter)
    plots.plot_training_curves(hists, dict(zip(experiments, training_dicts)), training_curves)
    plots.plot_score_distributions(preds, distributions, rules=rules)
    if reliability is not None:
        plots.plot_reliability(calibrated_by_experiment, reliability)
    log.info("results summary written to %s", md)
    print("\n" + terminal, file=sys.stderr)  # stderr is the rule's log file
    return table
