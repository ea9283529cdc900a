"""The additional base models a model folder reads (manifest ``base_models``), for ``validsplice predict``.

A feature model trained with config ``base_models`` (issue 20) reads each additional model's DS / DP of the
variant's gene as prefixed features (``pangolin_DS_GAIN``, ``openspliceai_DS_AG_masked``, ...). ``predict``
scores every allele once with each of them, with the settings of the manifest (distance, mask) and the weights
the user names (``--pangolin-dir``, ``--openspliceai-dir``), which must be the files the manifest lists
(same names and SHA-256), and gives the trees the table the workflow's scoring would have made
(``scoring.pangolin.shards.pangolin_rows``, ``scoring.shards.rows_from_slots``): the training function
``training.gbm.variant_features`` then builds the same columns from it.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from .model_folder import WEIGHT_GLOBS, ModelFolder, weights_identity

log = logging.getLogger("validsplice.apply.base_models")

# the option naming each model's weights folder (CLI; rule params give the config's folder)
WEIGHTS_OPTION = {"pangolin": "--pangolin-dir", "openspliceai": "--openspliceai-dir"}
SETTING_KEYS = ("distance", "mask", "weights")


@dataclass
class ExtraBaseModel:
    """An additional base model ready to score: its manifest entry and its engine."""

    name: str
    distance: int
    mask: bool
    engine: object


def required_extra_base_models(models: list[ModelFolder]) -> dict[str, dict]:
    """{name: manifest entry} of the additional base models the models read; every folder reading one must
    give it the same settings and weights (predict scores each once for all models)."""
    found: dict[str, tuple[dict, ModelFolder]] = {}
    for m in models:
        for entry in m.base_models:
            name = entry["name"]
            if name == m.base_model["name"]:
                raise UserError(f"--model {m.path}: {name} is both its primary base model and in base_models; "
                                "re-run the model_manifest rule.")
            if name not in found:
                found[name] = (entry, m)
                continue
            first, source = found[name]
            for key in SETTING_KEYS:
                if entry.get(key) != first.get(key):
                    what = "weights (file names / SHA-256)" if key == "weights" else f"{key} {entry.get(key)!r}"
                    raise UserError(f"--model {m.path}: base model {name} {what} differs from --model {source.path}'s"
                                    f" (model.json base_models); predict scores {name} once, so pass models trained "
                                    "with the same settings (or run predict once per model).")
    return {name: entry for name, (entry, _) in found.items()}


def check_weights(name: str, entry: dict, folder) -> Path:
    """``folder`` holds the weight files the manifest lists, byte for byte (SHA-256); else a UserError."""
    option = WEIGHTS_OPTION[name]
    if not str(folder or "").strip():
        raise UserError(f"The model(s) read {name}'s scores or profiles (model.json base_models): pass {option} with the folder "
                        f"of the {name} weights they were trained with ({', '.join(sorted(entry['weights'])) or '?'}).")
    path = Path(folder)
    if not path.is_dir():
        raise UserError(f"{option} {folder}: no such folder; give the folder of the {name} weights the model(s) were "
                        "trained with.")
    given = weights_identity(name, path)
    expected = dict(entry["weights"])
    missing = sorted(set(expected) - set(given))
    if missing:
        raise UserError(f"{option} {folder}: lacks {name} weight file(s) {', '.join(missing)} listed in model.json "
                        "base_models; give the folder the workflow scored with.")
    changed = sorted(f for f in expected if given[f] != expected[f])
    if changed:
        raise UserError(f"{option} {folder}: {', '.join(changed)} differ(s) from the file(s) the model(s) were trained "
                        f"with (SHA-256 in model.json base_models.{name}.weights); give the folder the workflow "
                        "scored with, or retrain with these weights.")
    extra = sorted(set(given) - set(expected))
    if extra and name in WEIGHT_GLOBS:
        raise UserError(f"{option} {folder}: holds {name} weight file(s) {', '.join(extra)} the model(s) were not "
                        "trained with (they would be loaded too); give the folder the workflow scored with.")
    return path


def load_extra_base_models(models: list[ModelFolder], reference, *, device: str, batch_size: int,
                           openspliceai_dir="", pangolin_dir="") -> list[ExtraBaseModel]:
    """Each additional base model the models read, its weights checked against the manifest and loaded."""
    folders = {"pangolin": pangolin_dir, "openspliceai": openspliceai_dir}
    out = []
    for name, entry in required_extra_base_models(models).items():
        folder = check_weights(name, entry, folders.get(name, ""))
        if name == "pangolin":
            from ..scoring.pangolin.engine import PangolinEngine
            from ..scoring.pangolin.network import load_pangolin_folder

            engine = PangolinEngine(load_pangolin_folder(folder), reference, device=device, batch_size=int(batch_size))
        else:
            from ..scoring.incremental import IncrementalEngine
            from ..scoring.weights import load_ensemble

            engine = IncrementalEngine(load_ensemble(name, str(folder), device), reference, device=device,
                                       batch_size=batch_size)
        log.info("additional base model %s: distance %s, mask %s, weights %s", name, entry["distance"],
                 entry["mask"], folder)
        out.append(ExtraBaseModel(name, int(entry["distance"]), bool(entry["mask"]), engine))
    return out


def score_alleles(extra: ExtraBaseModel, alleles: pd.DataFrame, reference, annotation
                  ) -> tuple[pd.DataFrame, np.ndarray]:
    """The score table and profiles the workflow's scoring of ``extra`` makes for ``alleles`` (variant_id,
    chrom, pos, ref, alt: one allele per row): one row per (allele, gene), one per skipped allele; a scored
    row's ``profile_row`` points into the profiles (float16 (n, 2D+1, 2))."""
    if extra.name == "pangolin":
        from ..scoring.pangolin.score import PangolinSettings, score_records
        from ..scoring.pangolin.shards import pangolin_profiles, pangolin_rows

        records = [(str(c), int(p), str(r), str(a))
                   for c, p, r, a in alleles[["chrom", "pos", "ref", "alt"]].itertuples(index=False)]
        results = score_records(records, reference, annotation, extra.engine,
                                PangolinSettings(distance=extra.distance, mask=extra.mask))
        return pangolin_rows(alleles, results, annotation), pangolin_profiles(results, extra.distance)
    from ..scoring.delta import VariantRecord, score_records
    from ..scoring.shards import rows_from_slots

    records = [VariantRecord(str(c), int(p), str(r), (str(a),), label=f"{vid} {c}:{p} {r}>{a}")
               for vid, c, p, r, a in alleles[["variant_id", "chrom", "pos", "ref", "alt"]].itertuples(index=False)]
    slots = score_records(records, reference, annotation, extra.engine, extra.distance, extra.mask)
    table, profiles, _ = rows_from_slots(alleles, slots)
    if profiles is None:
        profiles = np.zeros((0, 2 * extra.distance + 1, 2), dtype=np.float16)
    return table, profiles


