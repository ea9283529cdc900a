"""Rule pool_folds (group K-fold): one table row's fold folders pooled out of fold (validsplice.training.folds)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.folds import pool_folds

log = setup_logging(snakemake.log[0])
run_rule(
    pool_folds,
    predictions=list(snakemake.input.predictions),
    val_predictions=list(snakemake.input.val_predictions),
    calibrated=list(snakemake.input.calibrated),
    trainings=list(snakemake.input.trainings),
    histories=list(snakemake.input.histories),
    out_predictions=snakemake.output.predictions,
    out_val_predictions=snakemake.output.val_predictions,
    out_calibrated=snakemake.output.calibrated,
    out_training=snakemake.output.training,
    out_history=snakemake.output.history,
    experiment=snakemake.params.experiment,
)
