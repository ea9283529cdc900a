"""Rule model_manifest: model.json, what `validsplice predict` needs besides weights and calibrator."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # noqa: F821  this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.model_folder import write_manifest
from validsplice.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])  # noqa: F821  (snakemake object injected)
run_rule(
    write_manifest,
    training_path=snakemake.input.training,  # noqa: F821
    manifest_path=snakemake.output.manifest,  # noqa: F821
    base_model=dict(snakemake.params.base_model),  # noqa: F821
    annotation=snakemake.params.annotation,  # noqa: F821
)
