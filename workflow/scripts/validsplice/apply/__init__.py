"""Applying trained experiments outside the table (apply.smk and ``validsplice predict``):
self-contained model folders, annotating any VCF, and external test sets.

May import: every stage below it: ``common`` ... ``report``.
"""
