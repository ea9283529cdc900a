"""Rule external_summary: the results-summary table of one external test set."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.external import external_summary
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    external_summary,
    metrics=list(snakemake.input.metrics),
    disjoint_metrics=list(snakemake.input.disjoint_metrics),
    disjoint_tsv=snakemake.output.disjoint_tsv,
    left_out=dict(snakemake.params.left_out),
    trainings=list(snakemake.input.trainings),
    prepare_summary=snakemake.input.summary,
    experiments=list(snakemake.params.experiments),
    tsv=snakemake.output.tsv,
    html=snakemake.output.html,
    name=snakemake.wildcards.name,
    source=snakemake.params.source,
)
