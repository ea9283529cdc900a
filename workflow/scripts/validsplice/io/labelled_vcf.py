"""The labelled VCF: reading any VCF with a class label in INFO, writing and reading the
workflow's ingested VCF (INFO ``VID``, ``LABEL``, ``GENE``, ``HGVS``, ``LOC``, ``SRCROW``).

Also holds ``ingest_variants``, the library side of the ``ingest_variants`` rule: both input
kinds become the same canonical records, are checked against the FASTA's contigs, and are
written sorted, bgzipped and tabix-indexed, with every unusable row in the rejects table.
"""
from __future__ import annotations

import gzip
import logging
import os
import shutil
import tempfile
import zlib
from pathlib import Path

import numpy as np
import pandas as pd
import pysam

from ..common.errors import UserError
from .fasta import chrom_mapping, contig_lengths, first_path
from .sniff import check_source, compression
from .splicevardb import CLASSES, RECORD_COLUMNS, REJECT_COLUMNS, canonical_class, check_alleles, read_splicevardb

log = logging.getLogger(__name__)

INFO_FIELDS = {  # INFO key -> record column
    "VID": "variant_id",
    "LABEL": "label",
    "GENE": "gene",
    "HGVS": "hgvs",
    "LOC": "location",
    "SRCROW": "source_row",
}
INFO_DESCRIPTIONS = {
    "VID": "Source variant id(s)",
    "LABEL": "Validated class: " + ", ".join(CLASSES),
    "GENE": "Gene named by the source",
    "HGVS": "HGVS named by the source",
    "LOC": "Location named by the source",
    "SRCROW": "1-based data row(s) in the source file",
}
# VCF INFO values may not hold these; percent-encoding (VCF 4.3 style) keeps them reversible.
_ESCAPES = {"%": "%25", ";": "%3B", "=": "%3D", ",": "%2C", " ": "%20", "\t": "%09", "\n": "%0A", "\r": "%0D"}


def escape_info(value) -> str:
    text = str(value)
    return "".join(_ESCAPES.get(ch, ch) for ch in text) if any(c in _ESCAPES for c in text) else text


def unescape_info(value) -> str:
    if value is None:
        return ""
    if isinstance(value, tuple):  # Number=. fields come back as tuples
        value = ",".join(map(str, value))
    text = str(value)
    if "%" not in text:
        return text
    for ch, code in sorted(_ESCAPES.items(), key=lambda kv: kv[0] == "%"):  # '%' last
        text = text.replace(code, ch)
    return text


