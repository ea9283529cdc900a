"""Reading a SpliceVarDB download export into canonical variant records.

The export is tab-separated with the header
``variant_id hg19 hg38 gene hgvs method classification location doi``; every value but
``variant_id`` is double-quoted, coordinates look like ``"13-32316421-G-A"`` (1-based, no
``chr``), and ``method``/``doi`` may hold comma lists (inside the quotes, so a CSV reader
with quoting handles them). Rows that cannot become a variant are returned as rejects with a
reason instead of raising: one bad row must not stop a 50,000-row import.
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import pandas as pd

from ..common.errors import UserError
from .sniff import check_source

CLASSES = ("Splice-altering", "Normal", "Low-frequency", "Conflicting")
_CLASS_BY_LOWER = {c.lower(): c for c in CLASSES}

SPLICEVARDB_COLUMNS = ["variant_id", "hg19", "hg38", "gene", "hgvs", "method", "classification", "location", "doi"]
REQUIRED_COLUMNS = ["variant_id", "gene", "hgvs", "classification", "location"]
RECORD_COLUMNS = ["source_row", "variant_id", "chrom", "pos", "ref", "alt", "label", "gene", "hgvs", "location"]
REJECT_COLUMNS = ["source_file", "source_row", "variant_id", "chrom", "pos", "ref", "alt", "stage", "reason"]

_MISSING = {"", "-", "na", "nan", "none", "null", "."}
_BASES = re.compile(r"^[ACGTN]+$")
_ASCII_DIGITS = re.compile(r"[0-9]+")


def canonical_class(value: str) -> str | None:
    """The exact class string for ``value`` (case and surrounding spaces ignored), else None."""
    return _CLASS_BY_LOWER.get(str(value).strip().lower())


def check_alleles(ref: str, alt: str) -> str | None:
    """Reason why REF/ALT cannot be used, or None. ALT may be a comma list (multiallelic)."""
    if ref == "" or alt == "":
        return "empty allele: REF and ALT must both hold bases (VCF style, with the anchor base for indels)"
    for allele in [ref, *alt.split(",")]:
        if allele == "" or allele == ".":
            return f"empty allele: {ref}>{alt}"
        if allele.startswith("<") or allele in ("*",) or "[" in allele or "]" in allele:
            return f"symbolic allele: {allele} (only sequence alleles can be scored)"
        if not _BASES.match(allele):
            return f"invalid allele: {allele!r} holds characters other than A, C, G, T, N"
    if alt.split(",") == [ref]:
        return f"not a variant: ALT equals REF ({ref})"
    return None


def parse_coordinate(text: str) -> tuple[str, int, str, str] | str:
    """``"13-32316421-G-A"`` -> (chrom, pos, REF, ALT); a reason string when malformed.

    Contig names may contain dashes (split from the right); alleles are upper-cased.
    """
    text = str(text).strip()
    if text.lower() in _MISSING:
        return "missing coordinate"
    parts = text.rsplit("-", 3)
    if len(parts) != 4 or parts[0] == "":
        return f"malformed coordinate: {text!r} (expected CHROM-POS-REF-ALT, e.g. 13-32316421-G-A)"
    chrom, pos, ref, alt = parts
    if not _ASCII_DIGITS.fullmatch(pos) or int(pos) < 1:  # not str.isdigit: it takes '²' and '١'
        return f"malformed coordinate: {text!r} (position {pos!r} is not a positive integer)"
    return chrom, int(pos), ref.strip().upper(), alt.strip().upper()


def read_splicevardb(path: str | Path, coordinate_column: str = "hg38") -> tuple[pd.DataFrame, pd.DataFrame]:
    """Parse the export into (records with RECORD_COLUMNS, rejects with REJECT_COLUMNS).

    Chromosome names are left as written; matching them to the FASTA happens in
    ``labelled_vcf.validate_records``.
    """
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Variant table {path} does not exist: set variants.path in the config.")
    if path.stat().st_size:
        check_source(path, "splicevardb")
    try:
        df = pd.read_csv(
            path, sep="\t", dtype=str, keep_default_na=False, quotechar='"', quoting=csv.QUOTE_MINIMAL
        )
    except pd.errors.EmptyDataError:
        raise UserError(
            f"Variant table {path} is empty. Export SpliceVarDB as TSV (header: "
            f"{' '.join(SPLICEVARDB_COLUMNS)}) or set variants.source to 'vcf' for a VCF."
        ) from None
    except (pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise UserError(
            f"Variant table {path} is not a readable tab-separated SpliceVarDB export ({exc}). "
            "Check that it is the TSV download and that no row has extra tabs."
        ) from None
    df.columns = [c.strip().strip('"') for c in df.columns]
    needed = list(dict.fromkeys([*REQUIRED_COLUMNS, coordinate_column]))
    missing = [c for c in needed if c not in df.columns]
    if missing:
        raise UserError(
            f"Variant table {path} lacks column(s) {missing} (found: {list(df.columns)}). A SpliceVarDB "
            f"export has the header {' '.join(SPLICEVARDB_COLUMNS)}; if your coordinates sit in another "
            f"column set variants.coordinate_column (now {coordinate_column!r})."
        )
    if len(df) == 0:
        raise UserError(f"Variant table {path} has a header but no data rows: export some variants first.")

    records, rejects = [], []
    for row, (vid, coord, label_text, gene, hgvs, location) in enumerate(
        zip(df["variant_id"], df[coordinate_column], df["classification"], df["gene"], df["hgvs"], df["location"]),
        start=1,
    ):
        vid = str(vid).strip() or f"row{row}"
        parsed = parse_coordinate(coord)
        if isinstance(parsed, str):
            reason = parsed if parsed != "missing coordinate" else (
                f"missing coordinate: column {coordinate_column} is empty (set variants.coordinate_column "
                "to a column that holds this build's coordinates)"
            )
            rejects.append([str(path), row, vid, "", "", "", "", "ingest", reason])
            continue
        chrom, pos, ref, alt = parsed
        label = canonical_class(label_text)
        if label is None:
            rejects.append([
                str(path), row, vid, chrom, pos, ref, alt, "ingest",
                f"unknown classification: {label_text!r} (expected one of {', '.join(CLASSES)})",
            ])
            continue
        records.append([row, vid, chrom, pos, ref, alt, label, gene.strip(), hgvs.strip(), location.strip()])
    return (
        pd.DataFrame(records, columns=RECORD_COLUMNS),
        pd.DataFrame(rejects, columns=REJECT_COLUMNS),
    )
