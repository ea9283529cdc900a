# Variant ingestion (SpliceVarDB export or labelled VCF) and normalization.


rule ingest_variants:
    input:
        table=config["variants"]["path"],
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
    output:
        vcf="results/variants/ingested.vcf.gz",
        rejected="results/variants/ingest_rejected.tsv",
    params:
        # the content, not only the path and timestamp: an edited input reruns everything downstream
        input_sha256=variants_digest(),
        source=config["variants"]["source"],
        label_field=config["variants"]["label_field"],
        label_map=config["variants"]["label_map"],
        coordinate_column=config["variants"]["coordinate_column"],
        code=script_code("ingest_variants.py"),
    log:
        "logs/variants/ingest.log",
    benchmark:
        "benchmarks/variants/ingest.tsv"
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/ingest_variants.py"


rule normalize_variants:
    input:
        vcf="results/variants/ingested.vcf.gz",
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
        ingest_rejected="results/variants/ingest_rejected.tsv",
        annotation=annotation_inputs(),
    output:
        vcf="results/variants/normalized.vcf.gz",
        table="results/variants/variants.parquet",
        rejected="results/variants/rejected.tsv",
        summary="results/variants/summary.json",
    params:
        annotation=config["annotation"],
        annotation_sha256=annotation_digest(),
        split=config["split"],
        max_ref_mismatch_fraction=config["variants"]["max_ref_mismatch_fraction"],
        code=script_code("normalize_variants.py"),
    log:
        "logs/variants/normalize.log",
    message:
        "Normalizing variants with bcftools norm, REF check, gene choice (log: {log})"
    benchmark:
        "benchmarks/variants/normalize.tsv"
    threads: 1
    resources:
        mem_mb=4000,
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/normalize_variants.py"
