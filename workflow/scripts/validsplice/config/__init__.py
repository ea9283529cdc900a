"""The parse-time core: config checks, typed settings with their one set of defaults, the model
registry, experiment and class names, and the code digests that make rules rerun. The Snakefile
imports it while parsing, so it never imports torch, scikit-learn or matplotlib.

May import: ``common``.
"""
