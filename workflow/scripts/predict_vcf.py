"""Rule predict_vcf: a VCF annotated with SpliceAI= and VALIDSPLICE= by trained experiments."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.predict import predict_vcf
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    predict_vcf,
    snakemake.input.vcf,
    snakemake.output.vcf,
    snakemake.input.fasta,
    snakemake.params.annotation,
    list(snakemake.params.model_dirs),
    tsv_path=snakemake.output.tsv,
    batch_size=int(snakemake.params.batch_size),
    device=snakemake.params.device,
    threads=snakemake.threads,
    openspliceai_dir=snakemake.params.openspliceai_dir,
    pangolin_dir=snakemake.params.pangolin_dir,
)
