"""GTF / GFF3 → SpliceAI's gene table (``python -m validsplice annotation``).

Reads a GENCODE, Ensembl, RefSeq or MANE annotation (GTF or GFF3, plain or gzipped; the
format is detected from the content, the extension only breaks a tie) and writes the table
that ``-A`` of ``score`` and the workflow's ``annotation`` key take (see ``annotation.py``):
tab-separated ``#NAME CHROM STRAND TX_START TX_END EXON_START EXON_END``, starts 0-based,
ends 1-based, exon lists ascending and comma-terminated, one row per transcript.

Which transcripts (defaults follow how SpliceAI's own GENCODE v24 tables were made: one
*canonical* transcript per *protein-coding* gene; Jaganathan et al. 2019 and the authors in
Illumina/SpliceAI issue #29: "when multiple transcripts are available for the same gene, we
picked the one with the largest coding sequence"):

- genes: protein-coding only (gene biotype ``protein_coding``: GTF ``gene_type`` /
  ``gene_biotype``, GFF3 ``gene_type`` / ``gene_biotype`` / ``biotype``; a gene whose biotype
  the file does not state counts as coding when it has a transcript with a CDS), and of
  their transcripts only those with a CDS. ``all_genes`` keeps every gene and transcript.
- transcripts: one per gene, the first of
  1. MANE Select (GENCODE/Ensembl tag ``MANE_Select``; RefSeq/MANE GFF3 ``tag=MANE Select``),
  2. Ensembl canonical (tag ``Ensembl_canonical``),
  3. RefSeq Select (RefSeq ``tag=RefSeq Select``),
  4. otherwise, and to break ties, the largest coding sequence (sum of CDS lengths), then
     the longest exonic length, then the first in the file.
  Files without any of these tags (GENCODE before v38, older Ensembl) therefore get
  SpliceAI's own rule. ``all_transcripts`` keeps every transcript instead, one row each,
  named ``GENE:TRANSCRIPT`` so that the ``SpliceAI=`` strings tell them apart.
- Row: NAME = gene name (GTF ``gene_name``, else ``gene``, else ``gene_id``; GFF3 gene
  ``gene_name``, else ``Name``, else ``gene``, else ``gene_id``, else its ID); TX_START/TX_END = the chosen
  transcript's first exon start − 1 / last exon end (as in SpliceAI's tables); exons = that
  transcript's exons. Contig names are kept as in the file (``annotation.py`` matches them
  with or without ``chr``).

Vectorized: the file is read in chunks of 400,000 lines with pandas' C parser (which keeps
line numbers for error messages), filtered and searched column-wise with pyarrow compute
(RE2 regular expressions), then grouped with pandas; never a Python loop per line.
"""
from __future__ import annotations

import csv
import gzip
import logging
import os
import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from ..common.errors import UserError
from .annotation import REQUIRED_COLUMNS

log = logging.getLogger("validsplice.io.annotation_convert")

COLUMNS = ["seqid", "source", "type", "start", "end", "score", "strand", "phase", "attributes"]
USECOLS = ["seqid", "type", "start", "end", "strand", "attributes"]
CHUNK_ROWS = 400_000
# GFF3 feature types that are never the parent of an exon (skipped to save work).
GFF3_LEAF_TYPES = {
    "five_prime_UTR", "three_prime_UTR", "UTR", "start_codon", "stop_codon",
    "stop_codon_redefined_as_selenocysteine", "Selenocysteine", "region", "chromosome",
    "supercontig", "scaffold", "cDNA_match", "match", "match_part", "biological_region",
    "sequence_feature", "repeat_region",
}
_NAME_UNSAFE = re.compile(r"[\s|,;=]")


@dataclass
class ConversionSummary:
    fmt: str
    genes: int = 0
    rows: int = 0
    transcripts_read: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    selected_by: dict[str, int] = field(default_factory=dict)


# ----------------------------------------------------------------------------- reading
def _is_gzip(path: Path) -> bool:
    with open(path, "rb") as fh:
        return fh.read(2) == b"\x1f\x8b"


