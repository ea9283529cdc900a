"""Rule external_summary: the results-summary table of one external test set."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.external import external_summary
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    external_summary,
    metrics=list(snakemake.input.metrics),  # noqa: F821
    trainings=list(snakemake.input.trainings),  # noqa: F821
    prepare_summary=snakemake.input.summary,  # noqa: F821
    experiments=list(snakemake.params.experiments),  # noqa: F821
    tsv=snakemake.output.tsv,  # noqa: F821
    html=snakemake.output.html,  # noqa: F821
    name=snakemake.wildcards.name,  # noqa: F821
    source=snakemake.params.source,  # noqa: F821
)
