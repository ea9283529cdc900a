"""The variant stages of the workflow (rules in variants.smk and windows.smk): normalization,
gene choice, the grouped train/validation/test split, and the sequence windows.

May import: ``common``, ``config``, ``io``.
"""
