# Model windows: ref and alt sequences centred on each variant, on the gene's strand.


rule extract_windows:
    input:
        table="results/variants/variants.parquet",
        fasta=reference_files()[0],
        fasta_index=reference_files()[1:],
    output:
        windows="results/windows/windows.npz",
    params:
        length=config["windows"]["length"],
        code=script_code("extract_windows.py"),
    log:
        "logs/windows/extract.log",
    benchmark:
        "benchmarks/windows/extract.tsv"
    threads: 1
    resources:
        mem_mb=8000,
    conda:
        "../envs/variants.yaml"
    script:
        "../scripts/extract_windows.py"
