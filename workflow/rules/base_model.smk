# Base-model (SpliceAI / OpenSpliceAI) delta scoring: scatter over shards, then gather.


rule score_shard:
    input:
        table="results/variants/variants.parquet",
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
        weights=openspliceai_checkpoints(),
    output:
        scores="results/scores/shards/{shard}.parquet",
        profiles="results/scores/shards/{shard}.profiles.npy",
    params:
        shard=lambda wildcards: int(wildcards.shard),
        n_shards=config["base_model"]["shards"],
        base_model=config["base_model"]["name"],
        openspliceai_dir=config["base_model"]["openspliceai_dir"],
        annotation=config["annotation"],
        distance=config["base_model"]["distance"],
        mask=config["base_model"]["mask"],
        extended=config["base_model"]["extended"],
        batch_size=config["base_model"]["batch_size"],
        device=config["base_model"]["device"],
        code=script_code("score_shard.py"),
    log:
        "logs/scores/shard_{shard}.log",
    message:
        "Scoring base-model shard {wildcards.shard} (progress and ETA: {log})"
    benchmark:
        "benchmarks/scores/shard_{shard}.tsv"
    threads: config["base_model"]["threads"]
    resources:
        gpu=1,
        mem_mb=8000,
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/score_shard.py"


rule gather_scores:
    input:
        scores=expand("results/scores/shards/{shard}.parquet", shard=shard_ids()),
        profiles=expand("results/scores/shards/{shard}.profiles.npy", shard=shard_ids()),
    output:
        scores="results/scores/scores.parquet",
        profiles="results/scores/delta_profiles.npy",
        summary="results/scores/summary.json",
    params:
        code=script_code("gather_scores.py"),
    log:
        "logs/scores/gather.log",
    benchmark:
        "benchmarks/scores/gather.tsv"
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/gather_scores.py"


if config["base_model"]["name"] == "openspliceai" and config["base_model"]["openspliceai_urls"]:

    # Only when the config lists the URLs: the weights are never fetched implicitly (CI, tests).
    rule download_openspliceai:
        output:
            checkpoints=openspliceai_download_targets(),
        params:
            urls=config["base_model"]["openspliceai_urls"],
            folder=config["base_model"]["openspliceai_dir"],
            code=script_code("download_openspliceai.py"),
        log:
            "logs/openspliceai/download.log",
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/download_openspliceai.py"
