"""Download the reference FASTA from config reference.url, bgzip it and index it."""
from validsplice.io.reference import download_fasta
from validsplice.rule_io import run_rule, setup_logging

setup_logging(snakemake.log[0])  # noqa: F821
run_rule(download_fasta, snakemake.params.url, snakemake.output.fasta)  # noqa: F821
