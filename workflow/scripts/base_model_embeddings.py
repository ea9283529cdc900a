"""Rule script: the primary base model's embeddings of every variant (validsplice.scoring.embeddings)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.scoring.embeddings import embedding_table

log = setup_logging(snakemake.log[0])
p = snakemake.params
run_rule(
    embedding_table,
    snakemake.input.table,
    snakemake.input.fasta,
    snakemake.output.embeddings,
    base_model=p.base_model,
    openspliceai_dir=p.openspliceai_dir,
    flank=p.flank,
    batch_size=p.batch_size,
    device=p.device,
    threads=snakemake.threads,
)
