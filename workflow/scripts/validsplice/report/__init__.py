"""The comparison report (report.smk): the results-summary table, the report pages and figures.

``summary`` is the rule entry (``make_report``); the table is built in ``results_table``, put into words in
``table_text`` and rendered in ``table_formats``; ``data_summary`` and ``detail_pages`` write the other pages,
``tables`` computes the cut-off, breakdown and per-variant tables, ``plots`` draws the figures.

May import: every stage below it: ``common`` ... ``evaluation``.
"""
