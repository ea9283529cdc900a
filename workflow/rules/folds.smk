# Group K-fold cross-validation (split.mode group_kfold): the folds' out-of-fold test rows pooled into the
# files evaluation and the report read (validsplice.training.folds). Every variant is tested in exactly one
# fold, so each gets one score and one calibrated P(splice-altering), from the models of the fold that held
# it out (trained and calibrated without it).

if KFOLD:

    rule pool_targets:
        input:
            tests=fold_paths("targets/test.parquet"),
            summaries=fold_paths("targets/summary.json"),
        output:
            test="results/targets/test.parquet",
            summary="results/targets/summary.json",
        params:
            code=script_code("pool_targets.py"),
        log:
            "logs/targets/pool_folds.log",
        conda:
            "../envs/train.yaml"
        script:
            "../scripts/pool_targets.py"

    rule pool_folds:
        input:
            predictions=lambda wildcards: fold_paths(f"models/{wildcards.experiment}/predictions.parquet"),
            val_predictions=lambda wildcards: fold_paths(f"models/{wildcards.experiment}/val_predictions.parquet"),
            calibrated=lambda wildcards: fold_paths(f"models/{wildcards.experiment}/calibrated.parquet"),
            trainings=lambda wildcards: fold_paths(f"models/{wildcards.experiment}/training.json"),
            histories=lambda wildcards: fold_paths(f"models/{wildcards.experiment}/history.tsv"),
        output:
            predictions="results/models/{experiment}/predictions.parquet",
            val_predictions="results/models/{experiment}/val_predictions.parquet",
            calibrated="results/models/{experiment}/calibrated.parquet",
            training="results/models/{experiment}/training.json",
            history="results/models/{experiment}/history.tsv",
        wildcard_constraints:
            experiment=name_pattern(table_rows()),
        params:
            experiment=lambda wildcards: wildcards.experiment,
            code=script_code("pool_folds.py"),
        log:
            "logs/models/{experiment}.pool_folds.log",
        conda:
            "../envs/train.yaml"
        script:
            "../scripts/pool_folds.py"
