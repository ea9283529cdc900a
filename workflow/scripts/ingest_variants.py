"""Rule ingest_variants: SpliceVarDB export or labelled VCF -> ingested VCF + rejects."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.io.labelled_vcf import ingest_variants
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    ingest_variants,
    table_path=snakemake.input.table,  # noqa: F821
    fasta_path=snakemake.input.fasta,  # noqa: F821
    vcf_path=snakemake.output.vcf,  # noqa: F821
    rejected_path=snakemake.output.rejected,  # noqa: F821
    source=snakemake.params.source,  # noqa: F821
    label_field=snakemake.params.label_field,  # noqa: F821
    coordinate_column=snakemake.params.get("coordinate_column", "hg38"),  # noqa: F821
)
