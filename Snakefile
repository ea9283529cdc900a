# Validated splice-variant effect prediction.
# Entry point: the config, the rule files (common.smk checks the config first: unknown keys,
# the schema, missing input files), and the final targets.
# Run:  snakemake --cores 8 --resources gpu=1   (profiles/default sets these for you)
from snakemake.utils import min_version

min_version("8.0")


configfile: "config/config.yaml"


include: "rules/common.smk"
include: "rules/reference.smk"
include: "rules/variants.smk"
include: "rules/windows.smk"
include: "rules/base_model.smk"
include: "rules/targets.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"


rule all:
    input:
        final_targets(),
    default_target: True


onsuccess:
    print_summary_table()