def _open_text(path: Path):
    if _is_gzip(path):
        return gzip.open(path, "rt", encoding="utf-8", errors="replace", newline="")
    return open(path, "rt", encoding="utf-8", errors="replace", newline="")


def detect_format(path: str | Path) -> str:
    """``gtf`` or ``gff3`` from the first data lines (``##gff-version 3`` or ``key=value``
    attributes → GFF3; ``key "value";`` → GTF); the extension decides only if the content
    does not."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"Annotation input {path} does not exist (expected a GTF or GFF3 file).")
    votes: list[str] = []
    first_data = None
    try:
        with _open_text(path) as fh:
            for number, line in enumerate(fh, start=1):
                if number > 2000 or len(votes) >= 20:
                    break
                if line.startswith("##gff-version"):
                    version = line.split()[1] if len(line.split()) > 1 else ""
                    if version.startswith("3"):
                        return "gff3"
                    continue
                if not line.strip() or line.startswith("#"):
                    continue
                fields = line.rstrip("\r\n").split("\t")
                if len(fields) != 9:
                    continue
                first_data = first_data or number
                attrs = fields[8].strip()
                if re.match(r'^[A-Za-z_][\w.]*\s+"', attrs) or re.match(r"^[A-Za-z_][\w.]*\s+[^=;\s]+\s*;", attrs):
                    votes.append("gtf")
                elif re.match(r"^[A-Za-z_][\w.:-]*=", attrs):
                    votes.append("gff3")
    except (OSError, EOFError, gzip.BadGzipFile) as exc:
        raise UserError(f"Cannot read annotation input {path}: {exc}") from None
    if votes:
        return max(set(votes), key=votes.count)
    name = path.name.lower().removesuffix(".gz")
    if name.endswith(".gtf") or name.endswith(".gff2"):
        return "gtf"
    if name.endswith(".gff3") or name.endswith(".gff"):
        return "gff3"
    where = f" (first 9-column line: {first_data})" if first_data else " (no line with 9 tab-separated columns)"
    raise UserError(
        f"{path}: cannot tell whether this is a GTF or a GFF3 file{where}. Expected 9 tab-separated "
        'columns with attributes like gene_id "X"; (GTF) or ID=X;Parent=Y (GFF3).'
    )


def _read_chunks(path: Path):
    """Yield data rows as pyarrow tables (column ``line``: 1-based line number in the file),
    chunk by chunk, up to a ``##FASTA`` line."""
    try:
        with _open_text(path) as fh:
            reader = pd.read_csv(
                fh, sep="\t", header=None, names=COLUMNS, usecols=USECOLS, dtype=str,
                quoting=csv.QUOTE_NONE, skip_blank_lines=False, na_filter=False,
                chunksize=CHUNK_ROWS, engine="c",
            )
            for chunk in reader:
                table = pa.Table.from_pandas(chunk, preserve_index=False).replace_schema_metadata(None)
                table = table.append_column("line", pa.array(chunk.index.to_numpy(np.int64) + 1))
                seqid = pc.fill_null(table["seqid"], "")
                fasta = pc.or_(pc.starts_with(seqid, "##FASTA"), pc.starts_with(seqid, ">"))
                stop = None
                if pc.any(fasta).as_py():
                    stop = pc.min(pc.filter(table["line"], fasta)).as_py()
                    table = table.filter(pc.less(table["line"], stop))
                    seqid = pc.fill_null(table["seqid"], "")
                data = pc.invert(pc.or_(pc.starts_with(seqid, "#"), pc.equal(seqid, "")))
                yield table.filter(data)
                if stop is not None:
                    return
    except pd.errors.ParserError as exc:
        raise UserError(
            f"{path}: not a valid GTF/GFF3 table: {exc}. Each data line needs exactly 9 "
            "tab-separated columns."
        ) from None
    except (OSError, EOFError, gzip.BadGzipFile, UnicodeError) as exc:
        raise UserError(f"Cannot read annotation input {path}: {exc}") from None


