"""Rule calibrate_model: fit the calibrator (validation; a raw row: train + validation), apply it to the test split
(validsplice.training.calibration)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.calibration import calibrate_experiment

log = setup_logging(snakemake.log[0])
run_rule(
    calibrate_experiment,
    val_predictions=snakemake.input.val_predictions,
    predictions=snakemake.input.predictions,
    training=snakemake.input.training,
    target_summary=snakemake.input.target_summary,
    calibrator_path=snakemake.output.calibrator,
    calibrated_path=snakemake.output.calibrated,
    experiment=snakemake.params.experiment,
    # a raw base-model row: fitted on every labelled train + validation row instead of the validation split
    calibration_rows=snakemake.input.get("calibration_rows"),
)
