"""Pangolin as an additional base model of the workflow (config ``base_models.pangolin``): score one shard
of the variant table as the original ``pangolin`` command does (``score.py``), one row per variant and gene.

The table has the primary's key columns (variant_id ... strand, status, flags, profile_row, max_ds: what
``training.targets.choose_score_rows`` reads to pick the variant's own gene) and, instead of SpliceAI's four
DS / DP, Pangolin's two (``config.naming.PANGOLIN_DS`` / ``PANGOLIN_DP``): the largest gain and the largest
loss over the window (masked when ``mask``, as the original's default), the loss as a positive number, and
their positions relative to the variant. ``max_ds`` = the larger of the two, the ``pangolin_raw`` row's
score. Values are unrounded (the original prints them rounded to 2 decimals).

Profiles (issue 20 §3): Pangolin gives no (acceptor, donor) split, so its "delta profile" has two other
channels: [gain, loss], the per-position largest increase and largest decrease of the splice-site
probability over the four tissue models (``score.loss_gain``), after the gene's masking (the tracks whose
extremes DS_GAIN / DS_LOSS are), at the 2D+1 positions pos-D .. pos+D in genomic order, as float16 like
SpliceAI's; a scored row's ``profile_row`` points at it (-1 for skipped rows). The delta targets never read
them; the paired classifier reads them as extra input channels (``align_base_model_profiles``).
"""
from __future__ import annotations

import logging
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from ...common.device import resolve_device
from ...config.naming import PANGOLIN_DP, PANGOLIN_DS
from ...io.annotation import GeneAnnotation
from ..delta import Reference
from ..shards import read_shard_table, shard_rows
from .score import PangolinSettings, score_records

log = logging.getLogger(__name__)

PANGOLIN_COLUMNS = ["variant_id", "chrom", "pos", "ref", "alt", "gene", "strand", *PANGOLIN_DS, *PANGOLIN_DP,
                    "max_ds", "status", "flags", "profile_row"]


def pangolin_rows(part: pd.DataFrame, results, annotation: GeneAnnotation) -> pd.DataFrame:
    """One row per (variant, gene) Pangolin scored, one per skipped variant (gene "", its skip reason)."""
    rows, n_profiles = [], 0
    for (_, v), res in zip(part.iterrows(), results):
        base = {"variant_id": v["variant_id"], "chrom": v["chrom"], "pos": int(v["pos"]), "ref": v["ref"],
                "alt": v["alt"], "flags": ""}
        if res.status != "scored":
            rows.append(dict(base, gene="", strand=".", status=res.status))
            continue
        for (g, strand), (gain, gain_pos, loss, loss_pos) in zip(res.genes, res.values):
            ds_gain, ds_loss = max(gain, 0.0), max(-loss, 0.0)  # masking can leave no gain / no loss: 0
            rows.append(dict(base, gene=str(annotation.names[g]), strand=strand, status="scored",
                             DS_GAIN=ds_gain, DS_LOSS=ds_loss, DP_GAIN=gain_pos, DP_LOSS=loss_pos,
                             max_ds=max(ds_gain, ds_loss), profile_row=n_profiles))
            n_profiles += 1
    df = pd.DataFrame(rows).reindex(columns=PANGOLIN_COLUMNS)
    for c in [*PANGOLIN_DS, "max_ds"]:
        df[c] = df[c].astype("float64")
    for c in PANGOLIN_DP:
        df[c] = df[c].astype("Int64")
    df["profile_row"] = df["profile_row"].fillna(-1).astype("int64")
    df["flags"] = df["flags"].fillna("").astype(str)
    return df


def pangolin_profiles(results, distance: int) -> np.ndarray:
    """The scored rows' [gain, loss] profiles (float16 (n, 2D+1, 2)), in ``pangolin_rows``' profile_row order."""
    arrays = [p for res in results if res.status == "scored" for p in res.profiles]
    return (np.stack(arrays) if arrays else np.zeros((0, 2 * int(distance) + 1, 2))).astype(np.float16)


def score_pangolin_shard(table: str, fasta: str, scores: str, profiles: str, *, shard: int = 0, n_shards: int = 1,
                         pangolin_dir: str, annotation: str = "grch38", distance: int = 50, mask: bool = True,
                         batch_size: int = 0, device: str = "auto", threads: int = 1) -> pd.DataFrame:
    """Score shard ``shard`` of ``n_shards`` of the variant table with Pangolin; write the scores parquet and
    the scored rows' [gain, loss] profiles (``pangolin_profiles``)."""
    from .engine import PangolinEngine
    from .network import load_pangolin_folder

    variants = read_shard_table(table, shard, n_shards, "base_models.pangolin.shards")
    if threads:
        torch.set_num_threads(int(threads))
    device = resolve_device(device, where="config base_models.pangolin.device")
    reference = Reference(fasta)
    genes = GeneAnnotation.load(annotation)
    part = shard_rows(variants, list(reference.lengths), int(shard), int(n_shards))
    log.info("pangolin shard %d/%d: %d of %d variants", int(shard), int(n_shards), len(part), len(variants))
    engine = PangolinEngine(load_pangolin_folder(pangolin_dir), reference, device=device, batch_size=int(batch_size))
    settings = PangolinSettings(distance=int(distance), mask=bool(mask))
    start = time.time()
    records = [(str(c), int(p), str(r), str(a)) for c, p, r, a in part[["chrom", "pos", "ref", "alt"]].itertuples(
        index=False)]
    results = score_records(records, reference, genes, engine, settings)
    df = pangolin_rows(part, results, genes)
    log.info("pangolin shard %d: %d score rows (%d scored) in %.1f s", int(shard), len(df),
             int((df["status"] == "scored").sum()), time.time() - start)
    if engine.fallbacks or engine.errors:
        log.warning("pangolin shard %d: %d window(s) scored by the plain exact path after fast-engine errors, "
                    "%d unscorable ('skipped: scoring error'); see the warnings above", int(shard), engine.fallbacks,
                    engine.errors)
    Path(scores).parent.mkdir(parents=True, exist_ok=True)
    df.to_parquet(scores, index=False)
    np.save(profiles, pangolin_profiles(results, int(distance)))
    return df
