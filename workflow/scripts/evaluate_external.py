"""Rule evaluate_external: the metrics of one experiment on an external set, all variants and gene-disjoint."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.external import evaluate_external
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    evaluate_external,
    predictions=snakemake.input.predictions,
    baseline=snakemake.input.baseline,
    training=snakemake.input.training,
    variants=snakemake.input.test_targets,
    metrics_path=snakemake.output.metrics,
    breakdown_path=snakemake.output.breakdown,
    disjoint_metrics_path=snakemake.output.disjoint_metrics,
    disjoint_breakdown_path=snakemake.output.disjoint_breakdown,
    experiment=snakemake.params.experiment,
    n_bootstrap=int(snakemake.params.n_bootstrap),
    seed=int(snakemake.params.seed),
    cutoffs=[float(c) for c in snakemake.params.cutoffs],
    detection_threshold=float(snakemake.params.detection_threshold),
)
