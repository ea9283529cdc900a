"""Apply trained experiments to any VCF: ``python -m validsplice predict``; and to a labelled
variant table (the external test sets).

Per VCF record and ALT allele, the base model scores every overlapping gene with the fast
engine and the skip rules of ``score`` (``spliceai.scoring.prepare``), once for all models.
Each (allele, gene) then gets the windows of ``windows.build_windows`` on that gene's strand,
the base model's delta profile of that gene (as ``targets.base_model_inputs`` orients it), each
model's score and its calibrated probability ``P_SA`` = P(splice-altering). This is the path the
workflow's predictions take for a variant whose chosen gene is that gene, so the numbers agree.

A feature model (``spliceai_features_gbm``, ``position_only_gbm``) gets its features from the training
function ``training.gbm.variant_features``: DS masked and unmasked and DP of that gene's row of the one
scoring pass, and the position columns the variant table would hold were that gene the variant's gene
(``normalize.gene_position``: exon distance, region, nearest site; ``normalize.allele_types``: type and
length). A feature model that reads additional base models (config ``base_models``; manifest
``base_models``: Pangolin, OpenSpliceAI) also gets their DS / DP: each scores every allele once
(``apply.base_models``, with the manifest's distance and mask and the weights it lists), and its row of the
same gene joins as the prefixed columns training read (``pangolin_DS_GAIN`` ...). An ``exon_site_head`` gets
each base model's exon-site score of the row's gene (``apply.base_models.exon_site_features``: the workflow's
``scoring.exon_sites`` with the networks of the engines loaded here).

Every overlapping gene gets an entry; ``WORKFLOW_GENE`` says whether that gene is the one the workflow's
gene rule (``normalize.choose_gene``; the source gene is the record's INFO ``GENE`` when the VCF has one)
picks for the variant: the rows with 1 are exactly the kind of row the models were trained and evaluated on.

Output: the input records with ``SpliceAI=`` (as ``score`` writes it) and
``VALIDSPLICE=ALLELE|SYMBOL|P_SA|SCORE|EXPERIMENT|WORKFLOW_GENE``, one entry per allele, gene and experiment
(the first three fields are fixed). ``P_SA`` is ``.`` where a model needs the base model's delta
and the base model could not score that allele and gene (e.g. a multi-base REF and ALT).
Records are read (as ``score`` reads them: plain, gzip, bgzip or stdin, the same record checks),
scored and written in chunks of 1,000, so memory does not grow with the VCF.
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pysam
import torch

from ..common.errors import UserError
from ..io.annotation import GeneAnnotation
from ..scoring.delta import Reference, VariantRecord, info_entries, score_records
from ..scoring.shards import rows_from_slots
from ..training.targets import base_model_inputs, choose_score_rows
from ..variants.normalize import allele_types, choose_gene, gene_position
from ..variants.windows import build_windows
from .base_models import exon_site_features, exon_site_models, load_extra_base_models, per_gene_row, score_tables
from .model_folder import ModelFolder, load_model_folder

log = logging.getLogger("validsplice.apply.predict")

VALIDSPLICE_FORMAT = "ALLELE|SYMBOL|P_SA|SCORE|EXPERIMENT|WORKFLOW_GENE"
CHUNK_RECORDS = 1000
SCORED = "scored"
WINDOWED = (SCORED, "skipped: multi-base ref and alt")  # rows that have a gene and can be windowed


# ------------------------------------------------------------------ models and base-model settings
def load_models(model_dirs, device="cpu") -> list[ModelFolder]:
    models = [load_model_folder(d, device) for d in model_dirs]
    names = [m.experiment for m in models]
    if len(set(names)) != len(names):
        raise UserError(f"--model: experiment names {names} repeat; give each model folder once.")
    return models


def shared_base_model(models: list[ModelFolder], annotation: str | None = None) -> dict:
    """The base-model settings every model was trained with; they must agree (one scoring run)."""
    first = models[0].base_model
    for m in models[1:]:
        other = m.base_model
        for key in ("name", "distance", "mask"):
            if other[key] != first[key]:
                raise UserError(f"--model {m.path}: base model {key} {other[key]!r} differs from {first[key]!r} of "
                                f"--model {models[0].path}; predict runs the base model once, so pass models "
                                "trained with the same base-model settings (or run predict once per model).")
    if annotation is not None:
        given = Path(str(annotation)).name if str(annotation).lower() not in ("grch37", "grch38") else str(annotation)
        trained = {m.base_model["annotation"] for m in models}
        if trained != {given}:
            log.warning("-A %s differs from the annotation the models were trained with (%s); gene choice and "
                        "masking follow -A", given, ", ".join(sorted(trained)))
    return first


def base_model_engine(base: dict, reference: Reference, *, device: str, batch_size: int, openspliceai_dir=""):
    from ..scoring.incremental import IncrementalEngine
    from ..scoring.weights import load_ensemble

    if base["name"] == "openspliceai" and not openspliceai_dir:
        raise UserError("The models were trained on OpenSpliceAI scores: pass --openspliceai-dir with the "
                        "folder of OpenSpliceAI .pt checkpoints used in training.")
    nets = load_ensemble(base["name"], openspliceai_dir, device)
    return IncrementalEngine(nets, reference, device=device, batch_size=batch_size)


# ------------------------------------------------------------------ shared core: rows -> model inputs -> P_SA
def model_inputs(rows: pd.DataFrame, scores: pd.DataFrame, profiles, fasta, *, distance: int,
                 window_length: int, features: bool = False, extra_scores: dict | None = None,
                 extra_profiles: dict | None = None, exon_sites: pd.DataFrame | None = None) -> dict:
    """Inputs of every model for ``rows`` (one per variant and gene: variant_id unique, chrom as in the
    FASTA, pos, ref, alt, gene, strand), from the base-model ``scores``/``profiles`` of those ids.

    ``features``: also the feature models' input (``rows`` then holds the variant table's position
    columns, ``gene_rows_position`` adds them to VCF rows), made by the training function; ``extra_scores``:
    {additional base model: its score table of those ids}, the prefixed features of the models reading them;
    ``extra_profiles``: {additional base model: its profiles, ``profile_row`` of its table}: each one's
    aligned profile (``extra_base_profiles``), channels a paired classifier stacks after the primary's;
    ``exon_sites``: the exon-site head's columns of ``rows`` (``apply.base_models.exon_site_features``)."""
    if profiles is None:
        profiles = np.zeros((0, 2 * distance + 1, 2), dtype=np.float16)
    base_profile = base_model_inputs(rows, scores, profiles, distance=distance)
    max_ds = choose_score_rows(rows, scores)["spliceai_max_ds"].to_numpy(dtype=float)
    windows = build_windows(rows, fasta, window_length)
    out = {"ref": windows["ref"], "alt": windows["alt"], "base_profile": base_profile, "base_max_ds": max_ds,
           "indel_length": (rows["alt"].str.len() - rows["ref"].str.len()).to_numpy(np.float32),
           # cropped to the primary's ±D as in the workflow (align_base_model_profiles)
           "extra_base_profiles": {name: base_model_inputs(rows, (extra_scores or {})[name], prof, distance=distance)
                                   for name, prof in (extra_profiles or {}).items()}}
    if features:
        from ..training.gbm import variant_features

        out["features"] = variant_features(rows.reset_index(drop=True), scores, extra_scores=extra_scores)
        if exon_sites is not None and len(exon_sites.columns):
            out["features"] = pd.concat([out["features"], exon_sites.reset_index(drop=True)], axis=1)
    return out


