# Trained experiments applied outside the study: model folders, annotating VCFs, external test sets.
# The base model scores each VCF / external set once, for all experiments together.


rule model_manifest:
    input:
        training="results/models/{experiment}/training.json",
        weights=manifest_weights,
    output:
        manifest="results/models/{experiment}/model.json",
    wildcard_constraints:
        experiment="|".join(re.escape(n) for n in predictable_experiments()),
    params:
        code=script_code("model_manifest.py"),
        base_model={key: config["base_model"][key] for key in ("name", "distance", "mask")},
        annotation=config["annotation"],
        base_models=manifest_base_models(),
    log:
        "logs/models/{experiment}.manifest.log",
    conda:
        "../envs/train.yaml"
    script:
        "../scripts/model_manifest.py"


# predict loads every model by name (registry), so its digest covers all model modules
ALL_MODEL_MODULES = [model_module(m) for m in registry.MODELS if registry.MODELS[m].builder]


rule predict_vcf:
    input:
        vcf=lambda wildcards: config["predict"][wildcards.name]["vcf"],
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
        annotation=annotation_inputs(),
        weights=predict_weights(),
        models=lambda wildcards: [f for e in predict_experiments(wildcards) for f in model_folder_files(e)],
    output:
        vcf="results/predict/{name}.vcf.gz",
        tsv="results/predict/{name}.tsv",
    params:
        code=script_code("predict_vcf.py", *ALL_MODEL_MODULES),
        input_sha256=lambda wildcards: file_digest(config["predict"][wildcards.name]["vcf"]),
        model_dirs=lambda wildcards: model_folders(predict_experiments(wildcards)),
        annotation=config["annotation"],
        openspliceai_dir=predict_weight_folders()["openspliceai_dir"],
        pangolin_dir=predict_weight_folders()["pangolin_dir"],
        batch_size=config["base_model"]["batch_size"],
        device=config["base_model"]["device"],
    log:
        "logs/predict/{name}.log",
    benchmark:
        "benchmarks/predict/{name}.tsv"
    threads: config["base_model"]["threads"]
    resources:
        gpu=gpu_request(config["base_model"]["device"]),
        mem_mb=8000,
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/predict_vcf.py"


rule ingest_external:
    input:
        table=lambda wildcards: config["external_test"][wildcards.name]["path"],
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
    output:
        vcf="results/external/{name}/ingested.vcf.gz",
        rejected="results/external/{name}/ingest_rejected.tsv",
    params:
        code=script_code("ingest_variants.py"),
        input_sha256=lambda wildcards: file_digest(config["external_test"][wildcards.name]["path"]),
        source=lambda wildcards: external_spec(wildcards.name)["source"],
        label_field=lambda wildcards: external_spec(wildcards.name)["label_field"],
        coordinate_column=lambda wildcards: external_spec(wildcards.name)["coordinate_column"],
        label_map=lambda wildcards: external_spec(wildcards.name)["label_map"],
    log:
        "logs/external/{name}/ingest.log",
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/ingest_variants.py"


rule normalize_external:
    input:
        vcf="results/external/{name}/ingested.vcf.gz",
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
        ingest_rejected="results/external/{name}/ingest_rejected.tsv",
        training_variants="results/variants/variants.parquet",
        annotation=annotation_inputs(),
    output:
        vcf="results/external/{name}/normalized.vcf.gz",
        table="results/external/{name}/variants.parquet",
        rejected="results/external/{name}/rejected.tsv",
        summary="results/external/{name}/summary.json",
        in_training="results/external/{name}/in_training.tsv",
    params:
        code=script_code("normalize_external.py"),
        annotation=config["annotation"],
        max_ref_mismatch_fraction=config["variants"]["max_ref_mismatch_fraction"],
    log:
        "logs/external/{name}/normalize.log",
    resources:
        mem_mb=4000,
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/normalize_external.py"


