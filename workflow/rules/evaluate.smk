# Evaluation of every experiment on the test split, paired against the raw SpliceAI baseline.


rule evaluate_model:
    input:
        predictions="results/models/{experiment}/predictions.parquet",
        baseline=f"results/models/{BASELINE}/predictions.parquet",
        training="results/models/{experiment}/training.json",
        test_targets="results/targets/test.parquet",
        variants="results/variants/variants.parquet",
        calibrated=calibrated_of,
    output:
        metrics="results/eval/{experiment}/metrics.json",
        breakdown="results/eval/{experiment}/breakdown.tsv",
    params:
        experiment=lambda wildcards: wildcards.experiment,
        n_bootstrap=config["evaluation"]["n_bootstrap"],
        seed=config["evaluation"]["seed"],
        cutoffs=config["evaluation"]["cutoffs"],
        detection_threshold=config["evaluation"]["detection_threshold"],
        code=script_code("evaluate_model.py"),
    log:
        "logs/eval/{experiment}.log",
    message:
        "Evaluating {wildcards.experiment} on the test split, cluster-bootstrap intervals over gene groups (log: {log})"
    benchmark:
        "benchmarks/eval/{experiment}.tsv"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/evaluate_model.py"
