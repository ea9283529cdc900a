# Validated targets: Splice-altering keep the base-model delta, Normal get zero.


rule build_targets:
    input:
        variants="results/variants/variants.parquet",
        windows="results/windows/windows.npz",
        scores="results/scores/scores.parquet",
        profiles="results/scores/delta_profiles.npy",
    output:
        train=f"{STUDY}targets/train.parquet",
        val=f"{STUDY}targets/val.parquet",
        test=f"{STUDY}targets/test.parquet",
        train_labelled=f"{STUDY}targets/train_labelled.parquet",
        val_labelled=f"{STUDY}targets/val_labelled.parquet",
        profiles=f"{STUDY}targets/profiles.npy",
        base_profiles=f"{STUDY}targets/base_profiles.npy",
        summary=f"{STUDY}targets/summary.json",
    params:
        seed=config["targets"]["seed"],
        balance=config["targets"]["balance"],
        max_train_samples=config["targets"]["max_train_samples"],
        distance=config["base_model"]["distance"],
        # group K-fold: this fold's train/val/test (validsplice.variants.split.fold_split); else None
        fold=lambda wildcards: int(wildcards.fold) if KFOLD else None,
        validation_fraction=config["split"]["validation_fraction"],
        split_seed=config["split"]["seed"],
        code=script_code("build_targets.py"),
    log:
        f"{STUDY_LOGS}targets/build.log",
    message:
        f"Building validated targets and the train/val/test tables{FOLD_TEXT} (log: {{log}})"
    benchmark:
        f"{STUDY_BENCHMARKS}targets/build.tsv"
    resources:
        mem_mb=4000,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_targets.py"


# An additional base model's delta profiles as model input (the paired classifier reads every base model's):
# aligned to the variant table's rows like base_profiles.npy, per base model, so adding one reruns this for
# it alone (and what reads it), never build_targets.
rule align_base_model_profiles:
    input:
        variants="results/variants/variants.parquet",
        scores="results/scores/{base_model}/scores.parquet",
        profiles="results/scores/{base_model}/delta_profiles.npy",
    output:
        profiles="results/scores/{base_model}/base_profiles.npy",
    wildcard_constraints:
        base_model=name_pattern(list(EXTRA_BASE_MODELS)),
    params:
        name=lambda wildcards: wildcards.base_model,
        distance=config["base_model"]["distance"],
        extra_distance=lambda wildcards: EXTRA_BASE_MODELS[wildcards.base_model]["distance"],
        code=script_code("align_base_model_profiles.py"),
    log:
        "logs/scores/{base_model}/align_profiles.log",
    benchmark:
        "benchmarks/scores/{base_model}/align_profiles.tsv"
    resources:
        mem_mb=4000,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/align_base_model_profiles.py"