def score_tables(extras: list[ExtraBaseModel], alleles: pd.DataFrame, reference, annotation
                 ) -> tuple[dict[str, pd.DataFrame], dict[str, np.ndarray]]:
    """({name: score table of ``alleles``} of every additional base model (what variant_features' extra_scores
    takes), {name: its profiles} (what the paired classifier reads, through ``profile_row``))."""
    tables, profiles = {}, {}
    for extra in extras:
        tables[extra.name], profiles[extra.name] = score_alleles(extra, alleles, reference, annotation)
    return tables, profiles


def per_gene_row(table: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """An additional model's allele score table re-keyed to predict's rows (one per allele and gene:
    ``variant_id`` the row's own id, ``allele_id`` its allele): each row gets its allele's score rows of its
    gene name, under the row's id, so ``choose_score_rows`` picks among them as the workflow picks among a
    variant's rows (its gene, scored first, then its strand); a gene the model did not score gets none (NaN
    features: the trees' missing-value branch, as in training)."""
    keys = pd.DataFrame({"_allele": rows["allele_id"].astype(str).to_numpy(),
                         "gene": rows["gene"].fillna("").astype(str).to_numpy(),
                         "_row": rows["variant_id"].astype(str).to_numpy()})
    scored = table.assign(_allele=table["variant_id"].astype(str), gene=table["gene"].fillna("").astype(str))
    merged = keys.merge(scored.drop(columns="variant_id"), on=["_allele", "gene"], how="inner")
    return merged.assign(variant_id=merged["_row"]).drop(columns=["_allele", "_row"]).reset_index(drop=True)


# ------------------------------------------------------------------ exon-site scores (exon_site_head)
def exon_site_models(models: list[ModelFolder]) -> list[str]:
    """The base models whose exon-site scores a model reads (trees features named ``<base model>_exon_site``,
    ``training.offset_heads.exon_site_column``), in first-seen order."""
    from ..training.offset_heads import exon_site_column

    suffix = exon_site_column("")
    features = [f for m in models if m.kind == "feature_model" for f in m.manifest.get("features") or []]
    return list(dict.fromkeys(f.removesuffix(suffix) for f in features if f.endswith(suffix)))


def exon_site_features(rows: pd.DataFrame, reference, annotation, needed: list[str], primary: str, engine,
                       extras=(), batch_size: int = 16) -> pd.DataFrame:
    """The exon-site head's input columns for ``rows`` (variant_id, chrom, pos, ref, alt, gene), computed with
    the networks the scoring engines already hold, as the workflow's rule base_model_exon_sites computes them:
    ``<name>_exon_site`` = ``exon_site_transform`` of ``exon_site_delta`` (``training.offset_heads.exon_site_inputs``)."""
    from ..scoring.exon_sites import SCORE, exon_site_scores
    from ..scoring.pangolin.score import distinct
    from ..training.offset_heads import exon_site_column, exon_site_transform

    networks = {primary: engine}
    networks.update({e.name: e.engine for e in extras})
    columns = {}
    for name in needed:
        if name not in networks:
            raise UserError(f"a model reads {name}'s exon-site scores but {name} is neither the base model nor one "
                            "of the additional base models its model.json lists; re-run the model_manifest rule.")
        nets = networks[name].nets
        uniq, index = distinct(nets)  # Pangolin's byte-identical files share one network: run it once
        weights = np.bincount(index, minlength=len(uniq)).tolist()
        table = exon_site_scores(rows, reference, annotation, uniq, weights, name, device=networks[name].device,
                                 batch_size=int(batch_size))
        columns[exon_site_column(name)] = exon_site_transform(table[SCORE].to_numpy(dtype=float))
    return pd.DataFrame(columns, index=rows.index)
