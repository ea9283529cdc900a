"""Rules train_<feature model> (spliceai_features_gbm, position_only_gbm, embedding_head,
exon_site_head): the registry's trainer."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.gbm import train_gbm_experiment

log = setup_logging(snakemake.log[0])
run_rule(
    train_gbm_experiment,
    variants_path=snakemake.input.variants,
    scores_path=snakemake.input.scores,
    train_labelled_path=snakemake.input.train_labelled,
    val_labelled_path=snakemake.input.val_labelled,
    val_path=snakemake.input.val,
    test_path=snakemake.input.test,
    target_summary_path=snakemake.input.target_summary,
    base_calibrator_path=snakemake.input.get("base_calibrator") or None,
    model_path=snakemake.output.model,
    history_path=snakemake.output.history,
    predictions_path=snakemake.output.predictions,
    val_predictions_path=snakemake.output.val_predictions,
    training_path=snakemake.output.training,
    experiment=snakemake.params.experiment,
    model_name=snakemake.params.model,
    # the additional base models (config base_models) whose DS / DP are features too, with their scores
    extra_base_models=list(snakemake.params.extra_base_models),
    extra_scores_paths=list(snakemake.input.extra_scores),
    # the base model's embeddings, for an experiment that reads them (registry.experiment_reads_embeddings)
    embeddings_path=snakemake.input.get("embeddings") or None,
    # every base model's exon-site scores (results/scores/exon_sites/<base model>.parquet), for exon_site_head
    exon_sites_paths=list(snakemake.input.get("exon_sites") or []),
    settings=dict(snakemake.params.settings),
    threads=snakemake.threads,
)
