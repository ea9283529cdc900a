"""Rule predict_vcf: a VCF annotated with SpliceAI= and VALIDSPLICE= by trained experiments."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.predict_vcf import predict_vcf
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    predict_vcf,
    snakemake.input.vcf,  # noqa: F821
    snakemake.output.vcf,  # noqa: F821
    snakemake.input.fasta,  # noqa: F821
    snakemake.params.annotation,  # noqa: F821
    list(snakemake.params.model_dirs),  # noqa: F821
    tsv_path=snakemake.output.tsv,  # noqa: F821
    batch_size=int(snakemake.params.batch_size),  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    openspliceai_dir=snakemake.params.openspliceai_dir,  # noqa: F821
)
