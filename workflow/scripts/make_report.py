"""Rule make_report: results-summary table (TSV/MD/HTML), data summary and the report figures."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.report import make_report
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    make_report,
    metrics=list(snakemake.input.metrics),  # noqa: F821
    predictions=list(snakemake.input.predictions),  # noqa: F821
    histories=list(snakemake.input.histories),  # noqa: F821
    trainings=list(snakemake.input.trainings),  # noqa: F821
    variant_summary=snakemake.input.variant_summary,  # noqa: F821
    score_summary=snakemake.input.score_summary,  # noqa: F821
    target_summary=snakemake.input.target_summary,  # noqa: F821
    rejected=snakemake.input.rejected,  # noqa: F821
    tsv=snakemake.output.tsv,  # noqa: F821
    md=snakemake.output.md,  # noqa: F821
    html_path=snakemake.output.html,  # noqa: F821
    data_summary=snakemake.output.data_summary,  # noqa: F821
    roc=snakemake.output.roc,  # noqa: F821
    pr=snakemake.output.pr,  # noqa: F821
    scatter=snakemake.output.scatter,  # noqa: F821
    training_curves=snakemake.output.training_curves,  # noqa: F821
    distributions=snakemake.output.distributions,  # noqa: F821
    experiments=list(snakemake.params.experiments),  # noqa: F821
    data_description=snakemake.params.data_description,  # noqa: F821
    calibrated=list(snakemake.input.calibrated),  # noqa: F821
    calibrated_experiments=list(snakemake.params.calibrated_experiments),  # noqa: F821
    reliability=snakemake.output.reliability,  # noqa: F821
    split_description=snakemake.params.split_description,  # noqa: F821
)
