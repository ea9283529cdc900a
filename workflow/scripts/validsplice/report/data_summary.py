"""The data preparation page (``data_summary.html``): the summary JSONs of the variant, scoring and
target rules as readable tables, the class balance, and the rejected rows by reason category."""
from __future__ import annotations

import html
import json
import math

import pandas as pd

from ..common import reasons
from .table_formats import html_page, html_table

# rejected.tsv stages whose rows were kept (normalized or merged), not rejected (docs/DESIGN.md)
KEPT_STAGES = {"normalize", "deduplicate"}
# Summary keys whose plain "key with spaces" reading is not clear enough
KEY_LABELS = {
    "input_rows": "input rows", "n_profiles": "rows in profiles.npy", "per_split": "per split",
    "per_class": "per class", "in_gene": "in an annotated gene", "no_gene": "in no annotated gene",
    "near_contig_end": "within 5 kb of a contig end", "ids_made_unique": "ids made unique",
    "normalized_changed": "changed by normalization", "target_ranges": "target value ranges",
    "per_split_before_balancing": "per split before balancing",
    "genes_in_train_and_val": "genes in both train and val (should be 0)",
}


def readable_key(key) -> str:
    """A summary JSON key as a label: known wording, else underscores as spaces."""
    key = str(key)
    return KEY_LABELS.get(key, key.replace("_", " "))


def readable_value(value) -> str:
    """Integers with thousands separators, floats to 4 significant digits, lists comma-joined."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return "—" if math.isnan(value) else f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(readable_value(v) for v in value)
    return str(value)


def _is_scalar(x) -> bool:
    return x is None or isinstance(x, (str, int, float, bool))


def render_json_html(obj, depth: int = 3) -> str:
    """Readable HTML for a summary JSON: scalar dicts → key/value tables, dict-of-dicts → matrix."""
    if _is_scalar(obj):
        return html.escape(readable_value(obj))
    if isinstance(obj, list):
        if all(_is_scalar(x) for x in obj):
            return html.escape(readable_value(obj))
        return f"<pre>{html.escape(json.dumps(obj, indent=1))}</pre>"
    scalars = {k: v for k, v in obj.items() if _is_scalar(v) or (isinstance(v, list) and all(map(_is_scalar, v)))}
    nested = {k: v for k, v in obj.items() if k not in scalars}
    parts = []
    if scalars:
        cells = [[(readable_key(k), False), (readable_value(v), False)] for k, v in scalars.items()]
        parts.append(html_table(["", "value"], cells))
    for key, value in nested.items():
        tag = f"h{min(6, 6 - depth + 3)}"
        title = f"<{tag}>{html.escape(readable_key(key))}</{tag}>"
        if isinstance(value, dict) and value and all(isinstance(v, dict) and all(map(_is_scalar, v.values()))
                                                     for v in value.values()):
            cols = list(dict.fromkeys(c for v in value.values() for c in v))
            rows = [[(readable_key(k), False)] + [(readable_value(v.get(c, "")), False) for c in cols]
                    for k, v in value.items()]
            parts.append(title + html_table([""] + [readable_key(c) for c in cols], rows))
        elif isinstance(value, dict) and not value:
            parts.append(f"{title}<p>none</p>")
        else:
            parts.append(title + render_json_html(value, max(1, depth - 1)))
    return "\n".join(parts)


def _per_class_split_table(per_split: dict) -> str:
    """Variant counts as class × split with totals."""
    df = pd.DataFrame(per_split).fillna(0).astype(int)
    df["total"] = df.sum(axis=1)
    df.loc["total"] = df.sum(axis=0)
    rows = [[(idx, False)] + [(f"{int(v):,}", False) for v in r] for idx, r in df.iterrows()]
    return html_table(["class"] + list(df.columns), rows)


def class_balance_sentence(per_split: dict) -> str:
    """"train: 55 Splice-altering : 55 Normal (50% Splice-altering)" for each split that was sampled."""
    parts = []
    for split, counts in per_split.items():
        sa, normal = int(counts.get("Splice-altering", 0)), int(counts.get("Normal", 0))
        if sa + normal:
            parts.append(f"{split}: {sa:,} Splice-altering : {normal:,} Normal "
                         f"({100 * sa / (sa + normal):.0f}% Splice-altering)")
    return "; ".join(parts)


def rejects_by_category_html(rejected: pd.DataFrame) -> str:
    """Rejected and changed rows counted by reason category, with a few raw reasons as examples."""
    counts = reasons.count_by_category(rejected, KEPT_STAGES)
    if not len(counts):
        return "<p>No input rows were rejected or changed.</p>"
    rows = [[(r.outcome, False), (r.stage, False), (r.category, False), (f"{r.n:,}", False),
             ("; ".join(r.examples), False)] for r in counts.itertuples(index=False)]
    return (f"<p>{len(rejected):,} rows in <code>results/variants/rejected.tsv</code>, counted by reason category "
            f"(examples: the first {reasons.EXAMPLES_PER_CATEGORY} of each; every row is in the file).</p>"
            + html_table(["outcome", "stage", "reason category", "rows", "examples"], rows))


def data_summary_html(variant_summary: dict, score_summary: dict, target_summary: dict,
                      rejected: pd.DataFrame) -> str:
    parts = []
    if variant_summary.get("per_split"):
        parts.append("<h3>Variants per class and split</h3>" + _per_class_split_table(variant_summary["per_split"]))
    sampled = target_summary.get("per_split")
    if sampled:
        parts.append("<h3>Class balance after sampling (the rows models train and validate on)</h3><p>"
                     + html.escape(class_balance_sentence(sampled)) + ". Test is never sampled: all its variants "
                     "are evaluated.</p>")
    rows = variant_summary.get("rows")
    if rows:  # normalize's row accounting (docs/DESIGN.md, variant table)
        parts.append(
            "<h3>Row accounting</h3><p>"
            f"{rows['input']:,} input rows + {rows['added_by_splitting']:,} rows added by splitting multiallelic "
            f"records = {rows['output']:,} variants + {rows['rejected']:,} rejected + "
            f"{rows['merged_as_duplicates']:,} merged duplicates</p>")
    unscored = target_summary.get("base_model_unscored")
    if unscored:
        parts.append(
            "<h3>Variants without a base-model score for their gene</h3><p>Excluded from train and val "
            "whatever their class; kept in test with <code>base_model_scored</code> False.</p>"
            + _per_class_split_table(unscored))
    parts.append("<h3>Rejected and changed input rows</h3>" + rejects_by_category_html(rejected))
    parts.append("<h3>Variant preparation</h3>" + render_json_html(
        {k: v for k, v in variant_summary.items() if k not in ("per_split", "rejected")}))
    parts.append("<h3>Base-model scoring</h3>" + render_json_html(score_summary))
    parts.append("<h3>Targets</h3>" + render_json_html(target_summary))
    return html_page("Data preparation summary", "\n".join(parts))
