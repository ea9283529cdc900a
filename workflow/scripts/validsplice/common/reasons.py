"""Reason categories of rejected and changed input rows (``rejected.tsv``), defined once.

A reason string names the row's own coordinates or alleles (``REF mismatch: FASTA has G``,
``duplicate of source row 812: same class (Normal)``), so grouping by the raw string gives one
group per row. The report counts rows by category instead and shows a few raw reasons as
examples. Categories are matched at the start of the reason; a reason no pattern knows keeps
its text before the first colon with numbers replaced by ``N`` (so it still groups).
"""
from __future__ import annotations

import re

import pandas as pd

# (category shown in the report, regular expression matched at the start of the reason)
REASON_CATEGORIES = (
    ("chromosome not in the FASTA", r"chromosome not in FASTA"),
    ("position outside the contig", r"position outside contig"),
    ("missing coordinate", r"missing coordinate"),
    ("malformed coordinate", r"malformed coordinate"),
    ("empty allele", r"empty allele"),
    ("symbolic allele", r"symbolic allele"),
    ("allele with characters other than A, C, G, T, N", r"invalid allele"),
    ("not a variant (ALT equals REF)", r"not a variant"),
    ("ALT equals REF after splitting a multiallelic record", r"ALT equals REF after splitting"),
    ("REF does not match the FASTA", r"REF mismatch"),
    ("missing class label", r"missing label"),
    ("unknown class label", r"unknown classification"),
    ("excluded by the label map (variants.label_map)", r"excluded by variants\.label_map"),
    ("left-aligned or trimmed by normalization", r"changed by normalization"),
    ("duplicate merged (same class)", r"duplicate of source row \S+: same class"),
    ("duplicate merged (disagreeing classes, now Conflicting)", r"duplicate of source row \S+: disagreeing"),
)
_COMPILED = tuple((name, re.compile(pattern, re.IGNORECASE)) for name, pattern in REASON_CATEGORIES)
EXAMPLES_PER_CATEGORY = 3


def reason_category(reason: str) -> str:
    """The category of one reason string (see REASON_CATEGORIES)."""
    text = str(reason).strip()
    for name, pattern in _COMPILED:
        if pattern.match(text):
            return name
    prefix = text.split(":", 1)[0].strip() or "no reason given"
    return re.sub(r"\d+", "N", prefix)


def count_by_category(rejected: pd.DataFrame, kept_stages: set[str]) -> pd.DataFrame:
    """Rows of rejected.tsv counted by (outcome, stage, category), with the first raw reasons as examples.

    ``kept_stages``: stages whose rows were kept (changed or merged), not rejected.
    Columns: outcome, stage, category, n, examples (list of up to EXAMPLES_PER_CATEGORY strings,
    each "source row: reason").
    """
    columns = ["outcome", "stage", "category", "n", "examples"]
    if not len(rejected):
        return pd.DataFrame(columns=columns)
    stage = rejected["stage"] if "stage" in rejected else pd.Series("", index=rejected.index)
    reason = rejected["reason"] if "reason" in rejected else pd.Series("", index=rejected.index)
    row = rejected["source_row"] if "source_row" in rejected else pd.Series("?", index=rejected.index)
    frame = pd.DataFrame({
        "outcome": stage.map(lambda s: "kept (changed or merged)" if s in kept_stages else "rejected"),
        "stage": stage, "category": reason.map(reason_category),
        "example": "row " + row.astype(str) + ": " + reason.astype(str),
    })
    groups = frame.groupby(["outcome", "stage", "category"], sort=False)
    counts = groups.size().rename("n").reset_index()
    examples = groups["example"].agg(lambda s: list(s.head(EXAMPLES_PER_CATEGORY))).rename("examples").reset_index()
    out = counts.merge(examples, on=["outcome", "stage", "category"])
    return out.sort_values(["outcome", "n"], ascending=[False, False], kind="stable").reset_index(drop=True)[columns]
