"""The comparison report (report.smk): the results-summary table, the report pages and figures.

May import: every stage below it: ``common`` ... ``evaluation``.
"""
