"""validsplice: splice-variant effect prediction trained on validated variants.

The library behind the Snakemake workflow's thin rule scripts. Each module holds one
stage; see docs/DESIGN.md for the data contracts between them.
"""

__version__ = "0.1.0"
