# Calibration and the rows built from calibrated probabilities: spliceai_calibrated (raw SpliceAI through its
# calibrator) and config "ensembles". A label-trained experiment's calibrator is fitted on the validation split
# only (the model was fitted on train); a raw base-model row's (spliceai_raw, pangolin_raw: the *_calibrated
# rows and the offset of the models that start from the base model) on every labelled train + validation row,
# its calibration_rows.parquet (calibration_rows_of; why: validsplice.training.calibration).


rule calibrate_model:
    input:
        unpack(calibration_rows_of),
        val_predictions=f"{STUDY}models/{{experiment}}/val_predictions.parquet",
        predictions=f"{STUDY}models/{{experiment}}/predictions.parquet",
        training=f"{STUDY}models/{{experiment}}/training.json",
        target_summary=f"{STUDY}targets/summary.json",
    output:
        calibrator=f"{STUDY}models/{{experiment}}/calibrator.json",
        calibrated=f"{STUDY}models/{{experiment}}/calibrated.parquet",
    wildcard_constraints:
        experiment=name_pattern(experiment_names()),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        code=script_code("calibrate_model.py"),
    log:
        f"{STUDY_LOGS}calibrate/{{experiment}}.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/calibrate_model.py"


rule combine_calibrated:
    input:
        calibrators=combined_inputs("calibrator.json"),
        val_predictions=combined_inputs("val_predictions.parquet"),
        predictions=combined_inputs("predictions.parquet"),
        target_summary=f"{STUDY}targets/summary.json",
    output:
        predictions=f"{STUDY}models/{{experiment}}/predictions.parquet",
        val_predictions=f"{STUDY}models/{{experiment}}/val_predictions.parquet",
        calibrated=f"{STUDY}models/{{experiment}}/calibrated.parquet",
        training=f"{STUDY}models/{{experiment}}/training.json",
        history=f"{STUDY}models/{{experiment}}/history.tsv",
    wildcard_constraints:
        experiment=name_pattern([*CALIBRATED_ROWS, *ENSEMBLES]),
    params:
        experiment=lambda wildcards: wildcards.experiment,
        members=lambda wildcards: combined_members(wildcards.experiment),
        code=script_code("combine_calibrated.py"),
    log:
        f"{STUDY_LOGS}calibrate/{{experiment}}.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/combine_calibrated.py"
