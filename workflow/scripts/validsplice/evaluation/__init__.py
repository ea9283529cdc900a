"""Evaluation of each experiment's test predictions (evaluate.smk): metric functions, bootstrap
intervals and tests, and the per-experiment metrics.json / breakdown.tsv.

May import: ``common``, ``config``, ``io``, ``variants``, ``scoring``, ``models``, ``training``.
"""
