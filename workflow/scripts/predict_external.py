"""Rule predict_external: base model once, then every experiment's score and P_SA on an external set."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.external import predict_external
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    predict_external,
    variants_path=snakemake.input.variants,
    fasta=snakemake.input.fasta,
    annotation=snakemake.params.annotation,
    model_dirs=list(snakemake.params.model_dirs),
    predictions_paths=list(snakemake.output.predictions),
    scores_path=snakemake.output.scores,
    batch_size=int(snakemake.params.batch_size),
    device=snakemake.params.device,
    threads=snakemake.threads,
    openspliceai_dir=snakemake.params.openspliceai_dir,
    pangolin_dir=snakemake.params.pangolin_dir,
)
