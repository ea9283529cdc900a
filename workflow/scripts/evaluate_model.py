"""Rule evaluate_model: metrics with bootstrap intervals and a paired test vs spliceai_raw."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.evaluation import evaluate_model
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
# calibrated.parquet: a one-file list, empty for spliceai_raw (its calibrated form is spliceai_calibrated)
calibrated = snakemake.input.get("calibrated") or []  # noqa: F821
calibrated = calibrated if isinstance(calibrated, str) else (list(calibrated) or [None])[0]
run_rule(
    evaluate_model,
    predictions=snakemake.input.predictions,  # noqa: F821
    baseline=snakemake.input.baseline,  # noqa: F821
    training=snakemake.input.training,  # noqa: F821
    test_targets=snakemake.input.test_targets,  # noqa: F821
    metrics_path=snakemake.output.metrics,  # noqa: F821
    breakdown_path=snakemake.output.breakdown,  # noqa: F821
    experiment=snakemake.params.experiment,  # noqa: F821
    n_bootstrap=int(snakemake.params.n_bootstrap),  # noqa: F821
    seed=int(snakemake.params.seed),  # noqa: F821
    cutoffs=[float(c) for c in snakemake.params.cutoffs],  # noqa: F821
    detection_threshold=float(snakemake.params.detection_threshold),  # noqa: F821
    calibrated=calibrated,
)
