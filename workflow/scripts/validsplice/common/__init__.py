"""Shared building blocks used by every stage: the UserError type, file helpers, DNA codes,
reject reasons, provenance, the thin rule-script helpers and the torch device rule.

May import: the standard library and third-party packages only; no other validsplice subpackage.
"""