def _fail_rows(path: Path, rows: pa.Table, mask, problem: str, remedy: str = "") -> None:
    """Raise a UserError naming the first line where ``mask`` holds (and how many)."""
    mask = pc.fill_null(mask, False)
    n = pc.sum(mask).as_py() or 0
    if n:
        line = pc.min(pc.filter(rows["line"], mask)).as_py()
        more = f" ({n} lines in all)" if n > 1 else ""
        raise UserError(f"{path}: line {line}: {problem}{more}.{(' ' + remedy) if remedy else ''}")


def _is(rows: pa.Table, column: str, values) -> pa.ChunkedArray:
    return pc.is_in(rows[column], value_set=pa.array(list(values), pa.string()))


def _check_rows(path: Path, rows: pa.Table) -> pa.Table:
    """Coordinates to int64, 9 columns present, start <= end; errors name the line."""
    missing = pc.or_(pc.equal(pc.fill_null(rows["attributes"], ""), ""), pc.equal(pc.fill_null(rows["type"], ""), ""))
    _fail_rows(path, rows, missing, "fewer than 9 tab-separated columns",
               "GTF/GFF3 lines need 9 columns separated by tabs.")
    bad = pc.or_(pc.invert(pc.match_substring_regex(rows["start"], r"^\s*\d+\s*$")),
                 pc.invert(pc.match_substring_regex(rows["end"], r"^\s*\d+\s*$")))
    _fail_rows(path, rows, bad, "start/end (columns 4 and 5) are not integers")
    start = pc.cast(pc.utf8_trim_whitespace(rows["start"]), pa.int64())
    end = pc.cast(pc.utf8_trim_whitespace(rows["end"]), pa.int64())
    rows = rows.set_column(rows.schema.get_field_index("start"), "start", start)
    rows = rows.set_column(rows.schema.get_field_index("end"), "end", end)
    _fail_rows(path, rows, pc.greater(start, end), "start is after end")
    return rows


def _gtf_attr(attrs, key: str) -> pd.Series:
    return _capture(attrs, rf'(?:^|;)\s*{key}\s+"?(?P<v>[^";]+)')


def _gff3_attr(attrs, key: str) -> pd.Series:
    return _capture(attrs, rf"(?:^|;)\s*{key}=(?P<v>[^;]+)")


def _capture(attrs, pattern: str) -> pd.Series:
    """The named group ``v`` of ``pattern`` (RE2, vectorized in pyarrow) as a pandas str
    Series; NaN where it does not match."""
    if len(attrs) == 0:
        return pd.Series([], dtype="str")
    values = pc.struct_field(pc.extract_regex(attrs, pattern=pattern), [0])
    return pd.Series(values.to_numpy(zero_copy_only=False), dtype="str")


def _first_of_list(series: pd.Series) -> pd.Series:
    """First item of comma-separated values (NaN stays NaN)."""
    return series.str.extract(r"^([^,]*)", expand=False).astype("str")


def _first(*series: pd.Series) -> pd.Series:
    out = series[0]
    for s in series[1:]:
        out = out.fillna(s)
    return out


def _tag_flags(attrs, fmt: str, index) -> pd.DataFrame:
    """MANE Select / Ensembl canonical / RefSeq Select flags (both spellings, both formats)."""
    def has(tag_regex: str) -> np.ndarray:
        if fmt == "gtf":
            pattern = rf'(?:^|;)\s*tag\s+"(?:{tag_regex})"'
        else:
            pattern = rf"(?:^|;)\s*tag=(?:[^;]*,)?(?:{tag_regex})(?:,|;|$)"
        if len(attrs) == 0:
            return np.zeros(0, bool)
        return pc.fill_null(pc.match_substring_regex(attrs, pattern), False).to_numpy(zero_copy_only=False)

    return pd.DataFrame({
        "mane": has(r"MANE[_ ]Select|MANE%20Select"),
        "canonical": has(r"Ensembl_canonical"),
        "refseq_select": has(r"RefSeq[_ ]Select|RefSeq%20Select"),
    }, index=index)


def _decode(series: pd.Series) -> pd.Series:
    """GFF3 percent-escapes in names (RefSeq writes %2C for commas)."""
    if series.str.contains("%", regex=False).fillna(False).any():
        from urllib.parse import unquote

        return series.map(lambda v: unquote(v) if isinstance(v, str) else v)
    return series


