"""Rules spliceai_calibrated and ensemble_model: a row scored by mean calibrated P(SA) (validsplice.training.ensemble)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.ensemble import combine_calibrated

log = setup_logging(snakemake.log[0])
run_rule(
    combine_calibrated,
    members=list(snakemake.params.members),
    calibrators=list(snakemake.input.calibrators),
    val_predictions=list(snakemake.input.val_predictions),
    predictions=list(snakemake.input.predictions),
    target_summary=snakemake.input.target_summary,
    experiment=snakemake.params.experiment,
    out_predictions=snakemake.output.predictions,
    out_val_predictions=snakemake.output.val_predictions,
    out_calibrated=snakemake.output.calibrated,
    out_training=snakemake.output.training,
    out_history=snakemake.output.history,
)
