# Validated splice-variant effect prediction.
# Entry point: config + schema validation, the rule files, and the final targets.
# Run:  snakemake --cores 8 --resources gpu=1   (profiles/default sets these for you)
from snakemake.utils import min_version, validate

min_version("8.0")


configfile: "config/config.yaml"


validate(config, schema="config/schema.yaml")


include: "rules/common.smk"
include: "rules/reference.smk"
include: "rules/variants.smk"
include: "rules/windows.smk"
include: "rules/base_model.smk"
include: "rules/targets.smk"
include: "rules/train.smk"
include: "rules/evaluate.smk"
include: "rules/report.smk"
include: "rules/predict.smk"


rule all:
    input:
        final_targets(),
    default_target: True


onsuccess:
    print_summary_table()
