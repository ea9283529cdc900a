"""Normalization of the ingested variants: REF check, bcftools norm, deduplication, annotation.

Order matters:
1. REF alleles are checked against the FASTA first (upper-cased, so soft-masked repeats
   match). Mismatching rows are rejected with the base the FASTA has; when most rows mismatch
   the coordinates are almost surely from another build (hg19 vs GRCh38) and we stop with
   a ``UserError`` instead of rejecting the whole file silently.
2. ``bcftools norm -m -any`` (pysam's bundled bcftools: the reference implementation of
   left-alignment, trimming and multiallelic splitting). Records it changed are kept and
   listed in ``rejected.tsv`` (stage ``normalize``) so nothing changes silently. Splitting
   makes one row per ALT; the rows it adds are counted (``rows.added_by_splitting``), and
   an ALT equal to REF (``T -> C,T`` gives ``T>T``) is rejected (stage ``allele_split``).
3. Identical (chrom, pos, ref, alt) rows merge; disagreeing classes become ``Conflicting``.
   Then every row gets a unique ``variant_id`` (``unique_variant_ids``); the source's id
   stays in ``source_id``.
4. Gene annotation: one gene per variant (``choose_gene``), its strand, exon distance,
   region; variant type, contig-end flag, split.

Row accounting (``summary.json`` ``rows``): input rows + rows added by splitting =
variants + rejected + merged duplicates.
"""
from __future__ import annotations

import hashlib
import json
import logging
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
from pysam import bcftools

from ..common.errors import UserError
from ..io.annotation import GeneAnnotation
from ..io.fasta import contig_lengths, contig_text, first_path, open_fasta
from ..io.labelled_vcf import (
    read_ingested_vcf,
    read_rejects,
    read_source_file,
    sort_records,
    write_labelled_vcf,
    write_rejects,
)
from ..io.splicevardb import CLASSES, REJECT_COLUMNS
from .split import GROUP_KFOLD, SPLITS, assign_splits, fold_of, resolve_split

log = logging.getLogger(__name__)

# SpliceAI reads 5,000 bases of context on each side of the scored positions; closer to a
# contig end its input would be N-padded (the original tool skips such variants).
CONTEXT_FLANK = 5000

TABLE_COLUMNS = [
    "variant_id", "source_id", "chrom", "pos", "ref", "alt", "label", "source_label", "source_gene", "hgvs",
    "location", "source_rows", "genes", "gene", "strand", "gene_choice", "in_gene", "exon_distance", "region",
    "nearest_site", "variant_type", "indel_length", "near_contig_end", "split",
]
# Alleles longer than this are written as length + hash in disambiguated variant ids.
ID_ALLELE_MAX = 20


def _reject_rows(df: pd.DataFrame, source_file: str, stage: str, reasons) -> pd.DataFrame:
    return pd.DataFrame({
        "source_file": source_file,
        "source_row": df["source_row"].astype(str).to_numpy(),
        "variant_id": df["variant_id"].to_numpy(),
        "chrom": df["chrom"].to_numpy(),
        "pos": df["pos"].to_numpy(),
        "ref": df["ref"].to_numpy(),
        "alt": df["alt"].to_numpy(),
        "stage": stage,
        "reason": list(reasons),
    }, columns=REJECT_COLUMNS)


# ------------------------------------------------------------------ 1. REF check
def check_ref(records: pd.DataFrame, fasta_path: str, source_label: str, max_fraction: float = 0.5):
    """Split records into (REF matches FASTA, reasons for the rest); raise on a build mismatch."""
    fa = open_fasta(fasta_path)
    observed = np.empty(len(records), dtype=object)
    for chrom in records["chrom"].unique():
        rows = np.nonzero((records["chrom"] == chrom).to_numpy())[0]
        text = contig_text(fa, chrom)
        for r, pos, ref in zip(rows, records["pos"].to_numpy()[rows], records["ref"].to_numpy()[rows]):
            observed[r] = text[pos - 1: pos - 1 + len(ref)]
    fa.close()
    ok = observed == records["ref"].to_numpy()
    n, bad = len(records), int((~ok).sum())
    if n and ((n >= 10 and bad / n > max_fraction) or (n < 10 and bad == n)):
        first = int(np.nonzero(~ok)[0][0])
        r = records.iloc[first]
        raise UserError(
            f"{bad} of {n} REF alleles in {source_label} do not match the reference {fasta_path} "
            f"(e.g. source row {r['source_row']}: {r['chrom']}:{r['pos']} REF {r['ref']}, FASTA has "
            f"{observed[first] or 'nothing'}). The coordinates' genome build probably does not match the "
            "FASTA (hg19 vs GRCh38): set variants.coordinate_column to the column of the FASTA's build "
            "(hg38 for GRCh38) or set reference.fasta to the build of the coordinates."
        )
    reasons = [f"REF mismatch: FASTA has {o or 'nothing (past contig end)'}" for o in observed[~ok]]
    return records[ok].reset_index(drop=True), records[~ok].reset_index(drop=True), reasons


