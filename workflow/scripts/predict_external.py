"""Rule predict_external: base model once, then every experiment's score and P_SA on an external set."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.external import predict_external
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    predict_external,
    variants_path=snakemake.input.variants,  # noqa: F821
    fasta=snakemake.input.fasta,  # noqa: F821
    annotation=snakemake.params.annotation,  # noqa: F821
    model_dirs=list(snakemake.params.model_dirs),  # noqa: F821
    predictions_paths=list(snakemake.output.predictions),  # noqa: F821
    scores_path=snakemake.output.scores,  # noqa: F821
    batch_size=int(snakemake.params.batch_size),  # noqa: F821
    device=snakemake.params.device,  # noqa: F821
    threads=snakemake.threads,  # noqa: F821
    openspliceai_dir=snakemake.params.openspliceai_dir,  # noqa: F821
)
