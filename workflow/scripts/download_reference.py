"""Download the reference FASTA from config reference.url, bgzip it and index it."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.io.reference import download_fasta

setup_logging(snakemake.log[0])
run_rule(download_fasta, snakemake.params.url, snakemake.output.fasta)
