"""Rule make_report: results-summary table (TSV/MD/text/HTML), cut-off and breakdown pages, per-variant table,
data summary and the report figures."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.report.summary import make_report

log = setup_logging(snakemake.log[0])
run_rule(
    make_report,
    metrics=list(snakemake.input.metrics),
    predictions=list(snakemake.input.predictions),
    histories=list(snakemake.input.histories),
    trainings=list(snakemake.input.trainings),
    variant_summary=snakemake.input.variant_summary,
    score_summary=snakemake.input.score_summary,
    target_summary=snakemake.input.target_summary,
    rejected=snakemake.input.rejected,
    variants=snakemake.input.variants,
    scores=snakemake.input.scores,
    tsv=snakemake.output.tsv,
    md=snakemake.output.md,
    txt=snakemake.output.txt,
    html_path=snakemake.output.html,
    cutoffs=snakemake.output.cutoffs,
    breakdown=snakemake.output.breakdown,
    breakdown_tsv=snakemake.output.breakdown_tsv,
    predictions_tsv=snakemake.output.predictions_tsv,
    data_summary=snakemake.output.data_summary,
    roc=snakemake.output.roc,
    pr=snakemake.output.pr,
    scatter=snakemake.output.scatter,
    training_curves=snakemake.output.training_curves,
    distributions=snakemake.output.distributions,
    experiments=list(snakemake.params.experiments),
    data_description=snakemake.params.data_description,
    n_bootstrap=snakemake.params.n_bootstrap,
    seed=snakemake.params.seed,
    calibrated=list(snakemake.input.calibrated),
    calibrated_experiments=list(snakemake.params.calibrated_experiments),
    reliability=snakemake.output.reliability,
    split_description=snakemake.params.split_description,
    pooling=snakemake.params.pooling,
)
