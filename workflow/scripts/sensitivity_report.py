"""Rule sensitivity_report: the results table with Low-frequency counted as Splice-altering."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.report.sensitivity import sensitivity_report

log = setup_logging(snakemake.log[0])
run_rule(
    sensitivity_report,
    experiments=list(snakemake.params.experiments),
    predictions=list(snakemake.input.predictions),
    trainings=list(snakemake.input.trainings),
    calibrated=list(snakemake.input.calibrated),
    calibrated_experiments=list(snakemake.params.calibrated_experiments),
    tsv=snakemake.output.tsv,
    html=snakemake.output.html,
    split_description=snakemake.params.split_description,
    n_bootstrap=int(snakemake.params.n_bootstrap),
    seed=int(snakemake.params.seed),
    cutoffs=[float(c) for c in snakemake.params.cutoffs],
    detection_threshold=float(snakemake.params.detection_threshold),
)
