# Base-model delta scoring: scatter over shards, then gather. The primary (config base_model: SpliceAI or
# OpenSpliceAI) under results/scores/; each additional one (config base_models) under results/scores/{name}/,
# by its own rules, so adding or changing one reruns its scoring and what reads it, never the primary's.


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
        gpu=gpu_request(config["base_model"]["device"]),
        mem_mb=8000,
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/score_shard.py"


if "openspliceai" in EXTRA_BASE_MODELS:

    # OpenSpliceAI as an additional base model: the primary's scoring with its own settings
    rule score_shard_openspliceai:
        input:
            table="results/variants/variants.parquet",
            fasta=reference_files()[0],
            fasta_index=reference_files()[1:],
            weights=base_model_weights("openspliceai"),
        output:
            scores="results/scores/openspliceai/shards/{shard}.parquet",
            profiles="results/scores/openspliceai/shards/{shard}.profiles.npy",
        params:
            shard=lambda wildcards: int(wildcards.shard),
            n_shards=EXTRA_BASE_MODELS["openspliceai"]["shards"],
            base_model="openspliceai",
            openspliceai_dir=EXTRA_BASE_MODELS["openspliceai"]["openspliceai_dir"],
            annotation=config["annotation"],
            distance=EXTRA_BASE_MODELS["openspliceai"]["distance"],
            mask=EXTRA_BASE_MODELS["openspliceai"]["mask"],
            extended=EXTRA_BASE_MODELS["openspliceai"]["extended"],
            batch_size=EXTRA_BASE_MODELS["openspliceai"]["batch_size"],
            device=EXTRA_BASE_MODELS["openspliceai"]["device"],
            code=script_code("score_shard.py"),
        log:
            "logs/scores/openspliceai/shard_{shard}.log",
        message:
            "Scoring OpenSpliceAI shard {wildcards.shard} (progress and ETA: {log})"
        benchmark:
            "benchmarks/scores/openspliceai/shard_{shard}.tsv"
        threads: EXTRA_BASE_MODELS["openspliceai"]["threads"]
        resources:
            gpu=gpu_request(EXTRA_BASE_MODELS["openspliceai"]["device"]),
            mem_mb=8000,
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/score_shard.py"


if "pangolin" in EXTRA_BASE_MODELS:

    # Pangolin (additional only): the original command's scores of each variant's genes, and their gain / loss
    # profiles (what the paired classifier reads; align_base_model_profiles)
    rule score_shard_pangolin:
        input:
            table="results/variants/variants.parquet",
            fasta=reference_files()[0],
            fasta_index=reference_files()[1:],
            annotation=annotation_inputs(),
            weights=base_model_weights("pangolin"),
        output:
            scores="results/scores/pangolin/shards/{shard}.parquet",
            profiles="results/scores/pangolin/shards/{shard}.profiles.npy",
        params:
            shard=lambda wildcards: int(wildcards.shard),
            n_shards=EXTRA_BASE_MODELS["pangolin"]["shards"],
            pangolin_dir=EXTRA_BASE_MODELS["pangolin"]["pangolin_dir"],
            annotation=config["annotation"],
            distance=EXTRA_BASE_MODELS["pangolin"]["distance"],
            mask=EXTRA_BASE_MODELS["pangolin"]["mask"],
            batch_size=EXTRA_BASE_MODELS["pangolin"]["batch_size"],
            device=EXTRA_BASE_MODELS["pangolin"]["device"],
            code=script_code("score_shard_pangolin.py"),
        log:
            "logs/scores/pangolin/shard_{shard}.log",
        message:
            "Scoring Pangolin shard {wildcards.shard} (progress and ETA: {log})"
        benchmark:
            "benchmarks/scores/pangolin/shard_{shard}.tsv"
        threads: EXTRA_BASE_MODELS["pangolin"]["threads"]
        resources:
            gpu=gpu_request(EXTRA_BASE_MODELS["pangolin"]["device"]),
            mem_mb=8000,
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/score_shard_pangolin.py"


