"""Rule score_shard_pangolin: score one shard of the variant table with Pangolin (see
validsplice.scoring.pangolin.shards)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.scoring.pangolin.shards import score_pangolin_shard

log = setup_logging(snakemake.log[0])
p = snakemake.params
run_rule(
    score_pangolin_shard,
    snakemake.input.table,
    snakemake.input.fasta,
    snakemake.output.scores,
    snakemake.output.profiles,
    shard=p.shard,
    n_shards=p.n_shards,
    pangolin_dir=p.pangolin_dir,
    annotation=p.annotation,
    distance=p.distance,
    mask=p.mask,
    batch_size=p.batch_size,
    device=p.device,
    threads=snakemake.threads,
)
