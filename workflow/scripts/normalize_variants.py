"""Rule normalize_variants: REF check, bcftools norm, dedup, annotation, split."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.normalize import normalize_variants
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    normalize_variants,
    vcf_path=snakemake.input.vcf,  # noqa: F821
    fasta_path=snakemake.input.fasta,  # noqa: F821
    ingest_rejected_path=snakemake.input.ingest_rejected,  # noqa: F821
    out_vcf=snakemake.output.vcf,  # noqa: F821
    table_path=snakemake.output.table,  # noqa: F821
    rejected_path=snakemake.output.rejected,  # noqa: F821
    summary_path=snakemake.output.summary,  # noqa: F821
    annotation=snakemake.params.annotation,  # noqa: F821
    split=dict(snakemake.params.split),  # noqa: F821
    max_ref_mismatch_fraction=snakemake.params.get("max_ref_mismatch_fraction", 0.5),  # noqa: F821
)
