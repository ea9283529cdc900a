"""Rule predict_spliceai_raw: the untrained baseline's prediction table (see validsplice.predict)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.predict import predict_spliceai_raw
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    predict_spliceai_raw,
    test_path=snakemake.input.test,
    val_path=snakemake.input.val,
    val_predictions_path=snakemake.output.val_predictions,
    predictions_path=snakemake.output.predictions,
    history_path=snakemake.output.history,
    training_path=snakemake.output.training,
    experiment=snakemake.params.experiment,
)