def _frame(rows: pa.Table, columns: list[str]) -> pd.DataFrame:
    text = pd.StringDtype(na_value=np.nan)
    return rows.select(columns).to_pandas(types_mapper={pa.string(): text, pa.large_string(): text}.get)


# ------------------------------------------------------------------ per-format collection
def _collect_gtf(path: Path):
    exons, cds, tx_info, gene_info = [], [], [], []
    for chunk in _read_chunks(path):
        # filter the chunk as read (filtering a filtered table is much slower in pyarrow)
        parts = _check_rows(path, chunk.filter(_is(chunk, "type", ["exon", "CDS"])))
        tx_lines = chunk.filter(_is(chunk, "type", ["transcript", "mRNA"]))
        gene_lines = chunk.filter(_is(chunk, "type", ["gene"]))
        if parts.num_rows == 0 and tx_lines.num_rows == 0 and gene_lines.num_rows == 0:
            continue
        tid = _gtf_attr(parts["attributes"], "transcript_id")
        _fail_rows(path, parts, pa.array(tid.isna().to_numpy()), "exon/CDS line without a transcript_id attribute",
                   "Every exon/CDS line of a GTF needs gene_id and transcript_id.")
        frame = _frame(parts, ["type", "seqid", "strand", "start", "end", "line"]).assign(tid=tid.to_numpy())
        is_exon = (frame["type"] == "exon").to_numpy()
        ex = frame[is_exon]
        exons.append(ex[["tid", "seqid", "strand", "start", "end", "line"]])
        cds.append(frame.loc[~is_exon, ["tid", "start", "end"]])
        # transcript-level attributes: from transcript lines and the first exon line of each
        first_exon = np.zeros(len(frame), bool)
        first_exon[np.flatnonzero(is_exon)[~ex["tid"].duplicated().to_numpy()]] = True
        src = pa.concat_tables([tx_lines.select(["attributes", "line"]),
                                parts.filter(pa.array(first_exon)).select(["attributes", "line"])])
        a = src["attributes"]
        info = pd.DataFrame({
            "tid": _gtf_attr(a, "transcript_id"),
            "gene_id": _gtf_attr(a, "gene_id"),
            "gene_name": _first(_gtf_attr(a, "gene_name"), _gtf_attr(a, "gene")),
            "gene_biotype": _first(_gtf_attr(a, "gene_type"), _gtf_attr(a, "gene_biotype")),
            "line": src["line"].to_numpy(),
        })
        info = pd.concat([info, _tag_flags(a, "gtf", info.index)], axis=1).dropna(subset=["tid"])
        missing = info["gene_id"].isna()
        if missing.any():
            line = int(info["line"][missing].min())
            raise UserError(f"{path}: line {line}: no gene_id attribute. Every transcript/exon line "
                            "of a GTF needs gene_id and transcript_id.")
        tx_info.append(info)
        ga = gene_lines["attributes"]
        gene_info.append(pd.DataFrame({
            "gene_id": _gtf_attr(ga, "gene_id"),
            "g_name": _first(_gtf_attr(ga, "gene_name"), _gtf_attr(ga, "gene")),
            "g_biotype": _first(_gtf_attr(ga, "gene_type"), _gtf_attr(ga, "gene_biotype")),
        }).dropna(subset=["gene_id"]))
    exons_df = _concat(exons, ["tid", "seqid", "strand", "start", "end", "line"])
    cds_df = _concat(cds, ["tid", "start", "end"])
    info = _concat(tx_info, ["tid", "gene_id", "gene_name", "gene_biotype", "line", "mane", "canonical", "refseq_select"])
    info = info.sort_values("line", kind="stable")
    flags = info.groupby("tid", sort=False)[["mane", "canonical", "refseq_select"]].any()
    first = info.drop_duplicates("tid").set_index("tid")[["gene_id", "gene_name", "gene_biotype"]]
    tx = first.join(flags)
    genes = _concat(gene_info, ["gene_id", "g_name", "g_biotype"]).drop_duplicates("gene_id").set_index("gene_id")
    tx = tx.join(genes, on="gene_id")
    tx["gene_name"] = _first(tx["g_name"], tx["gene_name"], tx["gene_id"])
    tx["gene_biotype"] = _first(tx["g_biotype"], tx["gene_biotype"])
    tx["tx_label"] = tx.index.to_series()
    return exons_df, cds_df, tx.drop(columns=["g_name", "g_biotype"])


