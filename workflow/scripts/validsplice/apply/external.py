"""External test sets: a second labelled set scored by every trained experiment, without retraining.

Flow (rules in rules/apply.smk): the set is ingested and normalized like the training data
(``ingest_variants``, ``normalize_variants``, one gene per variant, every variant in the ``test``
split); variants that the training data (train or val split of ``results/variants/variants.parquet``)
holds are removed and listed in ``in_training.tsv`` with the rule that removed them (``OVERLAP_RULES``):
the same normalized allele (chrom/pos/ref/alt), or another ALT at a training site (same chrom/pos: the
models saw that position's sequence context and, often, its label). Of the rest, the **gene-disjoint**
subset (column ``gene_disjoint``) shares no gene group (``split.gene_groups``, the groups the split keeps
apart) with train/val: the strictest external test, reported as its own table.
The base model scores the set once (``predict.predict_variant_table``); each experiment's model
folder gives score and P_SA per variant (``{experiment}/predictions.parquet``, the predictions contract
plus ``p_sa``). A variant the base model could not score gets **no** score (NaN, ``scored`` False) from
every model that reads the base model's delta (spliceai_raw included), never 0.0: evaluation leaves it out
and the summary counts it. Rows combined from calibrated probabilities (``spliceai_calibrated``, the
ensembles) are the mean of their members' P_SA here too (``combine_external``), so every row of the results
table has an external row; one that cannot be made is named with its reason (``naming.external_rows``).
``evaluate_external`` computes the metrics of the main test split for all variants and for the
gene-disjoint subset; ``summary.tsv`` / ``gene_disjoint.tsv`` / ``summary.html`` hold one row per experiment.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..common.files import read_json
from ..io.annotation import strip_chr
from ..io.fasta import contig_lengths, first_path
from ..training.predictions import prediction_table
from ..variants.normalize import normalize_variants
from ..variants.split import gene_groups
from .model_folder import load_model_folder

log = logging.getLogger("validsplice.apply.external")

TRAINING_SPLITS = ("train", "val")
OVERLAP_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "label", "removed_because", "training_variant_id",
                   "training_split", "training_label"]
SAME_ALLELE = "same allele in training"
SAME_SITE = "training site (same chrom:pos, other ALT)"
OVERLAP_RULES = (SAME_ALLELE, SAME_SITE)  # applied in this order; a row counts under the first that removes it
GENE_DISJOINT_RULE = ("no gene group shared with the train or val split (gene groups: connected genes sharing a "
                      "variant, split.gene_groups, over the training table and this set together; a variant with no "
                      "gene is its own group)")


def _site_keys(table: pd.DataFrame) -> pd.Series:
    return table["chrom"].astype(str).map(strip_chr) + ":" + table["pos"].astype(str)


def _keys(table: pd.DataFrame) -> pd.Series:
    return _site_keys(table) + ":" + table["ref"].astype(str) + ":" + table["alt"].astype(str)


def remove_training_overlap(external: pd.DataFrame, training: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(external rows not in train/val of ``training``, the removed rows with the rule and training row).

    Rules (``OVERLAP_RULES``, column ``removed_because``): the normalized allele (chrom without 'chr',
    pos, ref, alt) is a training allele, so a variant written differently in the two sources
    (right-shifted indel, other chromosome naming) is still caught; else another ALT at a training
    site (same chrom and pos).
    """
    seen = training[training["split"].isin(TRAINING_SPLITS)]
    removed, kept = [], external
    for rule, keys in ((SAME_ALLELE, _keys), (SAME_SITE, _site_keys)):
        index = seen.assign(_key=keys(seen)).drop_duplicates("_key").set_index("_key")
        key = keys(kept)
        hit = key.isin(index.index).to_numpy()
        matched = index.loc[key[hit]]
        removed.append(kept[hit].assign(removed_because=rule, training_variant_id=matched["variant_id"].to_numpy(),
                                        training_split=matched["split"].to_numpy(),
                                        training_label=matched["label"].to_numpy()))
        kept = kept[~hit]
    out = pd.concat(removed, ignore_index=True).reindex(columns=OVERLAP_COLUMNS)
    return kept.reset_index(drop=True), out


def gene_disjoint(external: pd.DataFrame, training: pd.DataFrame) -> np.ndarray:
    """Per external row: True when its gene group has no train/val row (``GENE_DISJOINT_RULE``).

    The groups are built over both tables, so an external variant joining a training gene to another
    gene puts both in one group."""
    seen = training[training["split"].isin(TRAINING_SPLITS)]
    cols = ["variant_id", "gene", "genes"]
    both = pd.concat([seen.reindex(columns=cols).assign(variant_id=lambda t: "train:" + t["variant_id"].astype(str)),
                      external.reindex(columns=cols).assign(variant_id=lambda t: "external:" + t["variant_id"].astype(str))],
                     ignore_index=True)
    both[["gene", "genes"]] = both[["gene", "genes"]].fillna("")
    groups = gene_groups(both)
    training_groups = set(groups[: len(seen)])
    return np.array([g not in training_groups for g in groups[len(seen):]], dtype=bool)


