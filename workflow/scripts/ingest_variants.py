"""Rule ingest_variants: SpliceVarDB export or labelled VCF -> ingested VCF + rejects."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.io.labelled_vcf import ingest_variants

log = setup_logging(snakemake.log[0])
run_rule(
    ingest_variants,
    table_path=snakemake.input.table,
    fasta_path=snakemake.input.fasta,
    vcf_path=snakemake.output.vcf,
    rejected_path=snakemake.output.rejected,
    source=snakemake.params.source,
    label_field=snakemake.params.label_field,
    coordinate_column=snakemake.params.coordinate_column,
    label_map=dict(snakemake.params.label_map),
)