rule predict_external:
    input:
        variants="results/external/{name}/variants.parquet",
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
        annotation=annotation_inputs(),
        weights=predict_weights(),
        models=[f for e in predictable_experiments() for f in model_folder_files(e)],
    output:
        scores="results/external/{name}/scores.parquet",
        predictions=expand(
            "results/external/{{name}}/{experiment}/predictions.parquet", experiment=predictable_experiments()
        ),
    params:
        code=script_code("predict_external.py", *ALL_MODEL_MODULES),
        model_dirs=model_folders(predictable_experiments()),
        annotation=config["annotation"],
        openspliceai_dir=predict_weight_folders()["openspliceai_dir"],
        pangolin_dir=predict_weight_folders()["pangolin_dir"],
        batch_size=config["base_model"]["batch_size"],
        device=config["base_model"]["device"],
    log:
        "logs/external/{name}/predict.log",
    benchmark:
        "benchmarks/external/{name}/predict.tsv"
    threads: config["base_model"]["threads"]
    resources:
        gpu=gpu_request(config["base_model"]["device"]),
        mem_mb=8000,
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/predict_external.py"


# spliceai_calibrated and the ensembles: the mean of their members' P_SA, as on the main test split
rule combine_external:
    input:
        members=lambda wildcards: [
            f"results/external/{wildcards.name}/{m}/predictions.parquet"
            for m in combined_members(wildcards.experiment)
        ],
    output:
        predictions="results/external/{name}/{experiment}/predictions.parquet",
    wildcard_constraints:
        name=name_pattern(list(config.get("external_test", {}))),
        experiment=name_pattern(external_combined_rows()),
    params:
        code=script_code("combine_external.py"),
        members=lambda wildcards: combined_members(wildcards.experiment),
    log:
        "logs/external/{name}/{experiment}.combine.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/combine_external.py"


# every variant of the set, and its gene-disjoint subset (variants.parquet's gene_disjoint)
rule evaluate_external:
    input:
        predictions="results/external/{name}/{experiment}/predictions.parquet",  # holds p_sa
        baseline=f"results/external/{{name}}/{BASELINE}/predictions.parquet",
        training="results/models/{experiment}/training.json",
        test_targets="results/external/{name}/variants.parquet",
    output:
        metrics="results/external/{name}/{experiment}/metrics.json",
        breakdown="results/external/{name}/{experiment}/breakdown.tsv",
        disjoint_metrics="results/external/{name}/gene_disjoint/{experiment}/metrics.json",
        disjoint_breakdown="results/external/{name}/gene_disjoint/{experiment}/breakdown.tsv",
    wildcard_constraints:
        name=name_pattern(list(config.get("external_test", {}))),
        experiment=name_pattern(external_table_rows()[0]),
    params:
        code=script_code("evaluate_external.py"),
        experiment=lambda wildcards: wildcards.experiment,
        n_bootstrap=config["evaluation"]["n_bootstrap"],
        seed=config["evaluation"]["seed"],
        cutoffs=config["evaluation"]["cutoffs"],
        detection_threshold=config["evaluation"]["detection_threshold"],
    log:
        "logs/external/{name}/{experiment}.eval.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/evaluate_external.py"


rule external_summary:
    input:
        metrics=expand("results/external/{{name}}/{experiment}/metrics.json", experiment=external_table_rows()[0]),
        disjoint_metrics=expand(
            "results/external/{{name}}/gene_disjoint/{experiment}/metrics.json", experiment=external_table_rows()[0]
        ),
        trainings=expand("results/models/{experiment}/training.json", experiment=external_table_rows()[0]),
        summary="results/external/{name}/summary.json",
    output:
        tsv="results/external/{name}/summary.tsv",
        disjoint_tsv="results/external/{name}/gene_disjoint.tsv",
        html=report(
            "results/external/{name}/summary.html",
            caption="../report/external.rst",
            category="4. External validation",
            subcategory="{name}",
            labels={"table": "external test set {name}"},
        ),
    params:
        code=script_code("external_summary.py"),
        experiments=external_table_rows()[0],
        left_out=external_table_rows()[1],
        source=lambda wildcards: external_spec(wildcards.name).get("description")
        or f"{external_spec(wildcards.name)['source']}: {external_spec(wildcards.name)['path']}",
    log:
        "logs/external/{name}/summary.log",
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/external_summary.py"
