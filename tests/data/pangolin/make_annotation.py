"""Write the GTF that the original ``pangolin`` parity runs use (``grch38_chr2_fragment.gtf``).

Source: the SpliceAI GRCh38 gene table (``spliceai/annotations/grch38.txt`` in PyPI ``spliceai``
1.3.1), rows on contig ``2`` that start inside the demo fragment chr2:1-2,333,275. Each table row
becomes one gene, one transcript (tagged ``Ensembl_canonical`` so that Pangolin's
``scripts/create_db.py`` keeps it with its default ``--filter``) and its exons, on contig ``chr2``
(the FASTA's name: Pangolin queries the database with the FASTA's contig name). The table's starts
are 0-based and its ends 1-based, so GTF start = table start + 1. ``gene_id`` is the gene name, so
Pangolin writes the same gene names as ``score -A`` with the table.

Usage: python make_annotation.py GRCH38_TXT > grch38_chr2_fragment.gtf
"""
import sys

FRAGMENT_END = 2_333_275


def main(table: str) -> None:
    out = sys.stdout
    with open(table) as fh:
        for line in fh:
            if line.startswith("#"):
                continue
            name, chrom, strand, tx_start, tx_end, starts, ends = line.rstrip("\n").split("\t")
            if chrom != "2" or int(tx_start) >= FRAGMENT_END:
                continue
            exon_starts = [int(x) + 1 for x in starts.split(",") if x]
            exon_ends = [int(x) for x in ends.split(",") if x]
            gene = f'gene_id "{name}"; gene_name "{name}"; gene_type "protein_coding";'
            tx = f'{gene} transcript_id "{name}.1"; transcript_type "protein_coding"; tag "Ensembl_canonical";'
            out.write(f"chr2\tSpliceAI_grch38\tgene\t{int(tx_start) + 1}\t{tx_end}\t.\t{strand}\t.\t{gene}\n")
            out.write(f"chr2\tSpliceAI_grch38\ttranscript\t{int(tx_start) + 1}\t{tx_end}\t.\t{strand}\t.\t{tx}\n")
            order = range(len(exon_starts)) if strand == "+" else range(len(exon_starts) - 1, -1, -1)
            for n, i in enumerate(order, start=1):
                out.write(f"chr2\tSpliceAI_grch38\texon\t{exon_starts[i]}\t{exon_ends[i]}\t.\t{strand}\t.\t"
                          f'{tx} exon_number {n};\n')


if __name__ == "__main__":
    main(sys.argv[1])