def needs_features(models: list[ModelFolder]) -> bool:
    return any(m.kind == "feature_model" for m in models)


def gene_rows_position(rows: pd.DataFrame, annotation: GeneAnnotation) -> pd.DataFrame:
    """``rows`` (one per allele and gene; chrom as in the FASTA, ``source_gene`` optional) plus the columns
    the variant table holds for a variant's gene, here for each row's own gene, with the workflow's
    functions: variant_type, indel_length (``allele_types``), exon_distance, region, nearest_site
    (``gene_position``), and ``workflow_gene``: True when ``choose_gene`` picks this row's gene for the
    allele among all overlapping genes (what ``normalize_variants`` decides for the variant table)."""
    n = len(rows)
    distance = pd.array([pd.NA] * n, dtype="Int64")
    region, site, chosen = ["intergenic"] * n, [""] * n, np.zeros(n, dtype=bool)
    sources = rows["source_gene"] if "source_gene" in rows else pd.Series([""] * n, index=rows.index)
    hits = annotation.overlapping_many(rows["chrom"].to_numpy(), rows["pos"].to_numpy()) if n else []
    for i, (idx, gene, strand, pos, src) in enumerate(zip(hits, rows["gene"].fillna(""), rows["strand"].fillna("."),
                                                          rows["pos"].to_numpy(), sources.fillna(""))):
        mine = [int(j) for j in idx if annotation.names[j] == gene and annotation.strands[j] == strand]
        if not mine:
            continue
        distance[i], region[i], site[i] = gene_position(annotation, mine[0], int(pos))
        j, _ = choose_gene(annotation, idx, str(src), int(pos))
        chosen[i] = j >= 0 and annotation.names[j] == gene and annotation.strands[j] == strand
    vtype, indel_length = allele_types(rows["ref"], rows["alt"])
    return rows.assign(variant_type=vtype, indel_length=indel_length, exon_distance=distance, region=region,
                       nearest_site=site, workflow_gene=chosen)


