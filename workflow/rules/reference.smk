# Reference genome: optional download (when config sets reference.url) and indexing.


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
        index=reference_files()[1:],
    params:
        code=script_code("index_reference.py"),
    log:
        "logs/reference/index.log",
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/index_reference.py"