def _per_class(table: pd.DataFrame) -> dict:
    return {str(k): int(v) for k, v in table["label"].value_counts().items()}


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
    training = pd.read_parquet(training_variants_path)
    kept, removed = remove_training_overlap(table, training)
    if len(kept) == 0:
        raise UserError(f"external_test {name}: all {len(table)} variants are also in the training data "
                        f"(listed in {overlap_path}); an external test needs variants the models have not seen.")
    kept = kept.assign(gene_disjoint=gene_disjoint(kept, training))
    kept.to_parquet(table_path, index=False)
    removed.to_csv(overlap_path, sep="\t", index=False)
    summary["in_training_removed"] = {
        "n": int(len(removed)),
        "per_rule": {rule: int((removed["removed_because"] == rule).sum()) for rule in OVERLAP_RULES},
        "per_class": _per_class(removed),
        "matched_on": "train and val splits of the training data: first the normalized allele (chrom without "
                      "'chr', pos, ref, alt), then the site (chrom, pos) with any ALT"}
    summary["variants_after_removal"] = int(len(kept))
    summary["per_class_after_removal"] = _per_class(kept)
    disjoint = kept[kept["gene_disjoint"]]
    summary["gene_disjoint"] = {"n": int(len(disjoint)), "per_class": _per_class(disjoint),
                                "removed_as_sharing_a_gene_group": int(len(kept) - len(disjoint)),
                                "rule": GENE_DISJOINT_RULE}
    Path(summary_path).write_text(json.dumps(summary, indent=2) + "\n")
    log.info("external %s: %d variants kept; removed %s; gene-disjoint subset %d (%s)", name, len(kept),
             summary["in_training_removed"]["per_rule"], len(disjoint), summary["gene_disjoint"]["per_class"])
    return summary


def predict_external(*, variants_path, fasta, annotation, model_dirs: list[str], predictions_paths: list[str],
                     scores_path, batch_size: int = 64, device: str = "auto", threads: int = 0,
                     openspliceai_dir: str = "", pangolin_dir: str = "") -> dict[str, pd.DataFrame]:
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
                                            batch_size=batch_size, openspliceai_dir=openspliceai_dir,
                                            pangolin_dir=pangolin_dir)
    Path(scores_path).parent.mkdir(parents=True, exist_ok=True)
    scores.to_parquet(scores_path, index=False)
    tables = {}
    for m, path in zip(models, predictions_paths):
        score, p_sa = results[m.experiment]
        scored = ~np.isnan(score)
        # no score (NaN, scored False) where the model reads the base model's delta and it is missing: never
        # 0.0, which would count the variant as a confident "no effect"; evaluation leaves it out and counts it
        table = prediction_table(variants.assign(target_max_abs_delta=np.nan), score, scored=scored)
        table["p_sa"] = p_sa
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        table.to_parquet(path, index=False)
        tables[m.experiment] = table
        log.info("%s: %d variants, %d with a score, %d without (the base model could not score them)",
                 m.experiment, len(table), int(scored.sum()), int((~scored).sum()))
    return tables


def combine_external(*, member_predictions: list[str], members: list[str], out_predictions, experiment: str):
    """A combined row (``spliceai_calibrated``, an ensemble) on an external set: score = p_sa = the mean of
    its members' P_SA, as ``training.ensemble`` makes it on the main test split; missing where a member's is."""
    from ..training.ensemble import _aligned

    tables = _aligned([pd.read_parquet(p) for p in member_predictions], list(members), "external predictions")
    p = np.vstack([t["p_sa"].to_numpy(dtype=float) for t in tables]).mean(axis=0)
    table = prediction_table(tables[0], p, scored=np.isfinite(p))
    table["p_sa"] = p
    Path(out_predictions).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(out_predictions, index=False)
    log.info("%s: mean P_SA of %s on %d variants (%d without one)", experiment, ", ".join(members), len(table),
             int((~np.isfinite(p)).sum()))
    return table


NO_BASE_SCORE = "score is missing (NaN)"  # evaluation.load_predictions' reason for such rows


