"""Rule extract_windows: variants.parquet + FASTA -> windows.npz (ref/alt codes on the gene strand)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.variants.windows import extract_windows

log = setup_logging(snakemake.log[0])
run_rule(
    extract_windows,
    table_path=snakemake.input.table,
    fasta_path=snakemake.input.fasta,
    windows_path=snakemake.output.windows,
    length=snakemake.params.length,
)
