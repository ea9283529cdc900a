"""Index the reference FASTA (samtools faidx; also writes .gzi for bgzipped files)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.io.reference import index_fasta

setup_logging(snakemake.log[0])
run_rule(index_fasta, snakemake.input.fasta)
