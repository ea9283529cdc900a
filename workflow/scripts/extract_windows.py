"""Rule extract_windows: variants.parquet + FASTA -> windows.npz (ref/alt codes on the gene strand)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.rule_io import run_rule, setup_logging
from validsplice.windows import extract_windows

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    extract_windows,
    table_path=snakemake.input.table,  # noqa: F821
    fasta_path=snakemake.input.fasta,  # noqa: F821
    windows_path=snakemake.output.windows,  # noqa: F821
    length=snakemake.params.length,  # noqa: F821
)
