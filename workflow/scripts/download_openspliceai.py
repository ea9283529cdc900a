"""Rule download_openspliceai: fetch the configured OpenSpliceAI checkpoints, each checked against its SHA-256.

snakemake.params.urls:   config base_model.openspliceai_urls ([{url, sha256}, ...])
snakemake.params.folder: config base_model.openspliceai_dir (files are saved under the URLs' file names)
"""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.io.download import download_checkpoints

setup_logging(snakemake.log[0])
run_rule(download_checkpoints, list(snakemake.params.urls), snakemake.params.folder)
