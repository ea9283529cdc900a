"""Rule script: download a HyenaDNA HuggingFace model folder (config + weights + tokenizer).

snakemake.output.checkpoint: destination folder (declare it with ``directory(...)``)
snakemake.params.model_id:   HF repo id, e.g. "LongSafari/hyenadna-small-32k-seqlen-hf"
Needs huggingface_hub and internet; otherwise fails with instructions for a manual download.
"""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.models.hyenadna_checkpoint import download_checkpoint

log = setup_logging(snakemake.log[0])
run_rule(download_checkpoint, snakemake.params.model_id, snakemake.output.checkpoint)
