"""Rule script: score one shard of the variant table with the base model (docs/DESIGN.md, "Scores")."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.scoring.shards import score_shard

log = setup_logging(snakemake.log[0])
p = snakemake.params
run_rule(
    score_shard,
    snakemake.input.table,
    snakemake.input.fasta,
    snakemake.output.scores,
    snakemake.output.profiles,
    shard=p.shard,
    n_shards=p.n_shards,
    base_model=p.base_model,
    openspliceai_dir=p.openspliceai_dir,
    annotation=p.annotation,
    distance=p.distance,
    mask=p.mask,
    extended=p.extended,
    batch_size=p.batch_size,
    device=p.device,
    threads=snakemake.threads,
)
