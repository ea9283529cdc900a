"""Rules spliceai_calibrated and ensemble_model: a row scored by mean calibrated P(SA) (validsplice.ensemble)."""
from validsplice.ensemble import combine_calibrated
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    combine_calibrated,
    members=list(snakemake.params.members),  # noqa: F821
    calibrators=list(snakemake.input.calibrators),  # noqa: F821
    val_predictions=list(snakemake.input.val_predictions),  # noqa: F821
    predictions=list(snakemake.input.predictions),  # noqa: F821
    target_summary=snakemake.input.target_summary,  # noqa: F821
    experiment=snakemake.params.experiment,  # noqa: F821
    out_predictions=snakemake.output.predictions,  # noqa: F821
    out_val_predictions=snakemake.output.val_predictions,  # noqa: F821
    out_calibrated=snakemake.output.calibrated,  # noqa: F821
    out_training=snakemake.output.training,  # noqa: F821
    out_history=snakemake.output.history,  # noqa: F821
)
