# One training rule per trained model of the registry (validsplice.config.registry.MODELS: its
# builder, conda env and GPU need); each runs once per experiment of that model (wildcard).
# Experiments are rows of config "experiments": a model name plus overrides.


for model_name, model_entry in registry.MODELS.items():
    if model_entry.builder is None:  # untrained, or a feature model with its own rule below
        continue

    rule:
        name:
            f"train_{model_name}"
        input:
            train=f"{STUDY}targets/train.parquet",
            val=f"{STUDY}targets/val.parquet",
            test=f"{STUDY}targets/test.parquet",
            train_labelled=f"{STUDY}targets/train_labelled.parquet",
            val_labelled=f"{STUDY}targets/val_labelled.parquet",
            profiles=f"{STUDY}targets/profiles.npy",
            base_profiles=f"{STUDY}targets/base_profiles.npy",
            target_summary=f"{STUDY}targets/summary.json",
            windows="results/windows/windows.npz",
            checkpoint=checkpoint_inputs,
            # a classifier that starts from calibrated SpliceAI (registry base_offset): the baseline's calibrator
            base_calibrator=base_calibrator_inputs(model_entry),
            # a model reading every base model's profile (registry reads_profiles): the additional ones', aligned
            extra_profiles=extra_profile_inputs(model_entry),
        output:
            model=f"{STUDY}models/{{experiment}}/model.pt",
            history=f"{STUDY}models/{{experiment}}/history.tsv",
            predictions=f"{STUDY}models/{{experiment}}/predictions.parquet",
            val_predictions=f"{STUDY}models/{{experiment}}/val_predictions.parquet",
            training=f"{STUDY}models/{{experiment}}/training.json",
        wildcard_constraints:
            experiment=experiment_pattern(model_name),
        params:
            experiment=lambda wildcards: wildcards.experiment,
            model=model_name,
            settings=settings_of,
            profile_base_models=profile_base_models(model_entry),
            code=script_code("train_model.py", model_module(model_name)),
        log:
            f"{STUDY_LOGS}models/{{experiment}}.log",
        message:
            f"Training experiment {{wildcards.experiment}}{FOLD_TEXT} (loss per epoch and ETA: {{log}})"
        benchmark:
            f"{STUDY_BENCHMARKS}models/{{experiment}}.tsv"
        threads: training_threads()
        resources:
            gpu=training_gpu(model_entry),
            mem_mb=16000,
        conda:
            f"../envs/{model_entry.env}"
        script:
            "../scripts/train_model.py"


# Not networks: the feature models (registry entries with a trainer), one rule each: trees on the cached
# base-model scores and / or the variant table's position features (no windows, no GPU).
# Trained on all labelled train rows (class-weighted: train_labelled.parquet, not the balanced train.parquet);
# features come from variants.parquet and the cached scores.parquet; the threshold assumes the prevalence of
# the targets summary, and val_predictions.parquet lists val.parquet's rows like every experiment's.
for model_name in registry.FEATURE_MODELS:

    rule:
        name:
            f"train_{model_name}"
        input:
            variants="results/variants/variants.parquet",
            scores="results/scores/scores.parquet",
            # the additional base models' scores (config base_models): their DS / DP are features too
            extra_scores=list(extra_scores().values()) if registry.MODELS[model_name].reads_scores else [],
            # the primary base model's embeddings, for an experiment that reads them (embedding_head, features_gbm
            # with features: base+embeddings)
            embeddings=embeddings_inputs,
            # every base model's exon-site scores, for an experiment that reads them (exon_site_head)
            exon_sites=exon_sites_inputs,
            train_labelled=f"{STUDY}targets/train_labelled.parquet",
            val_labelled=f"{STUDY}targets/val_labelled.parquet",
            val=f"{STUDY}targets/val.parquet",
            test=f"{STUDY}targets/test.parquet",
            target_summary=f"{STUDY}targets/summary.json",
            # the trees' initial score: calibrated SpliceAI (registry base_offset), of the same study (fold)
            base_calibrator=(
                f"{STUDY}models/{BASELINE}/calibrator.json" if registry.MODELS[model_name].base_offset else []
            ),
        output:
            model=f"{STUDY}models/{{experiment}}/model.joblib",
            history=f"{STUDY}models/{{experiment}}/history.tsv",
            predictions=f"{STUDY}models/{{experiment}}/predictions.parquet",
            val_predictions=f"{STUDY}models/{{experiment}}/val_predictions.parquet",
            training=f"{STUDY}models/{{experiment}}/training.json",
        wildcard_constraints:
            experiment=experiment_pattern(model_name),
        params:
            experiment=lambda wildcards: wildcards.experiment,
            model=model_name,
            settings=settings_of,
            extra_base_models=list(EXTRA_BASE_MODELS) if registry.MODELS[model_name].reads_scores else [],
            code=script_code("train_gbm.py", model_module(model_name)),
        log:
            f"{STUDY_LOGS}models/{{experiment}}.log",
        benchmark:
            f"{STUDY_BENCHMARKS}models/{{experiment}}.tsv"
        threads: training_threads()
        resources:
            mem_mb=4000,
        conda:
            f"../envs/{registry.MODELS[model_name].env}"
        script:
            "../scripts/train_gbm.py"


# The raw base-model rows: spliceai_raw (the primary's max DS, already in the targets tables) and one per
# additional base model (pangolin_raw ...: its max score of the variant's gene, from its own scores).
# calibration_rows.parquet: the raw score of every labelled train + validation row, what the row's calibrator
# (calibrate_model) is fitted on: the base model never saw these labels (validsplice.training.calibration).
rule baseline_predictions:
    input:
        unpack(raw_row_scores),
        test=f"{STUDY}targets/test.parquet",
        val=f"{STUDY}targets/val.parquet",
        train_labelled=f"{STUDY}targets/train_labelled.parquet",
        val_labelled=f"{STUDY}targets/val_labelled.parquet",
    output:
        predictions=f"{STUDY}models/{{experiment}}/predictions.parquet",
        val_predictions=f"{STUDY}models/{{experiment}}/val_predictions.parquet",
        calibration_rows=f"{STUDY}models/{{experiment}}/calibration_rows.parquet",
        history=f"{STUDY}models/{{experiment}}/history.tsv",
        training=f"{STUDY}models/{{experiment}}/training.json",
    wildcard_constraints:
        experiment=name_pattern(RAW_ROWS),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        code=script_code("baseline_predictions.py"),
    log:
        f"{STUDY_LOGS}models/{{experiment}}.log",
    benchmark:
        f"{STUDY_BENCHMARKS}models/{{experiment}}.tsv"
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/baseline_predictions.py"


rule download_hyenadna:
    output:
        checkpoint=directory("resources/hyenadna/{model_dir}"),
    wildcard_constraints:
        model_dir=r"[^/]+",
    params:
        model_id=lambda wildcards: wildcards.model_dir.replace("--", "/"),
        code=script_code("download_hyenadna.py"),
    log:
        "logs/hyenadna/download_{model_dir}.log",
    conda:
        "../envs/hyenadna.yaml"
    script:
        "../scripts/download_hyenadna.py"
