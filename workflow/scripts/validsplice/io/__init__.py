"""Reading and writing inputs: the reference FASTA, gene annotations (SpliceAI's table format and
the GTF/GFF3 converter), SpliceVarDB exports and labelled VCFs.

May import: ``common``, ``config``.
"""
