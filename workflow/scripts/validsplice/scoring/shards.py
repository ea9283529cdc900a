"""The workflow side of the base model: score one shard of the variant table, gather shards.

Scores table columns and ``delta_profiles.npy`` layout: docs/DESIGN.md, "Scores".
"""
from __future__ import annotations

import json
import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ..common.device import resolve_device
from ..common.errors import UserError
from ..io.annotation import GeneAnnotation
from .delta import Reference, VariantRecord, score_records

log = logging.getLogger(__name__)

DS_NAMES = ["DS_AG", "DS_AL", "DS_DG", "DS_DL"]
MASKED_DS = [f"{c}_masked" for c in DS_NAMES]  # SpliceAI -M 1 values, whatever base_model.mask says
UNMASKED_DS = [f"{c}_unmasked" for c in DS_NAMES]  # -M 0 values
SCORE_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "gene", "strand", *DS_NAMES,
                 "DP_AG", "DP_AL", "DP_DG", "DP_DL", "max_ds", "status", "flags", "profile_row",
                 *MASKED_DS, *UNMASKED_DS]
REQUIRED = ["variant_id", "chrom", "pos", "ref", "alt"]

def read_shard_table(table: str, shard: int, n_shards: int, shards_key: str) -> pd.DataFrame:
    """The variant table a scoring shard reads, after checking the shard number (``shards_key``: the config
    key that sets ``n_shards``) and the columns every base model's shard scorer needs."""
    if not 0 <= int(shard) < int(n_shards):
        raise UserError(f"shard {shard} is outside 0..{int(n_shards) - 1}; check {shards_key} in the config.")
    try:
        variants = pd.read_parquet(table)
    except (OSError, ValueError) as exc:
        raise UserError(f"Cannot read variant table {table}: {exc}") from None
    missing = [c for c in REQUIRED if c not in variants.columns]
    if missing:
        raise UserError(f"{table}: missing column(s) {missing}; it must be the variants.parquet of "
                        "normalize_variants (docs/DESIGN.md).")
    return variants



def shard_rows(table: pd.DataFrame, contig_order: list[str], shard: int, n_shards: int) -> pd.DataFrame:
    """The shard's contiguous chunk of the (chrom, pos)-sorted table, so clusters stay together."""
    rank = {c: i for i, c in enumerate(contig_order)}
    key = table["chrom"].map(lambda c: rank.get(c, rank.get("chr" + c, rank.get(c[3:], len(rank)))))
    ordered = table.assign(_k=key.to_numpy()).sort_values(["_k", "pos"], kind="stable").drop(columns="_k")
    bounds = np.linspace(0, len(ordered), n_shards + 1).round().astype(int)
    return ordered.iloc[bounds[shard]:bounds[shard + 1]]


def rows_from_slots(variants: pd.DataFrame, slots) -> tuple[pd.DataFrame, np.ndarray, int]:
    """Score rows (one per variant x gene, one per unscored variant) and the stacked profiles."""
    rows, profiles = [], []
    for (_, v), rec_slots in zip(variants.iterrows(), slots):
        base = {"variant_id": v["variant_id"], "chrom": v["chrom"], "pos": int(v["pos"]), "ref": v["ref"],
                "alt": v["alt"]}
        if not rec_slots:
            rec_slots_rows = [dict(base, gene="", strand=".", status="skipped: no scorable alt allele")]
        else:
            rec_slots_rows = []
            for s in rec_slots:
                row = dict(base, gene=s.gene, strand=s.strand, status=s.status, flags=s.flags)
                if s.status == "scored":
                    row.update(zip(DS_NAMES, s.ds.tolist()))
                    row.update(zip(MASKED_DS, s.ds_masked.tolist()))
                    row.update(zip(UNMASKED_DS, s.ds_unmasked.tolist()))
                    row.update(zip(["DP_AG", "DP_AL", "DP_DG", "DP_DL"], s.dp.tolist()))
                    row["max_ds"] = float(np.max(s.ds))
                    row["profile_row"] = len(profiles)
                    profiles.append(s.profile.astype(np.float16))
                rec_slots_rows.append(row)
        rows.extend(rec_slots_rows)
    df = pd.DataFrame(rows).reindex(columns=SCORE_COLUMNS)
    for c in [*DS_NAMES, "max_ds", *MASKED_DS, *UNMASKED_DS]:
        df[c] = df[c].astype("float64")
    for c in ["DP_AG", "DP_AL", "DP_DG", "DP_DL"]:
        df[c] = df[c].astype("Int64")
    df["profile_row"] = df["profile_row"].fillna(-1).astype("int64")
    df["flags"] = df["flags"].fillna("").astype(str)
    n_scored = len(profiles)
    return df, (np.stack(profiles) if profiles else None), n_scored