# ------------------------------------------------------------------ 2. bcftools norm
def bcftools_normalize(records: pd.DataFrame, fasta_path: str, lengths: dict[str, int]) -> pd.DataFrame:
    """Left-align, trim and split multiallelics with bcftools norm; returns the new records."""
    with tempfile.TemporaryDirectory(prefix="validsplice_norm_") as tmp:
        src, dst = Path(tmp) / "in.vcf.gz", Path(tmp) / "out.vcf"
        write_labelled_vcf(records, src, lengths)
        try:
            bcftools.norm("-f", fasta_path, "-m", "-any", "-c", "w", "-O", "v", "-o", str(dst), str(src), catch_stdout=False)
        except pysam.utils.SamtoolsError as exc:
            raise UserError(f"bcftools norm failed on the ingested variants against {fasta_path}: {exc}") from None
        return read_ingested_vcf(dst)


def split_alt_equals_ref(normed: pd.DataFrame, before: pd.DataFrame, source_file: str):
    """Rows of the split records whose ALT equals REF (``T -> C,T`` gives ``T>T``).

    Returns (kept rows, reject rows with stage ``allele_split``). Such an allele is not a
    variant: it cannot be scored or labelled, and keeping it would give the record's label
    to a non-change.
    """
    same = (normed["ref"].to_numpy() == normed["alt"].to_numpy())
    if not same.any():
        return normed, pd.DataFrame(columns=REJECT_COLUMNS)
    orig = before.set_index(before["source_row"].astype(str))
    o = orig.loc[normed.loc[same, "source_row"].astype(str)]
    reasons = [f"ALT equals REF after splitting: {c}:{p} {r}>{a} gives {r2}>{a2}"
               for c, p, r, a, r2, a2 in zip(o["chrom"], o["pos"], o["ref"], o["alt"],
                                             normed.loc[same, "ref"], normed.loc[same, "alt"])]
    rejects = _reject_rows(normed[same], source_file, "allele_split", reasons)
    return normed[~same].reset_index(drop=True), rejects


def changed_by_normalization(before: pd.DataFrame, after: pd.DataFrame) -> np.ndarray:
    """Per row of ``after``: the original record's text if bcftools moved/trimmed it, else ''."""
    orig = before.set_index(before["source_row"].astype(str))
    o = orig.loc[after["source_row"].astype(str)]
    same_site = (o["pos"].to_numpy() == after["pos"].to_numpy()) & (o["ref"].to_numpy() == after["ref"].to_numpy())
    alt_kept = np.array([a in oa.split(",") for a, oa in zip(after["alt"], o["alt"])], dtype=bool)
    changed = ~(same_site & alt_kept)
    text = [f"{c}:{p} {r}>{a}" for c, p, r, a in zip(o["chrom"], o["pos"], o["ref"], o["alt"])]
    return np.where(changed, text, "")


