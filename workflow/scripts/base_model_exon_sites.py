"""Rule script: one base model's exon-site scores of every variant (validsplice.scoring.exon_sites)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.scoring.exon_sites import exon_site_table

log = setup_logging(snakemake.log[0])
p = snakemake.params
run_rule(
    exon_site_table,
    snakemake.input.table,
    snakemake.input.fasta,
    p.annotation,
    snakemake.output.scores,
    base_model=snakemake.wildcards.base_model,
    model_dir=p.model_dir,
    batch_size=p.batch_size,
    device=p.device,
    threads=snakemake.threads,
)
