"""Rule normalize_external: normalize an external test set (all variants in test), drop training variants."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.external import normalize_external
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    normalize_external,
    vcf_path=snakemake.input.vcf,
    fasta_path=snakemake.input.fasta,
    ingest_rejected_path=snakemake.input.ingest_rejected,
    training_variants_path=snakemake.input.training_variants,
    out_vcf=snakemake.output.vcf,
    table_path=snakemake.output.table,
    rejected_path=snakemake.output.rejected,
    summary_path=snakemake.output.summary,
    overlap_path=snakemake.output.in_training,
    annotation=snakemake.params.annotation,
    max_ref_mismatch_fraction=snakemake.params.max_ref_mismatch_fraction,
    name=snakemake.wildcards.name,
)