if embeddings_needed():

    # The primary base model's embeddings of every variant (issue 19; validsplice.scoring.embeddings), cached
    # beside its scores; only when an experiment reads them (registry.experiment_reads_embeddings). One job:
    # one network over ref + alt, a fifth of a scoring pass.
    rule base_model_embeddings:
        input:
            table="results/variants/variants.parquet",
            fasta=reference_files()[0],
            fasta_index=reference_files()[1:],
            weights=openspliceai_checkpoints(),
        output:
            embeddings=EMBEDDINGS,
        params:
            base_model=config["base_model"]["name"],
            openspliceai_dir=config["base_model"]["openspliceai_dir"],
            flank=config["base_model"]["distance"],
            batch_size=config["base_model"]["batch_size"],
            device=config["base_model"]["device"],
            code=script_code("base_model_embeddings.py"),
        log:
            "logs/scores/embeddings.log",
        message:
            "Computing the base model's embeddings (progress: {log})"
        benchmark:
            "benchmarks/scores/embeddings.tsv"
        threads: config["base_model"]["threads"]
        resources:
            gpu=gpu_request(config["base_model"]["device"]),
            mem_mb=8000,
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/base_model_embeddings.py"


if exon_sites_needed():

    # Each base model's exon-site scores (issue 19; validsplice.scoring.exon_sites): its probability at the
    # nearest exon's acceptor and donor, ref and alt; only when an experiment reads them (exon_site_head). One job
    # per base model, with the primary's device, threads and batch size: one pass of its networks per variant.
    rule base_model_exon_sites:
        input:
            table="results/variants/variants.parquet",
            fasta=reference_files()[0],
            fasta_index=reference_files()[1:],
            annotation=annotation_inputs(),
            weights=lambda wildcards: base_model_weights(wildcards.base_model),
        output:
            scores=EXON_SITES,
        wildcard_constraints:
            base_model="|".join(base_model_names()),
        params:
            model_dir=lambda wildcards: base_model_dir(wildcards.base_model),
            annotation=config["annotation"],
            batch_size=config["base_model"]["batch_size"],
            device=config["base_model"]["device"],
            code=script_code("base_model_exon_sites.py"),
        log:
            "logs/scores/exon_sites/{base_model}.log",
        message:
            "Scoring the nearest exons' splice sites with {wildcards.base_model} (progress: {log})"
        benchmark:
            "benchmarks/scores/exon_sites/{base_model}.tsv"
        threads: config["base_model"]["threads"]
        resources:
            gpu=gpu_request(config["base_model"]["device"]),
            mem_mb=8000,
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/base_model_exon_sites.py"


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


rule gather_base_model_scores:
    input:
        scores=lambda wildcards: expand(
            "results/scores/{{base_model}}/shards/{shard}.parquet", shard=shard_ids(wildcards.base_model)
        ),
        profiles=lambda wildcards: expand(
            "results/scores/{{base_model}}/shards/{shard}.profiles.npy", shard=shard_ids(wildcards.base_model)
        ),
    output:
        scores="results/scores/{base_model}/scores.parquet",
        profiles="results/scores/{base_model}/delta_profiles.npy",
        summary="results/scores/{base_model}/summary.json",
    wildcard_constraints:
        base_model=name_pattern(list(EXTRA_BASE_MODELS)),
    params:
        code=script_code("gather_scores.py"),
    log:
        "logs/scores/{base_model}/gather.log",
    benchmark:
        "benchmarks/scores/{base_model}/gather.tsv"
    conda:
        "../envs/base_model.yaml"
    script:
        "../scripts/gather_scores.py"


if (openspliceai_settings(config) or ({},))[0].get("openspliceai_urls"):

    # Only when the config lists the URLs: the weights are never fetched implicitly (CI, tests).
    rule download_openspliceai:
        output:
            checkpoints=openspliceai_download_targets(),
        params:
            urls=openspliceai_settings(config)[0]["openspliceai_urls"],
            folder=openspliceai_settings(config)[0]["openspliceai_dir"],
            code=script_code("download_openspliceai.py"),
        log:
            "logs/openspliceai/download.log",
        conda:
            "../envs/base_model.yaml"
        script:
            "../scripts/download_openspliceai.py"
