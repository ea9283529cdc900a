"""Rule align_base_model_profiles: an additional base model's delta profiles aligned to the variant table's
rows as model input (see validsplice.training.targets.align_base_model_profiles)."""
import sys

sys.path.insert(0, snakemake.scriptdir)  # this checkout's validsplice wins (docs/DESIGN.md)
from validsplice.common.rule_io import run_rule, setup_logging
from validsplice.training.targets import align_base_model_profiles

log = setup_logging(snakemake.log[0])
run_rule(
    align_base_model_profiles,
    variants_path=snakemake.input.variants,
    scores_path=snakemake.input.scores,
    profiles_path=snakemake.input.profiles,
    out_path=snakemake.output.profiles,
    name=snakemake.params.name,
    distance=snakemake.params.distance,
    extra_distance=snakemake.params.extra_distance,
)
