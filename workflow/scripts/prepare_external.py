"""Rule normalize_external: normalize an external test set (all variants in test), drop training variants."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.external import prepare_external
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    prepare_external,
    vcf_path=snakemake.input.vcf,  # noqa: F821
    fasta_path=snakemake.input.fasta,  # noqa: F821
    ingest_rejected_path=snakemake.input.ingest_rejected,  # noqa: F821
    training_variants_path=snakemake.input.training_variants,  # noqa: F821
    out_vcf=snakemake.output.vcf,  # noqa: F821
    table_path=snakemake.output.table,  # noqa: F821
    rejected_path=snakemake.output.rejected,  # noqa: F821
    summary_path=snakemake.output.summary,  # noqa: F821
    overlap_path=snakemake.output.in_training,  # noqa: F821
    annotation=snakemake.params.annotation,  # noqa: F821
    max_ref_mismatch_fraction=snakemake.params.max_ref_mismatch_fraction,  # noqa: F821
    name=snakemake.wildcards.name,  # noqa: F821
)
