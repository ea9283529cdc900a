"""External test sets: a second labelled set scored by every trained experiment, without retraining.

Flow (rules in rules/apply.smk): the set is ingested and normalized like the training data
(``ingest_variants``, ``normalize_variants``, one gene per variant, every variant in the ``test``
split); variants that are also in the training data (train or val split of
``results/variants/variants.parquet``, same normalized chrom/pos/ref/alt) are removed and listed in
``in_training.tsv``; the base model scores the rest once (``predict_vcf.predict_variant_table``);
each experiment's model folder gives score and P_SA per variant (``{experiment}/predictions.parquet``,
the predictions contract plus ``p_sa``); ``evaluate_model`` computes the same metrics and
intervals as for the main test split; ``summary.tsv`` / ``summary.html`` hold one row per experiment.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..io.annotation import strip_chr
from ..io.fasta import contig_lengths, first_path
from ..training.predictions import prediction_table
from ..variants.normalize import normalize_variants
from .model_folder import load_model_folder

log = logging.getLogger("validsplice.apply.external")

TRAINING_SPLITS = ("train", "val")
OVERLAP_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "label", "training_variant_id", "training_split",
                   "training_label"]


def _keys(table: pd.DataFrame) -> pd.Series:
    return (table["chrom"].astype(str).map(strip_chr) + ":" + table["pos"].astype(str) + ":"
            + table["ref"].astype(str) + ":" + table["alt"].astype(str))


def remove_training_overlap(external: pd.DataFrame, training: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(external rows not in train/val of ``training``, the removed rows with the training row they match).

    Matching is on the normalized allele (chrom without 'chr', pos, ref, alt), so a variant written
    differently in the two sources (right-shifted indel, other chromosome naming) is still caught.
    """
    seen = training[training["split"].isin(TRAINING_SPLITS)]
    seen = seen.assign(_key=_keys(seen)).drop_duplicates("_key").set_index("_key")
    key = _keys(external)
    hit = key.isin(seen.index).to_numpy()
    removed = external[hit].copy()
    matched = seen.loc[key[hit]]
    removed["training_variant_id"] = matched["variant_id"].to_numpy()
    removed["training_split"] = matched["split"].to_numpy()
    removed["training_label"] = matched["label"].to_numpy()
    return external[~hit].reset_index(drop=True), removed[OVERLAP_COLUMNS].reset_index(drop=True)


def normalize_external(*, vcf_path, fasta_path, ingest_rejected_path, training_variants_path, out_vcf, table_path,
                     rejected_path, summary_path, overlap_path, annotation="grch38",
                     max_ref_mismatch_fraction: float = 0.5, name: str = "") -> dict:
    """Normalize an ingested external set (every variant in the test split), drop training variants."""
    contigs = list(contig_lengths(first_path(fasta_path)))
    summary = normalize_variants(
        vcf_path, fasta_path, ingest_rejected_path, out_vcf, table_path, rejected_path, summary_path,
        annotation=annotation, max_ref_mismatch_fraction=max_ref_mismatch_fraction,
        split={"mode": "chromosome", "test_chromosomes": contigs, "validation_fraction": 0.0},
    )
    table = pd.read_parquet(table_path)
    kept, removed = remove_training_overlap(table, pd.read_parquet(training_variants_path))
    if len(kept) == 0:
        raise UserError(f"external_test {name}: all {len(table)} variants are also in the training data "
                        f"(listed in {overlap_path}); an external test needs variants the models have not seen.")
    kept.to_parquet(table_path, index=False)
    removed.to_csv(overlap_path, sep="\t", index=False)
    summary["in_training_removed"] = {"n": int(len(removed)),
                                      "per_class": {str(k): int(v) for k, v in removed["label"].value_counts().items()},
                                      "matched_on": "normalized chrom (without 'chr'), pos, ref, alt; train and val "
                                                    "splits of the training data"}
    summary["variants_after_removal"] = int(len(kept))
    summary["per_class_after_removal"] = {str(k): int(v) for k, v in kept["label"].value_counts().items()}
    Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    log.info("external %s: %d variants, %d also in training removed (%s)", name, len(kept), len(removed),
             summary["in_training_removed"]["per_class"])
    return summary


def predict_external(*, variants_path, fasta, annotation, model_dirs: list[str], predictions_paths: list[str],
                     scores_path, batch_size: int = 64, device: str = "auto", threads: int = 0,
                     openspliceai_dir: str = "") -> dict[str, pd.DataFrame]:
    """Score the external set with every model folder; one predictions table (+ ``p_sa``) per experiment."""
    import torch

    from ..common.device import resolve_device
    from .predict import predict_variant_table

    if len(model_dirs) != len(predictions_paths):
        raise UserError(f"predict_external: {len(model_dirs)} model folders but {len(predictions_paths)} outputs.")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device)
    variants = pd.read_parquet(variants_path)
    models = [load_model_folder(d, device) for d in model_dirs]
    scores, results = predict_variant_table(variants, fasta, annotation, models, device=device,
                                            batch_size=batch_size, openspliceai_dir=openspliceai_dir)
    Path(scores_path).parent.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(scores_path, index=False)
    tables = {}
    for m, path in zip(models, predictions_paths):
        score, p_sa = results[m.experiment]
        scored = ~np.isnan(score)
        # like the main test split: the model's score where it has one, 0.0 (and scored False) otherwise
        table = prediction_table(variants.assign(target_max_abs_delta=np.nan), np.where(scored, score, 0.0),
                                 scored=scored)
        table["p_sa"] = p_sa
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path, index=False)
        tables[m.experiment] = table
        log.info("%s: %d variants, %d with a score", m.experiment, len(table), int(scored.sum()))
    return tables


def external_summary(*, metrics: list[str], trainings: list[str], prepare_summary, experiments: list[str], tsv,
                     html, name: str, source: str = "") -> pd.DataFrame:
    """summary.tsv and summary.html of one external set: the results-summary table, plus its counts."""
    from ..report.summary import format_html, summary_table

    def read(path):
        try:
            return json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: cannot read JSON ({exc}); re-run the rule that writes it.") from None

    prep = read(prepare_summary)
    table = summary_table(list(experiments), [read(p) for p in metrics], [read(p) for p in trainings])
    removed = prep.get("in_training_removed", {})
    description = (f"External test set {name}" + (f" ({source})" if source else "")
                   + f": {prep.get('variants_after_removal', '?')} variants scored by every trained experiment "
                   f"without retraining ({json.dumps(prep.get('per_class_after_removal', {}))}); "
                   f"{removed.get('n', 0)} variant(s) also in the training data removed "
                   f"({json.dumps(removed.get('per_class', {}))}); {prep.get('rows', {}).get('rejected', 0)} "
                   "input row(s) rejected at ingestion/normalization.")
    table.insert(0, "External set", name)
    Path(tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    Path(html).write_text(format_html(table.drop(columns="External set"), description))
    return table
