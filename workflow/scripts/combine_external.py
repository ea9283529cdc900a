"""Rule combine_external: spliceai_calibrated or an ensemble on an external set (mean of its members' P_SA)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.external import combine_external
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    combine_external,
    member_predictions=list(snakemake.input.members),
    members=list(snakemake.params.members),
    out_predictions=snakemake.output.predictions,
    experiment=snakemake.wildcards.experiment,
)
