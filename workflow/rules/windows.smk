# Model windows: ref and alt sequences centred on each variant, on the gene's strand.


rule extract_windows:
    input:
        table="results/variants/variants.parquet",
        fasta=reference_fasta(),
        fasta_index=reference_files()[1:],
        code=library_files("io", "annotation.py", "windows.py"),
    output:
        windows="results/windows/windows.npz",
    params:
        length=config["windows"]["length"],
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
