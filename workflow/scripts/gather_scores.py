"""Rule script: concatenate the score shards and their profiles, re-index profile_row, summarise."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.rule_io import run_rule, setup_logging
from validsplice.spliceai.shards import gather_scores

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    gather_scores,
    list(snakemake.input.scores),  # noqa: F821
    list(snakemake.input.profiles),  # noqa: F821
    snakemake.output.scores,  # noqa: F821
    snakemake.output.profiles,  # noqa: F821
    snakemake.output.summary,  # noqa: F821
)