def _collect_gff3(path: Path):
    exons, cds, features = [], [], []
    for chunk in _read_chunks(path):
        # filter the chunk as read (filtering a filtered table is much slower in pyarrow)
        is_part = _is(chunk, "type", ["exon", "CDS"])
        parts = _check_rows(path, chunk.filter(is_part))
        parent = _gff3_attr(parts["attributes"], "Parent")
        _fail_rows(path, parts, pa.array(parent.isna().to_numpy()), "exon/CDS line without a Parent attribute",
                   "In GFF3 every exon and CDS names its transcript with Parent=.")
        frame = _frame(parts, ["type", "seqid", "strand", "start", "end", "line"])
        frame = frame.assign(tid=parent.str.split(",").to_numpy()).explode("tid")
        is_exon = (frame["type"] == "exon").to_numpy()
        exons.append(frame.loc[is_exon, ["tid", "seqid", "strand", "start", "end", "line"]])
        cds.append(frame.loc[~is_exon, ["tid", "start", "end"]])
        feats = chunk.filter(pc.invert(pc.or_(is_part, _is(chunk, "type", GFF3_LEAF_TYPES))))
        a = feats["attributes"]
        info = pd.DataFrame({
            "fid": _gff3_attr(a, "ID"),
            "parent": _first_of_list(_gff3_attr(a, "Parent")),
            "name": _first(_gff3_attr(a, "gene_name"), _gff3_attr(a, "Name"), _gff3_attr(a, "gene"),
                           _gff3_attr(a, "gene_id")),
            "gene_attr": _first(_gff3_attr(a, "gene_name"), _gff3_attr(a, "gene")),
            "biotype": _first(_gff3_attr(a, "gene_type"), _gff3_attr(a, "gene_biotype"), _gff3_attr(a, "biotype")),
            "transcript_id": _gff3_attr(a, "transcript_id"),
        })
        info = pd.concat([info, _tag_flags(a, "gff3", info.index)], axis=1).dropna(subset=["fid"])
        features.append(info)
    exons_df = _concat(exons, ["tid", "seqid", "strand", "start", "end", "line"])
    cds_df = _concat(cds, ["tid", "start", "end"])
    feats = _concat(features, ["fid", "parent", "name", "gene_attr", "biotype", "transcript_id",
                               "mane", "canonical", "refseq_select"]).drop_duplicates("fid").set_index("fid")
    tids = pd.Index(exons_df["tid"].unique())
    unknown = ~tids.isin(feats.index)
    if unknown.any():
        bad = tids[unknown][0]
        line = int(exons_df.loc[exons_df["tid"] == bad, "line"].min())
        raise UserError(f"{path}: line {line}: exon Parent={bad} names no feature ID in the file "
                        f"({int(unknown.sum())} such parents). Is this an excerpt that lost its gene/mRNA lines?")
    tx = feats.loc[tids]
    # the transcript's parent is its gene; an exon directly under a gene makes that gene its own transcript
    gene_id = tx["parent"].where(tx["parent"].isin(feats.index), other=np.nan)
    gene_id = gene_id.fillna(pd.Series(tx.index, index=tx.index))
    gene = feats.reindex(gene_id.to_numpy())
    out = pd.DataFrame({
        "gene_id": gene_id.to_numpy(),
        "gene_name": _first(pd.Series(gene["name"].to_numpy(), index=tx.index), tx["gene_attr"],
                            pd.Series(gene_id.to_numpy(), index=tx.index)),
        "gene_biotype": pd.Series(gene["biotype"].to_numpy(), index=tx.index),
        "mane": tx["mane"].astype(bool), "canonical": tx["canonical"].astype(bool),
        "refseq_select": tx["refseq_select"].astype(bool),
        "tx_label": _first(tx["transcript_id"], pd.Series(tx.index, index=tx.index)),
    }, index=tx.index)
    out["gene_name"] = _decode(out["gene_name"])
    return exons_df, cds_df, out


