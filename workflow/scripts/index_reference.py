"""The workflow's indexed reference under results/reference/: a link to the user's FASTA with its
valid index copied (or a new index built there); nothing is written beside the user's FASTA."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.io.reference import stage_fasta

setup_logging(snakemake.log[0])
run_rule(stage_fasta, snakemake.input.fasta, snakemake.output.fasta)
