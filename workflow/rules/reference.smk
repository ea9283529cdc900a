# Reference genome: optional download (when config sets reference.url), then the workflow's own
# indexed reference under results/reference/. Nothing is written beside the user's FASTA: on a
# cluster it sits in a shared, read-only folder that many jobs read at once.


if config["reference"].get("url"):

    rule download_reference:
        output:
            fasta=reference_fasta(),
        params:
            url=config["reference"]["url"],
            code=script_code("download_reference.py"),
        log:
            "logs/reference/download.log",
        conda:
            "../envs/variants.yaml"
        script:
            "../scripts/download_reference.py"


rule index_reference:
    input:
        fasta=reference_fasta(),
    output:
        # a link to the user's FASTA (or a bgzipped copy of a plain-gzip one) and its index
        fasta=reference_files()[0],
        index=reference_files()[1:],
    params:
        code=script_code("index_reference.py"),
    log:
        "logs/reference/index.log",
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/index_reference.py"