def _concat(frames: list[pd.DataFrame], columns: list[str]) -> pd.DataFrame:
    frames = [f for f in frames if len(f)]
    if not frames:
        return pd.DataFrame(columns=columns)
    return pd.concat(frames, ignore_index=True)


# ------------------------------------------------------------------------- conversion
def convert(path: str | Path, *, all_genes: bool = False, all_transcripts: bool = False,
            fmt: str = "auto") -> tuple[pd.DataFrame, ConversionSummary]:
    """The SpliceAI table (columns ``REQUIRED_COLUMNS``) for a GTF/GFF3 file, and counts."""
    path = Path(path)
    fmt = detect_format(path) if fmt == "auto" else fmt
    if fmt not in ("gtf", "gff3"):
        raise UserError(f"Unknown annotation format {fmt!r}; use gtf, gff3 or auto.")
    exons, cds, tx = (_collect_gtf if fmt == "gtf" else _collect_gff3)(path)
    summary = ConversionSummary(fmt=fmt, transcripts_read=len(tx))
    if exons.empty:
        raise UserError(f"{path}: no exon lines found (read as {fmt.upper()}). SpliceAI's table is built "
                        "from exons; is this a gene-only or CDS-only file?")
    bad_strand = ~exons["strand"].isin(["+", "-"])
    if bad_strand.any():
        raise UserError(f"{path}: line {int(exons.loc[bad_strand, 'line'].min())}: exon strand (column 7) "
                        f"must be + or - ({int(bad_strand.sum())} exon lines in all).")

    exons = exons.drop_duplicates(["tid", "start", "end"])
    # one contig and strand per transcript (trans-spliced or malformed ones are left out)
    shape = exons.groupby("tid", sort=False).agg(
        seqid=("seqid", "first"), strand=("strand", "first"), n_seq=("seqid", "nunique"),
        n_strand=("strand", "nunique"), tx_start=("start", "min"), tx_end=("end", "max"),
        exon_len=("start", "size"), first_line=("line", "min"),
    )
    length = (exons["end"] - exons["start"] + 1).groupby(exons["tid"], sort=False).sum()
    shape["exon_len"] = length.reindex(shape.index).to_numpy()
    cds_len = (cds["end"] - cds["start"] + 1).groupby(cds["tid"]).sum() if len(cds) else pd.Series(dtype=np.int64)
    shape["cds_len"] = cds_len.reindex(shape.index).fillna(0).astype(np.int64).to_numpy()
    mixed = (shape["n_seq"] > 1) | (shape["n_strand"] > 1)
    if mixed.any():
        summary.skipped["exons on more than one contig or strand"] = int(mixed.sum())
        log.warning("%d transcript(s) have exons on more than one contig/strand and are left out", int(mixed.sum()))
    tx = tx.join(shape[~mixed], how="inner")

    if not all_genes:
        coding_tx = tx["cds_len"] > 0
        gene_has_cds = coding_tx.groupby(tx["gene_id"]).transform("any")
        coding_gene = tx["gene_biotype"].eq("protein_coding") | (tx["gene_biotype"].isna() & gene_has_cds)
        keep = coding_gene & coding_tx
        summary.skipped["not a protein-coding transcript of a protein-coding gene"] = int((~keep).sum())
        tx = tx[keep]
    if tx.empty:
        raise UserError(f"{path}: no transcripts left after filtering"
                        + ("" if all_genes else " to protein-coding genes (use --all-genes to keep every gene)") + ".")

    tx = tx.assign(rank=np.select([tx["mane"], tx["canonical"], tx["refseq_select"]], [0, 1, 2], 3))
    if not all_transcripts:
        tx = tx.sort_values(["gene_id", "rank", "cds_len", "exon_len", "first_line"],
                            ascending=[True, True, False, False, True], kind="stable")
        tx = tx.drop_duplicates("gene_id")
        labels = {0: "MANE Select", 1: "Ensembl canonical", 2: "RefSeq Select", 3: "largest CDS (no tag)"}
        summary.selected_by = {labels[k]: int(v) for k, v in tx["rank"].value_counts().sort_index().items()}
        names = tx["gene_name"]
    else:
        names = tx["gene_name"].astype(str) + ":" + tx["tx_label"].astype(str)
    names = names.astype(str).str.replace(_NAME_UNSAFE, "_", regex=True)

    chosen = exons[exons["tid"].isin(tx.index)].sort_values(["tid", "start"], kind="stable")
    grouped = chosen.assign(s=(chosen["start"] - 1).astype(str) + ",", e=chosen["end"].astype(str) + ",") \
        .groupby("tid", sort=False)
    starts = grouped["s"].agg("".join)
    ends = grouped["e"].agg("".join)
    contig_order = {c: i for i, c in enumerate(pd.unique(exons.sort_values("line")["seqid"]))}
    table = pd.DataFrame({
        "#NAME": names.to_numpy(),
        "CHROM": tx["seqid"].to_numpy(),
        "STRAND": tx["strand"].to_numpy(),
        "TX_START": (tx["tx_start"] - 1).to_numpy(np.int64),
        "TX_END": tx["tx_end"].to_numpy(np.int64),
        "EXON_START": starts.reindex(tx.index).to_numpy(),
        "EXON_END": ends.reindex(tx.index).to_numpy(),
    })
    table["_order"] = table["CHROM"].map(contig_order)
    table = table.sort_values(["_order", "TX_START", "TX_END", "#NAME"], kind="stable").drop(columns="_order")
    summary.rows = len(table)
    summary.genes = int(tx["gene_id"].nunique())
    return table.reset_index(drop=True)[REQUIRED_COLUMNS], summary


