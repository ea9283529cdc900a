# The comparison report: one row per experiment, plots, data-preparation summaries.


rule make_report:
    input:
        metrics=expand("results/eval/{experiment}/metrics.json", experiment=table_rows()),
        predictions=expand("results/models/{experiment}/predictions.parquet", experiment=table_rows()),
        histories=expand("results/models/{experiment}/history.tsv", experiment=table_rows()),
        trainings=expand("results/models/{experiment}/training.json", experiment=table_rows()),
        calibrated=expand("results/models/{experiment}/calibrated.parquet", experiment=calibrated_rows()),
        variant_summary="results/variants/summary.json",
        score_summary="results/scores/summary.json",
        target_summary="results/targets/summary.json",
        rejected="results/variants/rejected.tsv",
        variants="results/variants/variants.parquet",
        scores="results/scores/scores.parquet",
    output:
        tsv="results/report/summary.tsv",
        md="results/report/summary.md",
        txt="results/report/summary.txt",
        html=report(
            "results/report/summary.html",
            caption="../report/summary.rst",
            category="1. Results summary",
            labels={"table": "results summary"},
        ),
        cutoffs=report(
            "results/report/cutoffs.html",
            caption="../report/cutoffs.rst",
            category="1. Results summary",
            labels={"table": "cut-off metrics"},
        ),
        breakdown=report(
            "results/report/breakdown.html",
            caption="../report/breakdown.rst",
            category="1. Results summary",
            labels={"table": "breakdowns"},
        ),
        breakdown_tsv="results/report/breakdown.tsv",
        predictions_tsv=report(
            "results/report/predictions.tsv",
            caption="../report/predictions.rst",
            category="1. Results summary",
            labels={"table": "per-variant predictions (TSV)"},
        ),
        data_summary=report(
            "results/report/data_summary.html",
            caption="../report/data_summary.rst",
            category="3. Data preparation",
            labels={"table": "data summary"},
        ),
        roc=report(
            "results/report/roc.svg", caption="../report/roc.rst", category="2. Plots", labels={"plot": "ROC curves"}
        ),
        pr=report(
            "results/report/pr.svg", caption="../report/pr.rst", category="2. Plots", labels={"plot": "PR curves"}
        ),
        scatter=report(
            "results/report/scatter.svg",
            caption="../report/scatter.rst",
            category="2. Plots",
            labels={"plot": "predicted vs target"},
        ),
        training_curves=report(
            "results/report/training_curves.svg",
            caption="../report/training_curves.rst",
            category="2. Plots",
            labels={"plot": "training curves"},
        ),
        distributions=report(
            "results/report/score_distributions.svg",
            caption="../report/score_distributions.rst",
            category="2. Plots",
            labels={"plot": "score distributions"},
        ),
        reliability=report(
            "results/report/reliability.svg",
            caption="../report/reliability.rst",
            category="2. Plots",
            labels={"plot": "reliability diagram"},
        ),
    params:
        experiments=table_rows(),
        calibrated_experiments=calibrated_rows(),
        data_description=config["report"]["data_description"],
        n_bootstrap=config["evaluation"]["n_bootstrap"],
        seed=config["evaluation"]["seed"],
        split_description=describe_split(config["split"]),
        pooling=describe_pooling(config["split"]),
        code=script_code("make_report.py"),
    log:
        "logs/report/make_report.log",
    benchmark:
        "benchmarks/report/make_report.tsv"
    message:
        "Writing the report tables and figures to results/report/ (log: {log})"
    conda:
        "../envs/evaluate.yaml"
    script:
        "../scripts/make_report.py"