# ------------------------------------------------------------------ 3. deduplication
def deduplicate(records: pd.DataFrame, source_file: str):
    """Merge identical (chrom, pos, ref, alt) rows; returns (table, merge records, n conflicting).

    A group of identical rows becomes its first row with: the distinct ids, hgvs and locations
    joined by ";" in row order, every source row, the first non-empty gene, and its label, or
    "Conflicting" when the rows disagree (``source_label`` keeps the distinct labels). The other
    rows of the group go to the merge records with the reason. Vectorized over groups: the former
    loop built a pandas row and a one-row frame per group (~30-60 ms each, minutes for an export
    with thousands of duplicate groups; bench/bench_deduplicate.py)."""
    key = ["chrom", "pos", "ref", "alt"]
    df = records.assign(source_label=records["label"], source_rows=records["source_row"].astype(str))
    dup = df.duplicated(key, keep=False).to_numpy()
    singles = df[~dup]
    if not dup.any():
        return singles.reset_index(drop=True), pd.DataFrame(columns=REJECT_COLUMNS), 0
    rows = df[dup].reset_index(drop=True)
    # groups numbered in order of first appearance; members in row order within each group
    number = rows.groupby(key, sort=False).ngroup().to_numpy()
    order = np.argsort(number, kind="stable")
    members = np.split(order, np.flatnonzero(np.diff(number[order])) + 1)

    def per_group(column: str, join) -> list:
        values = rows[column].astype(str).to_numpy()
        return [join(values[m]) for m in members]

    def distinct(values, skip_empty: bool = False) -> str:
        return ";".join(dict.fromkeys(v for v in values if v or not skip_empty))

    label_values = rows["label"].to_numpy()
    labels = [list(dict.fromkeys(label_values[m])) for m in members]
    merged = rows.iloc[[m[0] for m in members]].copy()
    merged["variant_id"] = per_group("variant_id", distinct)
    merged["source_rows"] = per_group("source_row", ";".join)
    merged["label"] = [ls[0] if len(ls) == 1 else "Conflicting" for ls in labels]
    merged["source_label"] = [";".join(ls) for ls in labels]
    genes = rows["gene"].to_numpy()
    merged["gene"] = [next((g for g in genes[m] if g), "") for m in members]
    merged["hgvs"] = per_group("hgvs", lambda v: distinct(v, skip_empty=True))
    merged["location"] = per_group("location", lambda v: distinct(v, skip_empty=True))

    first_rows = rows["source_row"].to_numpy()
    reasons = [
        f"duplicate of source row {first_rows[m[0]]}: "
        + (f"same class ({ls[0]})" if len(ls) == 1
           else f"disagreeing classes ({' vs '.join(ls)}): merged as Conflicting")
        for m, ls in zip(members, labels)
    ]
    rest = np.concatenate([m[1:] for m in members])
    merges = _reject_rows(rows.iloc[rest], source_file, "deduplicate",
                          [reason for reason, m in zip(reasons, members) for _ in m[1:]])
    table = pd.concat([singles, merged], ignore_index=True)
    return table, merges, sum(len(ls) > 1 for ls in labels)


def _id_allele(allele: str) -> str:
    if len(allele) <= ID_ALLELE_MAX:
        return allele
    return f"{len(allele)}bp{hashlib.sha1(allele.encode()).hexdigest()[:8]}"


def unique_variant_ids(table: pd.DataFrame) -> tuple[np.ndarray, int]:
    """A unique ``variant_id`` per row (rows are unique by (chrom, pos, ref, alt) after
    deduplication); returns (ids, number of rows whose id changed).

    Scheme: an id that names exactly one row stays as the source wrote it. An id shared by
    several rows (both ALTs of a split multiallelic record, a repeated rsID or SpliceVarDB id)
    becomes ``<id>@<chrom>-<pos>-<ref>-<alt>`` for *every* row that shares it (no row keeps the
    bare id, so no allele is preferred), with the normalized allele; alleles longer than
    ``ID_ALLELE_MAX`` bases are written ``<length>bp<first 8 hex of sha1>``. In the
    unlikely case that such a name is itself taken, ``#2``, ``#3``... is appended in table
    order. The id therefore depends only on the row itself, not on the rest of the table.
    """
    ids = table["variant_id"].astype(str).to_numpy()
    shared = pd.Series(ids).duplicated(keep=False).to_numpy()
    out = ids.copy()
    for i in np.flatnonzero(shared):
        r = table.iloc[i]
        out[i] = f"{ids[i]}@{r['chrom']}-{int(r['pos'])}-{_id_allele(str(r['ref']))}-{_id_allele(str(r['alt']))}"
    seen: dict[str, int] = {}
    taken = set(out[~shared])
    for i in np.flatnonzero(shared):
        base = out[i]
        if base in seen or base in taken:
            k = seen.get(base, 1) + 1
            while f"{base}#{k}" in taken:
                k += 1
            seen[base] = k
            out[i] = f"{base}#{k}"
        else:
            seen[base] = 1
        taken.add(out[i])
    assert len(set(out)) == len(out)
    return out, int(shared.sum())


# ------------------------------------------------------------------ 4. annotation
def choose_gene(annotation: GeneAnnotation, idx: np.ndarray, source_gene: str, pos: int) -> tuple[int, str]:
    """The one gene a variant is attributed to, among the overlapping transcripts ``idx``.

    Rule (decided once here; windows, targets, base profiles and predictions all follow it):
    1. the gene the source names, when the annotation has it among the overlapping genes
       (``source``);
    2. else the only overlapping gene (``only overlapping``);
    3. else the overlapping gene whose nearest annotated exon boundary is closest to the
       variant (``nearest exon boundary``); ties go to the first in annotation file order.
    Why 3: splice effects concentrate at exon boundaries, so a variant 2 bp from an exon of
    one gene and deep in an intron of another is, almost always, about the first. The rule
    uses neither the label nor the base model's scores (scoring runs after windows are cut,
    and a score-based choice would make the target pick its own gene).
    Returns (annotation index, how it was chosen); (-1, "none") without overlap.
    """
    if len(idx) == 0:
        return -1, "none"
    names = [str(annotation.names[j]) for j in idx]
    src = str(source_gene).strip()
    if src and src in names:
        return int(idx[names.index(src)]), "source"
    if len(idx) == 1:
        return int(idx[0]), "only overlapping"
    dist = [abs(annotation.exon_boundary_distance(int(j), int(pos))) for j in idx]
    return int(idx[int(np.argmin(dist))]), "nearest exon boundary"  # argmin: first of ties