def score_shard(table: str, fasta: str, scores: str, profiles: str, *, shard: int = 0, n_shards: int = 1,
                base_model: str = "spliceai", openspliceai_dir: str = "", annotation: str = "grch38",
                distance: int = 50, mask: bool = False, extended: bool = False, batch_size: int = 64,
                device: str = "auto", threads: int = 1) -> pd.DataFrame:
    """Score shard ``shard`` of ``n_shards`` of the variant table; write scores parquet and profiles."""
    from .incremental import IncrementalEngine
    from .weights import load_ensemble

    variants = read_shard_table(table, shard, n_shards, "base_model.shards")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device, where="config base_model.device")
    reference = Reference(fasta)
    part = shard_rows(variants, list(reference.lengths), int(shard), int(n_shards))
    log.info("shard %d/%d: %d of %d variants", int(shard), int(n_shards), len(part), len(variants))
    records = [VariantRecord(str(c), int(p), str(r), (str(a),), label=f"{vid} {c}:{p} {r}>{a}")
               for vid, c, p, r, a in part[REQUIRED].itertuples(index=False)]
    nets = load_ensemble(base_model, openspliceai_dir, device)
    engine = IncrementalEngine(nets, reference, device=device, batch_size=batch_size)
    start = time.time()
    slots = score_records(records, reference, GeneAnnotation.load(annotation), engine, int(distance),
                          bool(mask), bool(extended))
    df, prof, n = rows_from_slots(part, slots)
    log.info("shard %d: %d score rows (%d scored) in %.1f s", int(shard), len(df), n, time.time() - start)
    if engine.fallbacks or engine.errors:
        log.warning("shard %d: %d variant(s) scored by the plain exact path after fast-engine errors (flag "
                    "'fallback'), %d unscorable ('skipped: scoring error'); see the warnings above",
                    int(shard), engine.fallbacks, engine.errors)
    Path(scores).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(scores, index=False)
    if prof is None:
        prof = np.zeros((0, 2 * int(distance) + 1, 2), dtype=np.float16)
    np.save(profiles, prof)
    return df


def gather_scores(scores: list[str], profiles: list[str], out_scores: str, out_profiles: str,
                  summary: str) -> pd.DataFrame:
    """Concatenate shards in order, re-index ``profile_row`` globally, write a JSON summary."""
    if len(scores) != len(profiles):
        raise UserError(f"gather_scores got {len(scores)} score tables but {len(profiles)} profile files.")
    tables, arrays, offset = [], [], 0
    for s_path, p_path in zip(scores, profiles):
        df = pd.read_parquet(s_path)
        arr = np.load(p_path)
        scored = df["profile_row"] >= 0
        if scored.sum() != len(arr):
            raise UserError(f"{s_path}: {int(scored.sum())} scored rows but {p_path} holds {len(arr)} "
                            "profiles; rerun that shard.")
        df.loc[scored, "profile_row"] += offset
        offset += len(arr)
        tables.append(df)
        arrays.append(arr)
    df = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame(columns=SCORE_COLUMNS)
    prof = np.concatenate(arrays) if arrays else np.zeros((0, 0, 2), np.float16)
    df.to_parquet(out_scores, index=False)
    np.save(out_profiles, prof.astype(np.float16))
    max_ds = df.loc[df["status"] == "scored", "max_ds"].to_numpy(dtype=float)
    qs = [0.0, 0.25, 0.5, 0.75, 0.9, 0.99, 1.0]
    info = {
        "rows": int(len(df)),
        "variants": int(df["variant_id"].nunique()),
        "scored_rows": int((df["status"] == "scored").sum()),
        "scored_variants": int(df.loc[df["status"] == "scored", "variant_id"].nunique()),
        "skipped": {k: int(v) for k, v in df.loc[df["status"] != "scored", "status"].value_counts().items()},
        "flags": {k: int(v) for k, v in df.loc[df["flags"] != "", "flags"].value_counts().items()},
        # rows the fast engine could not score and the plain exact path did (0 expected)
        "fallbacks": int(df["flags"].str.split(",").map(lambda f: "fallback" in f).sum()) if len(df) else 0,
        "max_ds_quantiles": ({str(q): float(np.quantile(max_ds, q)) for q in qs} if len(max_ds) else {}),
        "max_ds_above": {str(t): int((max_ds > t).sum()) for t in (0.1, 0.2, 0.5, 0.8)},
        "profiles_shape": list(prof.shape),
    }
    Path(summary).write_text(json.dumps(info, indent=2) + "\n")
    log.info("gathered %d shards: %d rows, %d profiles", len(scores), len(df), len(prof))
    return df