def write_table(table: pd.DataFrame, out: str | Path) -> None:
    """Write atomically (temporary name, then rename)."""
    out = Path(out)
    if out.parent and not out.parent.exists():
        raise UserError(f"Output folder {out.parent} does not exist.")
    tmp = out.with_name(out.name + ".tmp")
    try:
        table.to_csv(tmp, sep="\t", index=False, quoting=csv.QUOTE_NONE)
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise UserError(f"Cannot write {out}: {exc}") from None


# -------------------------------------------------------------------------------- CLI
def add_annotation_arguments(parser) -> None:
    parser.add_argument("-i", "--input", required=True, metavar="GTF_OR_GFF3",
                        help="GENCODE/Ensembl/RefSeq/MANE annotation, GTF or GFF3, plain or gzipped "
                             "(format detected from the content).")
    parser.add_argument("-o", "--output", required=True, metavar="TABLE",
                        help="Gene table in SpliceAI's format, for 'score -A' or the workflow's 'annotation' key.")
    parser.add_argument("--all-genes", action="store_true",
                        help="Keep every gene and transcript biotype (default: protein-coding genes and "
                             "their transcripts with a CDS, as SpliceAI's own tables).")
    parser.add_argument("--all-transcripts", action="store_true",
                        help="One row per transcript, named GENE:TRANSCRIPT (default: one transcript per "
                             "gene: MANE Select [GENCODE/Ensembl tag MANE_Select, RefSeq tag 'MANE Select'], "
                             "else Ensembl_canonical, else RefSeq Select, else the largest CDS, "
                             "SpliceAI's own rule).")
    parser.add_argument("--format", choices=["auto", "gtf", "gff3"], default="auto",
                        help="Input format (default: detected from the content).")


def run_annotation(args) -> int:
    table, summary = convert(args.input, all_genes=args.all_genes, all_transcripts=args.all_transcripts,
                             fmt=args.format)
    write_table(table, args.output)
    log.info("%s read as %s: %d transcripts; wrote %d rows for %d genes to %s",
             args.input, summary.fmt.upper(), summary.transcripts_read, summary.rows, summary.genes, args.output)
    if summary.selected_by:
        log.info("transcript chosen by: %s", ", ".join(f"{k} {v}" for k, v in summary.selected_by.items()))
    for reason, n in summary.skipped.items():
        if n:
            log.info("left out: %d transcript(s): %s", n, reason)
    return 0
