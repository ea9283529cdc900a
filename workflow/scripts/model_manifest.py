"""Rule model_manifest: model.json, what `validsplice predict` needs besides weights and calibrator."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.apply.model_folder import write_manifest
from validsplice.common.rule_io import run_rule, setup_logging

log = setup_logging(snakemake.log[0])
run_rule(
    write_manifest,
    training_path=snakemake.input.training,
    manifest_path=snakemake.output.manifest,
    base_model=dict(snakemake.params.base_model),
    annotation=snakemake.params.annotation,
    base_models={name: dict(settings) for name, settings in dict(snakemake.params.base_models).items()},
)
