"""Rule predict_spliceai_raw: the untrained baseline's prediction table (see validsplice.predict)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.predict import predict_spliceai_raw
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    predict_spliceai_raw,
    test_path=snakemake.input.test,  # noqa: F821
    val_path=snakemake.input.val,  # noqa: F821
    val_predictions_path=snakemake.output.val_predictions,  # noqa: F821
    predictions_path=snakemake.output.predictions,  # noqa: F821
    history_path=snakemake.output.history,  # noqa: F821
    training_path=snakemake.output.training,  # noqa: F821
    experiment=getattr(snakemake.params, "experiment", "spliceai_raw"),  # noqa: F821
)
