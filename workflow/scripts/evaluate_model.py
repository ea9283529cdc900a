"""Rule evaluate_model: metrics with bootstrap intervals and a paired test vs spliceai_raw."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.evaluation.evaluate import evaluate_model

log = setup_logging(snakemake.log[0])
# calibrated.parquet: a one-file list, empty for spliceai_raw (its calibrated form is spliceai_calibrated)
calibrated = snakemake.input.get("calibrated") or []
calibrated = calibrated if isinstance(calibrated, str) else (list(calibrated) or [None])[0]
run_rule(
    evaluate_model,
    predictions=snakemake.input.predictions,
    baseline=snakemake.input.baseline,
    training=snakemake.input.training,
    test_targets=snakemake.input.test_targets,
    metrics_path=snakemake.output.metrics,
    breakdown_path=snakemake.output.breakdown,
    experiment=snakemake.params.experiment,
    n_bootstrap=int(snakemake.params.n_bootstrap),
    seed=int(snakemake.params.seed),
    cutoffs=[float(c) for c in snakemake.params.cutoffs],
    detection_threshold=float(snakemake.params.detection_threshold),
    calibrated=calibrated,
    # the variant table whose gene groups the bootstrap resamples; evaluate_external has none (its test
    # targets are its variant table)
    variants=snakemake.input.get("variants"),
)