def annotate(table: pd.DataFrame, annotation: GeneAnnotation, lengths: dict[str, int]) -> pd.DataFrame:
    """Add gene/strand/exon-distance/region/type/contig-end columns (see DESIGN.md)."""
    hits = annotation.overlapping_many(table["chrom"].to_numpy(), table["pos"].to_numpy())
    n = len(table)
    genes, gene, strand, how = [""] * n, [""] * n, ["."] * n, ["none"] * n
    distance = pd.array([pd.NA] * n, dtype="Int64")
    region, site = ["intergenic"] * n, [""] * n
    for i, (idx, src, pos) in enumerate(zip(hits, table["source_gene"], table["pos"].to_numpy())):
        if len(idx) == 0:
            continue
        genes[i] = ";".join(str(annotation.names[j]) for j in idx)
        j, how[i] = choose_gene(annotation, idx, src, int(pos))
        gene[i], strand[i] = str(annotation.names[j]), str(annotation.strands[j])
        distance[i] = annotation.exon_boundary_distance(j, int(pos))
        region[i] = "exonic" if annotation.is_exonic(j, int(pos)) else "intronic"
        site[i] = annotation.nearest_site(j, int(pos))
    ref_len = table["ref"].str.len().to_numpy()
    alt_len = table["alt"].str.len().to_numpy()
    vtype = np.select(
        [(ref_len == 1) & (alt_len == 1), ref_len > alt_len, alt_len > ref_len], ["SNV", "deletion", "insertion"], "MNV"
    )
    contig_len = table["chrom"].map(lengths).to_numpy()
    pos = table["pos"].to_numpy()
    near_end = (pos - CONTEXT_FLANK < 1) | (pos + ref_len - 1 + CONTEXT_FLANK > contig_len)
    return table.assign(
        genes=genes, gene=gene, strand=strand, gene_choice=how, in_gene=np.array([g != "" for g in gene]),
        exon_distance=distance, region=region, nearest_site=site, variant_type=vtype,
        indel_length=(alt_len - ref_len).astype(np.int64), near_contig_end=near_end.astype(bool),
    )


def _reason_counts(rejects: pd.DataFrame) -> dict[str, int]:
    if len(rejects) == 0:
        return {}
    return {str(k): int(v) for k, v in rejects["reason"].str.split(":").str[0].value_counts().items()}


