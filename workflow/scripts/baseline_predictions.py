"""Rule baseline_predictions: the untrained baseline's prediction table (see validsplice.training.predictions)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.predictions import baseline_predictions

log = setup_logging(snakemake.log[0])
run_rule(
    baseline_predictions,
    test_path=snakemake.input.test,
    val_path=snakemake.input.val,
    val_predictions_path=snakemake.output.val_predictions,
    predictions_path=snakemake.output.predictions,
    history_path=snakemake.output.history,
    training_path=snakemake.output.training,
    experiment=snakemake.params.experiment,
    # an additional base model's raw row (pangolin_raw): its own scores; the primary's max DS is in the targets
    scores_path=snakemake.input.get("scores"),
    variants_path=snakemake.input.get("variants"),
    # every labelled non-test row (train + validation, not balanced): what this row's calibrator is fitted on
    labelled_paths=[snakemake.input.train_labelled, snakemake.input.val_labelled],
    calibration_rows_path=snakemake.output.calibration_rows,
)
