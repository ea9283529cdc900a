# Validated targets: Splice-altering keep the base-model delta, Normal get zero.


rule build_targets:
    input:
        variants="results/variants/variants.parquet",
        windows="results/windows/windows.npz",
        scores="results/scores/scores.parquet",
        profiles="results/scores/delta_profiles.npy",
    output:
        train="results/targets/train.parquet",
        val="results/targets/val.parquet",
        test="results/targets/test.parquet",
        train_labelled="results/targets/train_labelled.parquet",
        val_labelled="results/targets/val_labelled.parquet",
        profiles="results/targets/profiles.npy",
        base_profiles="results/targets/base_profiles.npy",
        summary="results/targets/summary.json",
    params:
        seed=config["targets"]["seed"],
        balance=config["targets"]["balance"],
        max_train_samples=config["targets"]["max_train_samples"],
        distance=config["base_model"]["distance"],
        code=script_code("build_targets.py"),
    log:
        "logs/targets/build.log",
    message:
        "Building validated targets and the train/val/test tables (log: {log})"
    benchmark:
        "benchmarks/targets/build.tsv"
    resources:
        mem_mb=4000,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/build_targets.py"