# ------------------------------------------------------------------ validation
def validate_records(
    records: pd.DataFrame, lengths: dict[str, int], source_file: str
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rename contigs as in the FASTA and drop rows whose contig, position or alleles are unusable.

    Returns (usable records, rejects). REF is not compared with the FASTA here; that is the
    normalization stage's job (it also detects a genome-build mismatch).
    """
    mapping = chrom_mapping(records["chrom"].unique(), lengths)
    rejects, keep = [], np.ones(len(records), dtype=bool)
    fasta_names = ", ".join(list(lengths)[:5]) + (" ..." if len(lengths) > 5 else "")
    new_chroms = []
    for i, (row, vid, chrom, pos, ref, alt) in enumerate(
        zip(records["source_row"], records["variant_id"], records["chrom"], records["pos"], records["ref"], records["alt"])
    ):
        target = mapping.get(chrom)
        reason = None
        if target is None:
            reason = f"chromosome not in FASTA: {chrom!r} (FASTA contigs: {fasta_names})"
        else:
            reason = check_alleles(ref, alt)
            if reason is None and pos + len(ref) - 1 > lengths[target]:
                reason = f"position outside contig: {target} has {lengths[target]} bases"
        if reason is not None:
            keep[i] = False
            rejects.append([source_file, row, vid, chrom, pos, ref, alt, "ingest", reason])
        new_chroms.append(target)
    out = records.assign(chrom=new_chroms)[keep].reset_index(drop=True)
    return out, pd.DataFrame(rejects, columns=REJECT_COLUMNS)


# ------------------------------------------------------------------ label map (config variants.label_map)
EXCLUDE = "exclude"
LABEL_MAP_TARGETS = (*CLASSES, EXCLUDE)
EXCLUDED_REASON = "excluded by variants.label_map"  # reject reason prefix (common/reasons.py category)


class LabelMap:
    """Users' class names -> the workflow's classes, or ``exclude``.

    Keys match exactly, else ignoring case and surrounding spaces; a class name that is already one of
    the four classes (any case) needs no entry. With a map given, any other name is an error naming it,
    the file and row, and the known names: a typo must not silently drop or relabel variants. Without a
    map (empty), unknown names become rejects as before.
    """

    def __init__(self, mapping: dict | None = None, key: str = "variants.label_map"):
        self.key = key
        self.given = bool(mapping)
        self.exact: dict[str, str] = {}
        for name, target in (mapping or {}).items():
            value = EXCLUDE if str(target).strip().lower() == EXCLUDE else canonical_class(str(target))
            if value is None:
                raise UserError(
                    f"config {key}: {name!r} maps to {target!r}; map each class to one of "
                    f"{', '.join(LABEL_MAP_TARGETS)}."
                )
            self.exact[str(name)] = value
        self.folded = {name.strip().lower(): value for name, value in self.exact.items()}

    def known(self) -> list[str]:
        return [*self.exact, *(c for c in CLASSES if c not in self.exact)]

    def lookup(self, raw: str) -> str | None:
        """The class or ``exclude`` for ``raw``; None when unknown."""
        if raw in self.exact:
            return self.exact[raw]
        folded = raw.strip().lower()
        return self.folded.get(folded) or canonical_class(raw)

    def unknown_error(self, raw: str, path, row: int, label_field: str) -> UserError:
        return UserError(
            f"{path}, record {row}: class {raw!r} (INFO/{label_field}) is not in {self.key}; known classes: "
            f"{', '.join(map(repr, self.known()))}. Add it to {self.key} (e.g. {raw}: exclude, or {raw}: Normal)."
        )


# ------------------------------------------------------------------ reading any labelled VCF
def read_labelled_vcf(
    path: str | Path, label_field: str, label_map: dict | LabelMap | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Any VCF whose class label sits in INFO/``label_field`` -> (records, rejects).

    ``source_row`` is the 1-based record number. ``GENE``/``HGVS``/``LOC`` INFO fields are
    carried over when present. Multiallelic records stay together (split by normalization).
    ``label_map`` (config ``variants.label_map``) renames the file's classes; rows mapped to
    ``exclude`` become rejects with reason "excluded by variants.label_map: ...", so they are
    counted, never lost silently.
    """
    labels = label_map if isinstance(label_map, LabelMap) else LabelMap(label_map)
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Variant VCF {path} does not exist: set variants.path in the config.")
    if path.stat().st_size == 0:
        raise UserError(f"Variant VCF {path} is empty: give a VCF with a header and variant records.")
    check_source(path, "vcf")
    if compression(path) == "gzip":  # htslib reads bgzip only; plain gzip goes through a plain copy
        log.warning(
            "%s is plain gzip, not bgzip: reading it through a temporary uncompressed copy "
            "(`gunzip -c %s | bgzip > %s` makes the usual bgzipped file).",
            path, path, path.name.removesuffix(".gz") + ".bgz.gz",
        )
        with tempfile.TemporaryDirectory(prefix="validsplice-vcf-") as tmp:
            plain = Path(tmp) / "input.vcf"
            try:
                with gzip.open(path, "rb") as src, open(plain, "wb") as dst:
                    shutil.copyfileobj(src, dst)
            except (OSError, EOFError, zlib.error) as exc:
                raise UserError(f"Variant VCF {path}: cannot decompress it ({exc}); check that it is not truncated.") from None
            return _read_vcf(plain, label_field, shown=path, labels=labels)
    return _read_vcf(path, label_field, shown=path, labels=labels)


def _read_vcf(file: Path, label_field: str, shown: Path, labels: LabelMap) -> tuple[pd.DataFrame, pd.DataFrame]:
    """read_labelled_vcf on ``file`` (plain or bgzipped); messages and rejects name ``shown``."""
    path = shown
    try:
        vcf = pysam.VariantFile(str(file))
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read variant VCF {path}: {exc}. Check that it is a valid (optionally bgzipped) VCF.") from None
    if label_field not in vcf.header.info:
        raise UserError(
            f"Variant VCF {path} does not define INFO/{label_field} in its header (INFO fields: "
            f"{list(vcf.header.info)}). Set variants.label_field to the INFO field holding the class."
        )
    optional = {k: k in vcf.header.info for k in ("GENE", "HGVS", "LOC")}
    records, rejects = [], []
    row = 0
    try:
        for rec in vcf:
            row += 1
            ref = (rec.ref or "").upper()
            alt = ",".join(rec.alts).upper() if rec.alts else ""
            vid = rec.id or f"{rec.chrom}-{rec.pos}-{ref}-{alt}"
            raw_label = unescape_info(rec.info.get(label_field))
            label = labels.lookup(raw_label) if raw_label != "" else None
            if label is None and labels.given and raw_label != "":
                raise labels.unknown_error(raw_label, path, row, label_field)
            if label == EXCLUDE:
                reason = f"{EXCLUDED_REASON}: {raw_label!r} -> exclude"
                rejects.append([str(path), row, vid, rec.chrom, rec.pos, ref, alt, "ingest", reason])
                continue
            if label is None:
                reason = (
                    f"missing label: no INFO/{label_field}" if raw_label == ""
                    else f"unknown classification: {raw_label!r} (expected one of {', '.join(CLASSES)})"
                )
                rejects.append([str(path), row, vid, rec.chrom, rec.pos, ref, alt, "ingest", reason])
                continue
            extra = [unescape_info(rec.info.get(k)) if optional[k] else "" for k in ("GENE", "HGVS", "LOC")]
            records.append([row, vid, rec.chrom, rec.pos, ref, alt, label, *extra])
    except (OSError, ValueError) as exc:
        raise UserError(f"Variant VCF {path}: cannot parse record {row + 1}: {exc}. Fix or remove that line.") from None
    finally:
        vcf.close()
    if row == 0:
        raise UserError(f"Variant VCF {path} has a header but no records: add variants.")
    return pd.DataFrame(records, columns=RECORD_COLUMNS), pd.DataFrame(rejects, columns=REJECT_COLUMNS)


# ------------------------------------------------------------------ the workflow's VCF
def sort_records(records: pd.DataFrame, contig_order: list[str]) -> pd.DataFrame:
    """Sort by (contig in FASTA order, pos, ref, alt)."""
    rank = {c: i for i, c in enumerate(contig_order)}
    key = records["chrom"].map(rank)
    return (
        records.assign(_rank=key)
        .sort_values(["_rank", "pos", "ref", "alt"], kind="stable")
        .drop(columns="_rank")
        .reset_index(drop=True)
    )


def write_labelled_vcf(records: pd.DataFrame, path: str | Path, lengths: dict[str, int], extra_header=()) -> None:
    """Write records (RECORD_COLUMNS) as a sorted, bgzipped, tabix-indexed VCF (``path`` + ``.tbi``).

    ``lengths`` gives the header contigs (FASTA order). Written to a temporary name and renamed,
    so a crash never leaves a file that looks complete.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    records = sort_records(records, list(lengths))
    lines = ["##fileformat=VCFv4.2"]
    lines += [f"##contig=<ID={c},length={n}>" for c, n in lengths.items()]
    lines += [f'##INFO=<ID={k},Number=1,Type=String,Description="{d}">' for k, d in INFO_DESCRIPTIONS.items()]
    lines += list(extra_header)
    lines.append("#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO")
    body = []
    columns = [records[col].astype(str).to_numpy() for col in INFO_FIELDS.values()]
    for chrom, pos, ref, alt, *values in zip(records["chrom"], records["pos"], records["ref"], records["alt"], *columns):
        info = ";".join(f"{k}={escape_info(v)}" for k, v in zip(INFO_FIELDS, values) if v != "")
        body.append(f"{chrom}\t{pos}\t.\t{ref}\t{alt}\t.\t.\t{info or '.'}")
    tmp_plain = path.with_name(path.name + ".tmp.vcf")
    tmp_plain.write_text("\n".join(lines + body) + "\n")
    pysam.tabix_index(str(tmp_plain), preset="vcf", force=True)  # -> tmp.vcf.gz + .tbi
    os.replace(f"{tmp_plain}.gz", path)
    os.replace(f"{tmp_plain}.gz.tbi", f"{path}.tbi")


SOURCE_KEY = "validsplice_source"


def read_source_file(path: str | Path) -> str:
    """The source file named in the ingested VCF's ``##validsplice_source=`` header line ("" if none)."""
    with pysam.VariantFile(str(path)) as vcf:
        for rec in vcf.header.records:
            if rec.key == SOURCE_KEY:
                return str(rec.value)
    return ""


def read_ingested_vcf(path: str | Path) -> pd.DataFrame:
    """The workflow's labelled VCF back into records (INFO fields unescaped).

    Multiallelic records keep ALT as a comma list. ``source_row`` stays a string because merged
    records hold several rows joined by ``;``.
    """
    path = Path(path)
    rows = []
    try:
        with pysam.VariantFile(str(path)) as vcf:
            for rec in vcf:
                info = [unescape_info(rec.info.get(k)) for k in INFO_FIELDS]
                alt = ",".join(rec.alts) if rec.alts else ""
                rows.append([rec.chrom, rec.pos, rec.ref.upper(), alt.upper(), *info])
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read VCF {path}: {exc}. Rerun the ingest_variants rule.") from None
    df = pd.DataFrame(rows, columns=["chrom", "pos", "ref", "alt", *INFO_FIELDS.values()])
    df["pos"] = df["pos"].astype(np.int64)
    return df[RECORD_COLUMNS]


def write_rejects(rejects: pd.DataFrame, path: str | Path) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    rejects.reindex(columns=REJECT_COLUMNS).to_csv(path, sep="\t", index=False)


def read_rejects(path: str | Path) -> pd.DataFrame:
    df = pd.read_csv(path, sep="\t", dtype=str, keep_default_na=False)
    return df.reindex(columns=REJECT_COLUMNS)


# ------------------------------------------------------------------ rule entry point
def ingest_variants(
    table_path,
    fasta_path,
    vcf_path,
    rejected_path,
    source: str = "splicevardb",
    label_field: str = "CLASS",
    coordinate_column: str = "hg38",
    label_map: dict | None = None,
) -> dict:
    """SpliceVarDB export or labelled VCF -> ingested VCF (+ .tbi) and ``ingest_rejected.tsv``.

    Returns counts (ingested, rejected) for logging and tests.
    """
    fasta_path = first_path(fasta_path)
    table_path = first_path(table_path)
    lengths = contig_lengths(fasta_path)
    if source == "splicevardb":
        if label_map:
            raise UserError("config variants.label_map applies to a labelled VCF (variants.source: vcf); a "
                            "SpliceVarDB export has the four classes already. Remove label_map.")
        records, rejects = read_splicevardb(table_path, coordinate_column)
    elif source == "vcf":
        records, rejects = read_labelled_vcf(table_path, label_field, label_map)
    else:
        raise UserError(f"variants.source is {source!r}; set it to 'splicevardb' or 'vcf' in the config.")
    n_input = len(records) + len(rejects)
    records, more = validate_records(records, lengths, str(table_path))
    rejects = pd.concat([r for r in (rejects, more) if len(r)], ignore_index=True) if len(more) else rejects
    rejects = rejects.sort_values("source_row", kind="stable") if len(rejects) else rejects
    write_labelled_vcf(records, vcf_path, lengths, extra_header=[f"##{SOURCE_KEY}={table_path}"])
    write_rejects(rejects, rejected_path)
    log.info(
        "ingested %d of %d rows from %s (%d rejected)", len(records), n_input, table_path, len(rejects)
    )
    for reason, n in rejects["reason"].str.split(":").str[0].value_counts().items() if len(rejects) else []:
        log.info("  rejected (%s): %d", reason, n)
    if len(records) == 0:
        top = rejects["reason"].value_counts().head(3)
        raise UserError(
            f"No usable variants in {table_path}: all {n_input} rows were rejected; most common reasons: "
            + "; ".join(f"{r} ({n} rows)" for r, n in top.items())
            + ". Check the coordinate column, the classification values and that the FASTA's contigs match."
        )
    return {"input_rows": n_input, "ingested": len(records), "rejected": len(rejects)}