def evaluate_external(*, predictions, baseline, training, variants, metrics_path, breakdown_path,
                      disjoint_metrics_path, disjoint_breakdown_path, experiment: str, **settings) -> dict:
    """``evaluate_model`` on the whole external set and on its gene-disjoint subset (``variants.parquet``'s
    ``gene_disjoint``). ``calibrated`` is the predictions table itself (it holds ``p_sa``)."""
    import tempfile

    from ..evaluation.evaluate import evaluate_model

    out = {"all": evaluate_model(predictions, baseline, training, variants, metrics_path, breakdown_path,
                                 experiment=experiment, calibrated=predictions, **settings)}
    table = pd.read_parquet(variants)
    keep = set(table.loc[table["gene_disjoint"].astype(bool), "variant_id"]) if "gene_disjoint" in table else set()
    with tempfile.TemporaryDirectory() as tmp:
        paths = {}
        for key, path in (("predictions", predictions), ("baseline", baseline), ("variants", variants)):
            frame = pd.read_parquet(path)
            paths[key] = str(Path(tmp) / f"{key}.parquet")
            frame[frame["variant_id"].isin(keep)].to_parquet(paths[key], index=False)
        out["gene_disjoint"] = evaluate_model(paths["predictions"], paths["baseline"], training, paths["variants"],
                                              disjoint_metrics_path, disjoint_breakdown_path, experiment=experiment,
                                              calibrated=paths["predictions"], **settings)
    return out


UNSCORED_COLUMN = "Without a score (base model could not score it)"


def _unscored(metrics: dict) -> int:
    return int(((metrics.get("counts") or {}).get("excluded") or {}).get(NO_BASE_SCORE, 0))


def external_summary(*, metrics: list[str], trainings: list[str], prepare_summary, experiments: list[str], tsv,
                     html, name: str, source: str = "", disjoint_metrics: list[str] = (), disjoint_tsv=None,
                     left_out: dict | None = None) -> pd.DataFrame:
    """summary.tsv, gene_disjoint.tsv and summary.html of one external set: the results-summary table for
    all variants and for the gene-disjoint subset, the rows removed per overlap rule, the variants without a
    base-model score per experiment, and the rows left out with their reason."""
    import html as html_lib

    from ..report.results_table import summary_table
    from ..report.table_formats import compact_html, compact_table, format_html

    prep = read_json(prepare_summary)
    training_dicts = [read_json(p) for p in trainings]

    def table_of(paths):
        metric_dicts = [read_json(p) for p in paths]
        table = summary_table(list(experiments), metric_dicts, training_dicts)
        table[UNSCORED_COLUMN] = [_unscored(m) for m in metric_dicts]
        return table

    table = table_of(metrics)
    removed = prep.get("in_training_removed", {})
    per_rule = "; ".join(f"{n} as {rule}" for rule, n in (removed.get("per_rule") or {}).items())
    disjoint = prep.get("gene_disjoint") or {}
    unscored = {e: n for e, n in zip(experiments, table[UNSCORED_COLUMN]) if n}
    left_out = dict(left_out or {})
    description = (f"External test set {name}" + (f" ({source})" if source else "")
                   + f": {prep.get('variants_after_removal', '?')} variants scored by every trained experiment "
                   f"without retraining ({json.dumps(prep.get('per_class_after_removal', {}))}); "
                   f"{removed.get('n', 0)} variant(s) removed as seen in training ({per_rule or 'none'}; "
                   f"{json.dumps(removed.get('per_class', {}))}); {prep.get('rows', {}).get('rejected', 0)} "
                   "input row(s) rejected at ingestion/normalization. "
                   + (f"Variants without a base-model score get no score (not 0.0) from the models reading its "
                      f"delta and are left out of their metrics: {', '.join(f'{e} {n}' for e, n in unscored.items())}. "
                      if unscored else "Every variant has a base-model score. ")
                   + ("Rows of the results table not included: "
                      + "; ".join(f"{row} ({why})" for row, why in left_out.items()) + "."
                      if left_out else "Every row of the results table is included."))
    table.insert(0, "External set", name)
    Path(tsv).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(tsv, sep="\t", index=False, float_format="%.6g")
    page = format_html(table.drop(columns="External set"), description)
    if disjoint_metrics:
        sub = table_of(disjoint_metrics)
        sub.insert(0, "External set", f"{name} (gene-disjoint)")
        if disjoint_tsv:
            sub.to_csv(disjoint_tsv, sep="\t", index=False, float_format="%.6g")
        text = (f"Gene-disjoint subset: {disjoint.get('n', '?')} variants "
                f"({json.dumps(disjoint.get('per_class', {}))}); "
                f"{disjoint.get('removed_as_sharing_a_gene_group', '?')} more removed as sharing a gene group with "
                f"training: {disjoint.get('rule', GENE_DISJOINT_RULE)}.")
        section = (f"<h3>Gene-disjoint subset</h3>\n<p class=\"note\">{html_lib.escape(text)}</p>\n"
                   + compact_html(compact_table(sub.drop(columns="External set"))))
        page = page.replace("</body>", section + "</body>", 1)
    Path(html).write_text(page)
    return table
