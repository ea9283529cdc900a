# One training rule per model; each runs once per experiment of that model (wildcard).
# Experiments are rows of config "experiments": a model name plus overrides.

TRAINING_CODE = ["training.py", "predict.py", "prevalence.py", "datasets.py", "models/__init__.py", "models/registry.py", "models/layers.py"]

# model name -> (its code, its conda env)
TRAINED_MODELS = {
    "gated_cnn": (["models/gated_cnn.py"], "../envs/train.yaml"),
    "gated_cnn_paired": (["models/gated_cnn.py"], "../envs/train.yaml"),
    "binary_cnn": (["models/binary_cnn.py"], "../envs/train.yaml"),
    "paired_cnn_classifier": (["models/paired_classifier.py"], "../envs/train.yaml"),
    "hyenadna_frozen": (["models/hyenadna.py", "models/hyenadna_checkpoint.py", "models/hyenadna_heads.py"], "../envs/hyenadna.yaml"),
    "hyenadna_finetune": (["models/hyenadna.py", "models/hyenadna_checkpoint.py", "models/hyenadna_heads.py"], "../envs/hyenadna.yaml"),
}

for model_name, (model_code, model_env) in TRAINED_MODELS.items():

    rule:
        name:
            f"train_{model_name}"
        input:
            train="results/targets/train.parquet",
            val="results/targets/val.parquet",
            test="results/targets/test.parquet",
            train_labelled="results/targets/train_labelled.parquet",
            val_labelled="results/targets/val_labelled.parquet",
            profiles="results/targets/profiles.npy",
            base_profiles="results/targets/base_profiles.npy",
            target_summary="results/targets/summary.json",
            windows="results/windows/windows.npz",
            code=library_files(*TRAINING_CODE, *model_code),
            checkpoint=checkpoint_inputs,
        output:
            model="results/models/{experiment}/model.pt",
            history="results/models/{experiment}/history.tsv",
            predictions="results/models/{experiment}/predictions.parquet",
            val_predictions="results/models/{experiment}/val_predictions.parquet",
            training="results/models/{experiment}/training.json",
        wildcard_constraints:
            experiment=experiment_pattern(model_name),
        params:
            experiment=lambda wildcards: wildcards.experiment,
            model=model_name,
            settings=settings_of,
        log:
            "logs/models/{experiment}.log",
        benchmark:
            "benchmarks/models/{experiment}.tsv"
        threads: training_threads()
        resources:
            gpu=1,
            mem_mb=16000,
        conda:
            model_env
        script:
            "../scripts/train_model.py"


# Not a network: trees on the cached base-model scores and the variant table (no windows, no GPU).
# Trained on all labelled train rows (class-weighted: train_labelled.parquet, not the balanced train.parquet);
# features come from variants.parquet and the cached scores.parquet; its threshold assumes the prevalence of
# the targets summary, and its val_predictions.parquet lists val.parquet's rows like every experiment's.
rule train_spliceai_features_gbm:
    input:
        variants="results/variants/variants.parquet",
        scores="results/scores/scores.parquet",
        train_labelled="results/targets/train_labelled.parquet",
        val_labelled="results/targets/val_labelled.parquet",
        val="results/targets/val.parquet",
        test="results/targets/test.parquet",
        target_summary="results/targets/summary.json",
        code=library_files("training.py", "predict.py", "prevalence.py", "targets.py", "models/spliceai_features_gbm.py"),
    output:
        model="results/models/{experiment}/model.joblib",
        history="results/models/{experiment}/history.tsv",
        predictions="results/models/{experiment}/predictions.parquet",
        val_predictions="results/models/{experiment}/val_predictions.parquet",
        training="results/models/{experiment}/training.json",
    wildcard_constraints:
        experiment=experiment_pattern("spliceai_features_gbm"),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        settings=settings_of,
    log:
        "logs/models/{experiment}.log",
    benchmark:
        "benchmarks/models/{experiment}.tsv"
    threads: training_threads()
    resources:
        mem_mb=4000,
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/train_gbm.py"


rule predict_spliceai_raw:
    input:
        test="results/targets/test.parquet",
        val="results/targets/val.parquet",
        code=library_files("predict.py"),
    output:
        predictions=f"results/models/{BASELINE}/predictions.parquet",
        val_predictions=f"results/models/{BASELINE}/val_predictions.parquet",
        history=f"results/models/{BASELINE}/history.tsv",
        training=f"results/models/{BASELINE}/training.json",
    log:
        f"logs/models/{BASELINE}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/predict_spliceai_raw.py"


rule download_hyenadna:
    output:
        checkpoint=directory("resources/hyenadna/{model_dir}"),
    wildcard_constraints:
        model_dir=r"[^/]+",
    params:
        model_id=lambda wildcards: wildcards.model_dir.replace("--", "/"),
    log:
        "logs/hyenadna/download_{model_dir}.log",
    conda:
        "../envs/hyenadna.yaml"
    script:
        "../scripts/download_hyenadna.py"
