"""Rule calibrate_model: fit the calibrator on validation, apply it to the test split (validsplice.calibration)."""
from validsplice.calibration import calibrate_experiment
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    calibrate_experiment,
    val_predictions=snakemake.input.val_predictions,  # noqa: F821
    predictions=snakemake.input.predictions,  # noqa: F821
    training=snakemake.input.training,  # noqa: F821
    target_summary=snakemake.input.target_summary,  # noqa: F821
    calibrator_path=snakemake.output.calibrator,  # noqa: F821
    calibrated_path=snakemake.output.calibrated,  # noqa: F821
    experiment=snakemake.params.experiment,  # noqa: F821
)