def apply_models(models: list[ModelFolder], inputs: dict, base_scored: np.ndarray, *, batch_size: int,
                 device) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """{experiment: (score, P_SA)}; NaN where a model needs the base model's delta and it is missing."""
    out = {}
    for m in models:
        score = m.scores(inputs, batch_size, device) if len(base_scored) else np.zeros(0)
        p_sa = m.p_sa(score) if len(score) else np.zeros(0)
        if m.needs_base_model_delta:
            score = np.where(base_scored, score, np.nan)
            p_sa = np.where(base_scored, p_sa, np.nan)
        out[m.experiment] = (score, p_sa)
    return out


def max_window_length(models: list[ModelFolder]) -> int:
    return max([m.window_length for m in models if m.window_length] or [1])


# ------------------------------------------------------------------ a labelled variant table (external sets)
def predict_variant_table(variants: pd.DataFrame, fasta, annotation, models: list[ModelFolder], *, device="cpu",
                          batch_size: int = 64, openspliceai_dir="", pangolin_dir="") -> tuple[pd.DataFrame, dict]:
    """Score a normalized variant table (``variants.parquet`` contract, one gene per variant) with every
    model: the base model once (and each additional one the models read), then each model on the variant's
    chosen gene, as the workflow does.

    Returns (the base-model score rows, {experiment: (score, P_SA)}), in table order.
    """
    base = shared_base_model(models, annotation)
    reference = Reference(fasta)
    engine = base_model_engine(base, reference, device=device, batch_size=batch_size,
                               openspliceai_dir=openspliceai_dir)
    records = [VariantRecord(str(c), int(p), str(r), (str(a),), label=f"{vid} {c}:{p} {r}>{a}")
               for vid, c, p, r, a in variants[["variant_id", "chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    genes = GeneAnnotation.load(annotation)
    slots = score_records(records, reference, genes, engine, int(base["distance"]), bool(base["mask"]))
    scores, profiles, _ = rows_from_slots(variants, slots)
    extras = load_extra_base_models(models, reference, device=device, batch_size=batch_size,
                                    openspliceai_dir=openspliceai_dir, pangolin_dir=pangolin_dir)
    extra_scores, extra_profiles = score_tables(extras, variants, reference, genes)
    sites = exon_site_features(variants, reference, genes, exon_site_models(models), base["name"], engine, extras,
                               batch_size=batch_size)
    inputs = model_inputs(variants, scores, profiles, fasta, distance=int(base["distance"]),
                          window_length=max_window_length(models), features=needs_features(models),
                          extra_scores=extra_scores, extra_profiles=extra_profiles, exon_sites=sites)
    scored = ~np.isnan(inputs["base_max_ds"])
    return scores, apply_models(models, inputs, scored, batch_size=batch_size, device=device)


# ------------------------------------------------------------------ VCF records
def source_gene(rec) -> str:
    """The record's INFO ``GENE`` (as ingested VCFs carry the source's gene), else ""."""
    try:
        value = rec.info.get("GENE")
    except (ValueError, KeyError):  # a header without GENE
        return ""
    if isinstance(value, tuple):
        value = value[0] if value else None
    return "" if value is None else str(value)


def allele_rows(records: list, reference: Reference) -> pd.DataFrame:
    """One row per (record, ALT): ``variant_id`` '<record>:<allele>' (both 0-based in the chunk)."""
    rows = []
    for k, rec in enumerate(records):
        gene = source_gene(rec)
        for j, alt in enumerate(rec.alts or (".",)):
            rows.append({"variant_id": f"{k}:{j}", "record": k, "chrom": rec.chrom,
                         "contig": reference.contig(rec.chrom) or rec.chrom, "pos": int(rec.pos),
                         "ref": rec.ref, "alt": alt, "id": rec.id or ".", "source_gene": gene})
    return pd.DataFrame(rows, columns=["variant_id", "record", "chrom", "contig", "pos", "ref", "alt", "id",
                                       "source_gene"])


def predict_chunk(records: list, reference: Reference, annotation: GeneAnnotation, engine, models, fasta, *,
                  base: dict, batch_size: int, device, extras=()) -> tuple[pd.DataFrame, list[list[str]]]:
    """Per (allele, gene) row: base-model scores and every model's score and P_SA; plus each record's
    ``SpliceAI=`` entries."""
    alleles = allele_rows(records, reference)
    tasks = [VariantRecord(r.chrom, r.pos, r.ref, (r.alt,), label=f"{r.chrom}\t{r.pos}\t{r.id}\t{r.ref}\t{r.alt}")
             for r in alleles.itertuples(index=False)]
    slots = score_records(tasks, reference, annotation, engine, int(base["distance"]), bool(base["mask"]))
    spliceai = [[] for _ in records]
    for rec_k, allele_slots in zip(alleles["record"], slots):
        spliceai[rec_k].extend(info_entries(allele_slots))
    scores, profiles, _ = rows_from_slots(alleles, slots)
    scores = scores.merge(alleles[["variant_id", "record", "contig", "id", "source_gene"]], on="variant_id",
                          how="left")
    # one model row per (allele, gene): its own id, so the workflow's per-variant functions apply unchanged
    scores["row_id"] = scores["variant_id"] + "|" + scores["gene"].fillna("") + "|" + scores["strand"].fillna(".")
    table = scores.assign(variant_id=scores["row_id"], allele_id=scores["variant_id"])
    has_gene = (table["gene"].fillna("") != "").to_numpy()
    positioned = gene_rows_position(table[has_gene].assign(chrom=lambda t: t["contig"]).reset_index(drop=True),
                                    annotation)
    chosen = np.full(len(table), None, dtype=object)  # no gene: neither the workflow's gene nor another
    chosen[has_gene] = positioned["workflow_gene"].to_numpy()
    table["workflow_gene"] = chosen
    windowed = table["status"].isin(WINDOWED) & (table["gene"].fillna("") != "")
    rows = positioned[table.loc[has_gene, "status"].isin(WINDOWED).to_numpy()].reset_index(drop=True)
    results = {}
    if len(rows):
        # each additional base model scores the alleles with a row here, its rows re-keyed to (allele, gene) rows
        allele_table = alleles[alleles["variant_id"].isin(set(rows["allele_id"]))]
        tables, extra_profiles = score_tables(list(extras), allele_table, reference, annotation)
        extra_scores = {name: per_gene_row(t, rows) for name, t in tables.items()}  # profile_row kept
        sites = exon_site_features(rows, reference, annotation, exon_site_models(models), base["name"], engine,
                                   extras, batch_size=batch_size)
        inputs = model_inputs(rows, table[windowed], profiles, fasta, distance=int(base["distance"]),
                              window_length=max_window_length(models), features=needs_features(models),
                              extra_scores=extra_scores, extra_profiles=extra_profiles, exon_sites=sites)
        results = apply_models(models, inputs, (rows["status"] == SCORED).to_numpy(), batch_size=batch_size,
                               device=device)
    for m in models:
        for kind, k in (("score", 0), ("p_sa", 1)):
            col = np.full(len(table), np.nan)
            if results:
                col[windowed.to_numpy()] = results[m.experiment][k]
            table[f"{kind}:{m.experiment}"] = col
    return table, spliceai


def validsplice_entries(table: pd.DataFrame, experiments: list[str], n_records: int) -> list[list[str]]:
    """The VALIDSPLICE= entries of each record: per allele, gene (file order) and experiment."""
    entries = [[] for _ in range(n_records)]
    rows = table[table["status"].isin(WINDOWED) & (table["gene"].fillna("") != "")]
    for i in range(len(rows)):
        alt, gene, record = rows["alt"].iat[i], rows["gene"].iat[i], int(rows["record"].iat[i])
        chosen = int(bool(rows["workflow_gene"].iat[i]))
        for exp in experiments:
            p, s = rows[f"p_sa:{exp}"].iat[i], rows[f"score:{exp}"].iat[i]
            p_text = "." if np.isnan(p) else f"{p:.4f}"
            s_text = "." if np.isnan(s) else f"{s:.4f}"
            entries[record].append(f"{alt}|{gene}|{p_text}|{s_text}|{exp}|{chosen}")
    return entries


def header_lines(models: list[ModelFolder], base: dict, extras=()) -> list[str]:
    from ..scoring.vcf_stream import HEADER_LINE

    names = ",".join(m.experiment for m in models)
    return [
        HEADER_LINE,
        '##INFO=<ID=VALIDSPLICE,Number=.,Type=String,Description="validsplice prediction per allele, gene and '
        'experiment. P_SA: calibrated probability that the variant alters splicing (calibrator fitted on the '
        "validation split of the experiment's training data); SCORE: the model's raw score; WORKFLOW_GENE: 1 "
        "when SYMBOL is the gene the workflow's gene rule picks for this allele among the overlapping genes "
        "(the rows the models were trained on), else 0. "
        f'Experiments: {names}. Format: {VALIDSPLICE_FORMAT}">',
        f"##validsplice_predict=experiments {names}; base model {base['name']}, distance {base['distance']}, "
        f"mask {base['mask']}, trained with annotation {base['annotation']}"
        + "".join(f"; additional base model {e.name}, distance {e.distance}, mask {int(e.mask)}" for e in extras),
    ]


TSV_COLUMNS = ["chrom", "pos", "id", "ref", "alt", "gene", "strand", "workflow_gene", "status", "DS_AG", "DS_AL", "DS_DG", "DS_DL",
               "DP_AG", "DP_AL", "DP_DG", "DP_DL", "max_ds"]


def _check_outputs(input_path, output_path, tsv_path) -> None:
    from ..scoring.vcf_stream import check_writable

    for out in (output_path, tsv_path):
        if out and str(out) != "-":
            if str(input_path) != "-" and Path(out).resolve() == Path(str(input_path)).resolve():
                raise UserError(f"{out}: the output would overwrite the input VCF; choose another path.")
            check_writable(str(out))


def predict_vcf(input_path, output_path, fasta, annotation, model_dirs, *, tsv_path=None, batch_size: int = 64,
                device: str = "auto", threads: int = 0, openspliceai_dir="", pangolin_dir="",
                chunk_records: int = CHUNK_RECORDS) -> dict:
    """Annotate ``input_path`` ('-': stdin; plain, gzip or bgzip) with SpliceAI= and VALIDSPLICE= (module
    docstring). Input reading and its checks are those of ``score`` (``spliceai.vcf_stream``, ``read_chunk``)."""
    from ..common.device import resolve_device
    from ..scoring.vcf_stream import Counts, VcfInput, htslib_quiet, read_chunk

    if not model_dirs:
        raise UserError("--model: give at least one trained experiment folder (results/models/<experiment>).")
    _check_outputs(input_path, output_path, tsv_path)
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device)
    models = load_models(model_dirs, device)
    base = shared_base_model(models, annotation)
    with htslib_quiet():
        reference = Reference(fasta)
    gene_table = GeneAnnotation.load(annotation)
    engine = base_model_engine(base, reference, device=device, batch_size=batch_size,
                               openspliceai_dir=openspliceai_dir)
    extras = load_extra_base_models(models, reference, device=device, batch_size=batch_size,
                                    openspliceai_dir=openspliceai_dir, pangolin_dir=pangolin_dir)
    source = VcfInput(str(input_path))
    try:
        if source.warning:
            log.warning(source.warning)
        header = source.vcf.header
        contigs, has_end = set(header.contigs), "END" in header.info
        had_spliceai = "SpliceAI" in header.info
        for line in header_lines(models, base, extras):
            if not (had_spliceai and line.startswith("##INFO=<ID=SpliceAI")):
                header.add_line(line)
        try:
            with htslib_quiet():
                out = pysam.VariantFile(str(output_path), mode="wz" if str(output_path).endswith(".gz") else "w",
                                        header=header)
        except (OSError, ValueError) as exc:
            raise UserError(f"Cannot write {output_path}: {exc}") from None
        with out:
            counts = _stream(source, out, contigs, has_end, reference, gene_table, engine, models, fasta, base,
                             extras=extras, batch_size=batch_size, device=device, tsv_path=tsv_path, chunk_records=chunk_records,
                             had_spliceai=had_spliceai, reading=Counts(), read_chunk=read_chunk)
    finally:
        source.close()
    for reason, n in counts["skipped"].items():
        log.info("not predicted: %d allele row(s), %s", n, reason)
    log.info("wrote %s: %d records in %.1f s", output_path, counts["records"], counts["seconds"])
    return counts


def _stream(source, out, contigs, has_end, reference, gene_table, engine, models, fasta, base, *, extras, batch_size,
            device, tsv_path, chunk_records, had_spliceai, reading, read_chunk) -> dict:
    experiments = [m.experiment for m in models]
    counts = {"records": 0, "alleles": 0, "allele_gene_rows": 0, "with_p_sa": 0, "skipped": {}}
    start = time.perf_counter()
    vcf_iter, at_end = iter(source.vcf), False
    tsv_first = True
    while not at_end:
        chunk, error, at_end = read_chunk(vcf_iter, chunk_records, reading, contigs, has_end, source.name)
        if chunk:
            table, spliceai = predict_chunk(chunk, reference, gene_table, engine, models, fasta, base=base,
                                            batch_size=batch_size, device=device, extras=extras)
            entries = validsplice_entries(table, experiments, len(chunk))
            for rec, sai, vs in zip(chunk, spliceai, entries):
                if sai:
                    rec.info["SpliceAI"] = sai
                elif had_spliceai and "SpliceAI" in rec.info:
                    del rec.info["SpliceAI"]  # a stale input value must not pass for ours
                if vs:
                    rec.info["VALIDSPLICE"] = vs
                out.write(rec)
            if tsv_path:
                _write_tsv(table, experiments, tsv_path, first=tsv_first)
                tsv_first = False
            _count(counts, chunk, table, experiments)
            log.info("%d records, %d (allele, gene) rows predicted, %.1f records/s", counts["records"],
                     counts["allele_gene_rows"], counts["records"] / max(time.perf_counter() - start, 1e-9))
        if error is not None:
            raise error
    source.check_complete(reading.read)
    if tsv_path and tsv_first:
        _write_tsv(predict_empty_table(experiments), experiments, tsv_path, first=True)
    counts["seconds"] = round(time.perf_counter() - start, 3)
    return counts


def _count(counts: dict, chunk, table: pd.DataFrame, experiments) -> None:
    counts["records"] += len(chunk)
    counts["alleles"] += int(table["variant_id"].str.split("|").str[0].nunique())
    windowed = table["status"].isin(WINDOWED) & (table["gene"].fillna("") != "")
    counts["allele_gene_rows"] += int(windowed.sum())
    if experiments:
        counts["with_p_sa"] += int(table[f"p_sa:{experiments[0]}"].notna().sum())
    for reason, n in table.loc[~windowed, "status"].value_counts().items():
        counts["skipped"][reason] = counts["skipped"].get(reason, 0) + int(n)


def predict_empty_table(experiments) -> pd.DataFrame:
    return pd.DataFrame(columns=TSV_COLUMNS + [f"{k}:{e}" for e in experiments for k in ("score", "p_sa")])


def _write_tsv(table: pd.DataFrame, experiments, path, first: bool) -> None:
    cols = TSV_COLUMNS + [f"{k}:{e}" for e in experiments for k in ("score", "p_sa")]
    out = table.reindex(columns=cols).rename(columns={f"{k}:{e}": f"{k.upper()}_{e}" for e in experiments
                                                     for k in ("score", "p_sa")})
    out.to_csv(path, sep="\t", index=False, header=first, mode="w" if first else "a", na_rep=".",
               float_format="%.8g")
