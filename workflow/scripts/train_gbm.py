"""Rule train_spliceai_features_gbm: gradient-boosted trees on SpliceAI and position features."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.models.spliceai_features_gbm import train_gbm_experiment
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    train_gbm_experiment,
    variants_path=snakemake.input.variants,  # noqa: F821
    scores_path=snakemake.input.scores,  # noqa: F821
    train_labelled_path=snakemake.input.train_labelled,  # noqa: F821
    val_labelled_path=snakemake.input.val_labelled,  # noqa: F821
    val_path=snakemake.input.val,  # noqa: F821
    test_path=snakemake.input.test,  # noqa: F821
    target_summary_path=snakemake.input.target_summary,  # noqa: F821
    model_path=snakemake.output.model,  # noqa: F821
    history_path=snakemake.output.history,  # noqa: F821
    predictions_path=snakemake.output.predictions,  # noqa: F821
    val_predictions_path=snakemake.output.val_predictions,  # noqa: F821
    training_path=snakemake.output.training,  # noqa: F821
    experiment=snakemake.params.experiment,  # noqa: F821
    settings=dict(snakemake.params.settings or {}),  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
)
