"""Rule normalize_variants: REF check, bcftools norm, dedup, annotation, split."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.variants.normalize import normalize_variants

log = setup_logging(snakemake.log[0])
run_rule(
    normalize_variants,
    vcf_path=snakemake.input.vcf,
    fasta_path=snakemake.input.fasta,
    ingest_rejected_path=snakemake.input.ingest_rejected,
    out_vcf=snakemake.output.vcf,
    table_path=snakemake.output.table,
    rejected_path=snakemake.output.rejected,
    summary_path=snakemake.output.summary,
    annotation=snakemake.params.annotation,
    split=dict(snakemake.params.split),
    max_ref_mismatch_fraction=snakemake.params.max_ref_mismatch_fraction,
)
