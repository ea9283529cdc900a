"""validsplice: splice-variant effect prediction trained on validated variants.

The library behind the Snakemake workflow's thin rule scripts. Its subpackages are the stages of the
workflow, in ``STAGES`` order: a module may import its own stage and earlier ones, never a later one
(tests/test_module_hygiene.py). docs/DESIGN.md has the data contracts between them and the module map.
"""

__version__ = "0.1.0"

# The stage subpackages, lowest first (the order of the import rule and of docs/DESIGN.md's module map).
STAGES = ("common", "config", "io", "variants", "scoring", "models", "training", "evaluation", "report", "apply")
