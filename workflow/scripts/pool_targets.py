"""Rule pool_targets (group K-fold): the folds' test targets and summaries pooled (validsplice.training.folds)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.folds import pool_targets

log = setup_logging(snakemake.log[0])
run_rule(
    pool_targets,
    tests=list(snakemake.input.tests),
    summaries=list(snakemake.input.summaries),
    test_out=snakemake.output.test,
    summary_out=snakemake.output.summary,
)
