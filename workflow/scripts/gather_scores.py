"""Rule script: concatenate the score shards and their profiles, re-index profile_row, summarise."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.scoring.shards import gather_scores

log = setup_logging(snakemake.log[0])
run_rule(
    gather_scores,
    list(snakemake.input.scores),
    list(snakemake.input.profiles),
    snakemake.output.scores,
    snakemake.output.profiles,
    snakemake.output.summary,
)
