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