# ------------------------------------------------------------------ rule entry point
def normalize_variants(
    vcf_path,
    fasta_path,
    ingest_rejected_path,
    out_vcf,
    table_path,
    rejected_path,
    summary_path,
    annotation="grch38",
    split: dict | None = None,
    max_ref_mismatch_fraction: float = 0.5,
) -> dict:
    """The ``normalize_variants`` rule: ingested VCF -> normalized VCF, variant table, rejects, summary."""
    fasta_path = first_path(fasta_path)
    lengths = contig_lengths(fasta_path)
    source_file = read_source_file(vcf_path) or str(vcf_path)
    ingest_rejects = read_rejects(ingest_rejected_path)
    records = read_ingested_vcf(vcf_path)
    n_ingested = len(records)
    log.info("normalizing %d variants from %s", n_ingested, vcf_path)
    if n_ingested == 0:
        raise UserError(f"{vcf_path} holds no variants (all rejected at ingestion, see {ingest_rejected_path}).")

    good, bad, reasons = check_ref(records, fasta_path, source_file, max_ref_mismatch_fraction)
    ref_rejects = _reject_rows(bad, source_file, "ref_check", reasons)
    log.info("REF check: %d match, %d mismatch", len(good), len(bad))
    if len(good) == 0:
        raise UserError(f"No variant of {source_file} matches the reference {fasta_path}; see {rejected_path}.")

    normed = bcftools_normalize(good, fasta_path, lengths)
    n_split_added = len(normed) - len(good)  # one row per ALT: a record with k ALTs adds k - 1 rows
    n_multiallelic = int((good["alt"].str.count(",") > 0).sum())
    normed, allele_rejects = split_alt_equals_ref(normed, good, source_file)
    log.info("split %d multiallelic records into %d more rows; %d ALT(s) equal to REF rejected",
             n_multiallelic, n_split_added, len(allele_rejects))
    changed = changed_by_normalization(good, normed)
    is_changed = changed != ""
    new_text = [f"{c}:{p} {r}>{a}" for c, p, r, a in zip(normed["chrom"], normed["pos"], normed["ref"], normed["alt"])]
    norm_notes = _reject_rows(
        normed[is_changed], source_file, "normalize",
        [f"changed by normalization: {o} -> {n}" for o, n, c in zip(changed, new_text, is_changed) if c],
    )
    log.info("bcftools norm: %d records in, %d out, %d changed", len(good), len(normed), int(is_changed.sum()))

    table, merges, n_conflicting = deduplicate(normed, source_file)
    table = sort_records(table, list(lengths))
    log.info("deduplicated: %d variants (%d rows merged, %d conflicting)", len(table), len(merges), n_conflicting)
    table["source_id"] = table["variant_id"].astype(str)
    table["variant_id"], n_renamed = unique_variant_ids(table)
    if n_renamed:
        log.info("%d rows shared their source id with another variant and got a unique variant_id "
                 "(<id>@<chrom>-<pos>-<ref>-<alt>)", n_renamed)

    table = table.rename(columns={"gene": "source_gene"})
    table = annotate(table, GeneAnnotation.load(annotation), lengths)
    table["split"] = assign_splits(table, **(split or {}))
    split_settings = resolve_split(split)
    kfold = split_settings.get("mode") == GROUP_KFOLD
    if kfold:  # group K-fold: the fold that tests each variant (docs/DESIGN.md "Group K-fold")
        table["fold"] = fold_of(table, split_settings.get("k", 5), split_settings.get("seed", 42))
    table["pos"] = table["pos"].astype(np.int64)
    table = table[TABLE_COLUMNS + (["fold"] if kfold else [])].reset_index(drop=True)

    Path(table_path).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(table_path, index=False)
    vcf_records = table.drop(columns=["gene"]).rename(columns={"source_gene": "gene", "source_rows": "source_row"})
    write_labelled_vcf(vcf_records, out_vcf, lengths, extra_header=[f"##validsplice_source={source_file}"])
    all_rejects = pd.concat(
        [r for r in (ingest_rejects, ref_rejects, allele_rejects, norm_notes, merges) if len(r)] or [ingest_rejects],
        ignore_index=True,
    )
    write_rejects(all_rejects, rejected_path)

    true_rejects = pd.concat([r for r in (ingest_rejects, ref_rejects, allele_rejects) if len(r)] or [ingest_rejects],
                             ignore_index=True)
    n_input = int(n_ingested + len(ingest_rejects))
    rows = {
        "input": n_input,
        "added_by_splitting": int(n_split_added),
        "rejected": int(len(true_rejects)),
        "merged_as_duplicates": int(len(merges)),
        "output": int(len(table)),
        "identity": "input + added_by_splitting = output + rejected + merged_as_duplicates",
    }
    if n_input + n_split_added != len(table) + len(true_rejects) + len(merges):
        raise RuntimeError(f"normalize_variants: row accounting does not balance: {rows}")  # a bug, not user input
    summary = {
        "input_rows": n_input,
        "ingested": int(n_ingested),
        "rows": rows,
        "multiallelic_records": n_multiallelic,
        "rejected": _reason_counts(true_rejects),
        "ids_made_unique": int(n_renamed),
        "gene_choice": {k: int(v) for k, v in table["gene_choice"].value_counts().sort_index().items()},
        "duplicates_merged": int(len(merges)),
        "conflicting_from_duplicates": int(n_conflicting),
        "normalized_changed": int(is_changed.sum()),
        "variants": int(len(table)),
        "per_class": {c: int((table["label"] == c).sum()) for c in CLASSES},
        "per_split": {s: {c: int(((table["split"] == s) & (table["label"] == c)).sum()) for c in CLASSES} for s in SPLITS},
        "in_gene": int(table["in_gene"].sum()),
        "no_gene": int((~table["in_gene"]).sum()),
        "near_contig_end": int(table["near_contig_end"].sum()),
    }
    if kfold:
        summary["per_fold"] = {int(f): {c: int(((table["fold"] == f) & (table["label"] == c)).sum()) for c in CLASSES}
                               for f in sorted(table["fold"].unique())}
    Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    log.info("summary: %s", json.dumps(summary))
    return summary
