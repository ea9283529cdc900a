# Calibration (validation split only) and the rows built from calibrated probabilities:
# spliceai_calibrated (raw SpliceAI through its calibrator) and config "ensembles".


rule calibrate_model:
    input:
        val_predictions=STUDY + "models/{experiment}/val_predictions.parquet",
        predictions=STUDY + "models/{experiment}/predictions.parquet",
        training=STUDY + "models/{experiment}/training.json",
        target_summary=STUDY + "targets/summary.json",
    output:
        calibrator=STUDY + "models/{experiment}/calibrator.json",
        calibrated=STUDY + "models/{experiment}/calibrated.parquet",
    wildcard_constraints:
        experiment=name_pattern(experiment_names()),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        code=script_code("calibrate_model.py"),
    log:
        STUDY_LOGS + "calibrate/{experiment}.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/calibrate_model.py"


rule combine_calibrated:
    input:
        calibrators=combined_inputs("calibrator.json"),
        val_predictions=combined_inputs("val_predictions.parquet"),
        predictions=combined_inputs("predictions.parquet"),
        target_summary=STUDY + "targets/summary.json",
    output:
        predictions=STUDY + "models/{experiment}/predictions.parquet",
        val_predictions=STUDY + "models/{experiment}/val_predictions.parquet",
        calibrated=STUDY + "models/{experiment}/calibrated.parquet",
        training=STUDY + "models/{experiment}/training.json",
        history=STUDY + "models/{experiment}/history.tsv",
    wildcard_constraints:
        experiment=name_pattern([CALIBRATED_BASELINE, *ENSEMBLES]),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        members=lambda wildcards: combined_members(wildcards.experiment),
        code=script_code("combine_calibrated.py"),
    log:
        STUDY_LOGS + "calibrate/{experiment}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/combine_calibrated.py"
