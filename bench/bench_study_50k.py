#!/usr/bin/env python
"""Time every stage of the study except base-model scoring at SpliceVarDB size (issue 12, item 6).

    python bench/bench_study_50k.py                         # 50,000 variants, 2 cores
    python bench/bench_study_50k.py --variants 5000         # the same at 5,000 (scaling check)
    python bench/bench_study_50k.py --train-rows 2000 --gpu-epoch-seconds gated_cnn=20,binary_cnn=15,...

What it does, in a fresh work folder (``--workdir``, a temporary one by default):
1. writes a SpliceVarDB-format export of ``--variants`` synthetic rule-labelled variants on the demo
   fragment (the demo generator's own functions, resources/demo/make_demo_variants.py, with positions
   allowed to repeat and exact duplicates dropped, so the count scales past the fragment's 295 demo
   rows) and a bench config: the research log's training sizes (hidden 128, 6 layers, batch 64), one
   epoch, and one experiment per trained model of the registry (models added later are timed too);
2. runs the real workflow ``--until extract_windows`` (ingest, normalization, windows);
3. writes a synthetic base-model score shard in score_shard's exact output format (one row per
   overlapping gene, a delta profile per scored row, MNVs and gene-less variants skipped as the real
   rule does) instead of scoring, so gather_scores, targets, training, evaluation and the report run
   on real code; score_shard itself is excluded (``--allowed-rules``);
4. runs the rest of the workflow, one job at a time (every rule's threads set to ``--cores``);
5. reads every rule's ``benchmark:`` TSV (wall seconds, peak RSS) and prints a table, then a projection
   of the whole study on one GPU: the measured CPU stages + scoring at ``--scoring-rate`` variants/s +
   ``--epochs`` epochs per experiment at ``--gpu-epoch-seconds`` (measured on a GPU by whoever has one;
   without it the projection says so and shows the CPU epoch times instead).

With ``--train-rows N`` each experiment trains on N rows (training.defaults.max_train_samples); the
full-size epoch is then extrapolated linearly in training rows from the measured epoch (history.tsv
``seconds``, which also holds the validation pass: an overestimate), and the table says so.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "workflow" / "scripts"))
sys.path.insert(0, str(REPO / "resources" / "demo"))
import make_demo_variants as demo  # noqa: E402

from validsplice.config.registry import TRAINED_MODELS  # noqa: E402
from validsplice.io.annotation import GeneAnnotation  # noqa: E402
from validsplice.scoring.shards import rows_from_slots, shard_rows  # noqa: E402

FASTA = REPO / "resources" / "demo" / "chr2_1-2333275.fa.gz"
DISTANCE = 50
# The research log's HyenaDNA checkpoints (small-32k, medium-160k) have these encoder sizes; a random
# encoder of the same size costs the same per epoch (no download here).
HYENADNA_SIZES = {"hyenadna_frozen": {"d_model": 256, "n_layer": 4}, "hyenadna_finetune": {"d_model": 256, "n_layer": 8}}
TEST_GENES = ["FAM110C"]  # 5 % of the export
# Per-stage rows: where the benchmark TSV is, and how many rows the stage handled.
STAGES = [
    ("ingest", "benchmarks/variants/ingest.tsv"),
    ("normalize", "benchmarks/variants/normalize.tsv"),
    ("windows", "benchmarks/windows/extract.tsv"),
    ("gather scores", "benchmarks/scores/gather.tsv"),
    ("targets", "benchmarks/targets/build.tsv"),
]


# ------------------------------------------------------------------ 1. the synthetic export
class StudyGenerator(demo.Generator):
    """The demo generator with positions allowed to repeat (the fragment's eight genes cannot hold
    50,000 non-overlapping variants); an exact (pos, ref, alt) repeat is dropped and drawn again."""

    def __init__(self, seed: int):
        super().__init__()
        self.rng = np.random.default_rng(seed)
        self.keys: set[tuple] = set()

    def ok(self, first: int, last: int) -> bool:
        return "N" not in self.seq[first - 2: last]

    def add(self, gene, label, pos, ref, alt, note=""):
        if (pos, ref, alt) not in self.keys:
            self.keys.add((pos, ref, alt))
            self.rows.append(dict(gene=gene, label=label, pos=pos, ref=ref, alt=alt, note=note))


def write_export(n: int, path: Path, seed: int) -> dict:
    """A SpliceVarDB-format export of about ``n`` rows, genes in the demo's proportions."""
    g = StudyGenerator(seed)
    total = sum(demo.GENES.values())
    # more indels than the demo's 15 %: an insertion at a canonical site can be drawn in many distinct
    # ways, so the Splice-altering share stays near the demo's instead of running out of distinct SNVs
    demo_fraction, demo.INDEL_FRACTION = demo.INDEL_FRACTION, 0.4
    try:
        for name, weight in demo.GENES.items():
            want, start = int(round(n * weight / total)), len(g.rows)
            for _ in range(50):  # canonical-site SNVs run out first; later rounds draw the shortfall again
                missing = want - (len(g.rows) - start)
                if missing <= 0:
                    break
                g.gene_variants(name, missing)
    finally:
        demo.INDEL_FRACTION = demo_fraction
    g.intergenic()
    g.duplicates()
    g.rejects()
    rows = demo.export_rows(g)
    demo.write(rows, path)
    labels = pd.Series([r[6] for r in rows]).value_counts().to_dict()
    return {"rows": len(rows), "labels": labels}


def write_config(workdir: Path, export: Path, cores: int, train_rows: int | None, models: list[str]) -> Path:
    config = yaml.safe_load((REPO / "config" / "config.yaml").read_text())
    # the held-out share of the real study (chr21 + chr22: a few % of SpliceVarDB), not the demo's 28 %
    config["split"]["test_genes"] = TEST_GENES
    config["variants"]["path"] = str(export)
    config["reference"]["fasta"] = str(FASTA)
    config["base_model"].update(shards=1, distance=DISTANCE)
    config["training"]["threads"] = cores
    config["training"]["defaults"].update(hidden_dim=128, n_layers=6, batch_size=64, learning_rate=1e-4, epochs=1,
                                          early_stopping=False, max_train_samples=train_rows)
    for model, sizes in HYENADNA_SIZES.items():
        config["training"]["model_defaults"][model]["random_init_config"] = sizes
    config["experiments"] = {"spliceai_raw": {"model": "spliceai_raw"}}
    config["experiments"].update({f"bench_{m}": {"model": m} for m in models})
    config["report"]["data_description"] = "bench_study_50k: synthetic rule-labelled variants, synthetic scores."
    path = workdir / "bench_config.yaml"
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


# ------------------------------------------------------------------ 3. the synthetic scores
def synthetic_slots(variants: pd.DataFrame, strands: dict[str, str], rng: np.random.Generator
                    ) -> list[list[SimpleNamespace]]:
    """Per variant, score_records' slots: one per overlapping gene with a delta profile (a peak of
    0.2-0.9 for Splice-altering, noise below 0.05 otherwise), skipped as the real rule skips."""
    n, width = len(variants), 2 * DISTANCE + 1
    noise = rng.normal(0.0, 0.01, (n, width, 2)).astype(np.float32)
    peak = np.where(variants["label"].to_numpy() == "Splice-altering", rng.uniform(0.2, 0.9, n), 0.0)
    noise[np.arange(n), rng.integers(0, width, n), rng.integers(0, 2, n)] -= peak  # a site lost
    slots = []
    for i, (genes, vtype) in enumerate(zip(variants["genes"].to_numpy(), variants["variant_type"].to_numpy())):
        if not genes:
            slots.append([SimpleNamespace(gene="", strand=".", status="skipped: no gene", flags="")])
            continue
        status = "skipped: multi-base ref and alt" if vtype == "MNV" else "scored"
        profile = noise[i]
        ds = np.array([profile[:, 0].max(), -profile[:, 0].min(), profile[:, 1].max(), -profile[:, 1].min()]).clip(0)
        dp = np.array([profile[:, 0].argmax(), profile[:, 0].argmin(), profile[:, 1].argmax(),
                       profile[:, 1].argmin()]) - DISTANCE
        # synthetic deltas have no annotated sites to mask: masked = unmasked = ds
        slots.append([SimpleNamespace(gene=gene, strand=strands[gene], status=status, flags="", ds=ds, dp=dp,
                                      ds_masked=ds, ds_unmasked=ds, profile=profile) for gene in genes.split(";")])
    return slots


def write_synthetic_shard(workdir: Path, seed: int) -> int:
    """results/scores/shards/0.{parquet,profiles.npy}, the output of score_shard for shards: 1."""
    variants = pd.read_parquet(workdir / "results/variants/variants.parquet")
    import pysam

    contigs = list(pysam.FastaFile(str(FASTA)).references)
    part = shard_rows(variants, contigs, 0, 1)
    annotation = GeneAnnotation.load("grch38")  # the bench config's annotation
    strands = dict(zip(map(str, annotation.names), map(str, annotation.strands)))
    table, profiles, _ = rows_from_slots(part, synthetic_slots(part, strands, np.random.default_rng(seed)))
    shards = workdir / "results/scores/shards"
    shards.mkdir(parents=True, exist_ok=True)
    table.to_parquet(shards / "0.parquet", index=False)
    np.save(shards / "0.profiles.npy", profiles)
    return len(table)


# ------------------------------------------------------------------ 2, 4. the workflow
def snakemake(workdir: Path, config: Path, cores: int, extra: list[str], log_name: str) -> float:
    rules = rule_names()
    cmd = [sys.executable, "-m", "snakemake", "-s", str(REPO / "workflow" / "Snakefile"), "--directory", str(workdir),
           "--configfile", str(config), "--cores", str(cores), "--set-threads",
           *[f"{r}={cores}" for r in rules], *extra]
    start = time.perf_counter()
    with open(workdir / log_name, "w") as log:
        done = subprocess.run(cmd, stdout=log, stderr=subprocess.STDOUT, env=dict(os.environ, OMP_NUM_THREADS=str(cores)))
    if done.returncode:
        sys.exit(f"snakemake failed (exit {done.returncode}); see {workdir / log_name}")
    return time.perf_counter() - start


def rule_names() -> list[str]:
    """The rules of a bench run: everything but score_shard (replaced by the synthetic shard)."""
    return ["ingest_variants", "normalize_variants", "extract_windows", "gather_scores", "build_targets",
            "baseline_predictions", *[f"train_{m}" for m in TRAINED_MODELS], "calibrate_model", "combine_calibrated",
            "model_manifest", "evaluate_model", "make_report", "all"]


# ------------------------------------------------------------------ 5. the table and the projection
def benchmark(workdir: Path, tsv: str) -> tuple[float, float]:
    frame = pd.read_csv(workdir / tsv, sep="\t")
    return float(frame["s"].iloc[0]), float(frame["max_rss"].iloc[0])


def stage_table(workdir: Path, train_rows: int | None, models: list[str]) -> tuple[pd.DataFrame, dict]:
    r = workdir / "results"
    targets = {s: len(pd.read_parquet(r / f"targets/{s}.parquet")) for s in ("train", "val", "test")}
    rows = {"ingest": sum(1 for _ in open(r.parent / "export.tsv")) - 1,
            "normalize": len(pd.read_parquet(r / "variants/variants.parquet")),
            "windows": int(np.load(r / "windows/windows.npz")["ref"].shape[0]),
            "gather scores": len(pd.read_parquet(r / "scores/scores.parquet")),
            "targets": sum(targets.values())}
    records = []
    for stage, tsv in STAGES:
        s, rss = benchmark(workdir, tsv)
        records.append(dict(stage=stage, seconds=s, peak_rss_mb=rss, rows=rows[stage], note=""))
    epochs = {}
    s, rss = benchmark(workdir, "benchmarks/models/spliceai_raw.tsv")
    records.append(dict(stage="predict spliceai_raw", seconds=s, peak_rss_mb=rss, rows=targets["test"], note=""))
    for model in models:
        name = f"bench_{model}"
        s, rss = benchmark(workdir, f"benchmarks/models/{name}.tsv")
        used = min(train_rows, targets["train"]) if train_rows else targets["train"]
        epoch = float(pd.read_csv(r / f"models/{name}/history.tsv", sep="\t")["seconds"].iloc[0])
        full = epoch * targets["train"] / used
        epochs[model] = full
        note = f"epoch {epoch:.0f} s on {used} rows" + (f"; full {targets['train']} rows ~{full:.0f} s (linear)"
                                                         if used < targets["train"] else "")
        records.append(dict(stage=f"train {model}", seconds=s, peak_rss_mb=rss, rows=used, note=note))
    for name in ["spliceai_raw", *[f"bench_{m}" for m in models]]:
        s, rss = benchmark(workdir, f"benchmarks/eval/{name}.tsv")
        records.append(dict(stage=f"evaluate {name}", seconds=s, peak_rss_mb=rss, rows=targets["test"], note=""))
    s, rss = benchmark(workdir, "benchmarks/report/make_report.tsv")
    records.append(dict(stage="report", seconds=s, peak_rss_mb=rss, rows=len(models) + 1, note=""))
    return pd.DataFrame(records), dict(targets=targets, cpu_epoch_seconds=epochs)


def parse_model_seconds(text: str | None) -> dict[str, float]:
    if not text:
        return {}
    pairs = dict(item.split("=", 1) for item in text.split(",") if item.strip())
    unknown = set(pairs) - set(TRAINED_MODELS)
    if unknown:
        sys.exit(f"--gpu-epoch-seconds: unknown model(s) {sorted(unknown)}; models: {', '.join(TRAINED_MODELS)}")
    return {k: float(v) for k, v in pairs.items()}


def projection(table: pd.DataFrame, info: dict, args, n_variants: int) -> list[str]:
    """Hours for the whole study on one GPU, from the measured stages and the given rates."""
    train_rows = table["stage"].str.startswith("train ")
    other_cpu = float(table.loc[~train_rows, "seconds"].sum())
    scoring = n_variants / args.scoring_rate
    gpu = parse_model_seconds(args.gpu_epoch_seconds)
    lines = [f"Projection of the whole study on one GPU ({n_variants} variants, {args.epochs} epochs per experiment):",
             f"  stages other than scoring and training (measured here, CPU): {other_cpu / 3600:.2f} h",
             f"  base-model scoring at {args.scoring_rate:g} variants/s (GPU, --scoring-rate): {scoring / 3600:.2f} h"]
    total = other_cpu + scoring
    for model in TRAINED_MODELS:
        if model not in gpu and model not in info["cpu_epoch_seconds"]:
            lines.append(f"  train {model}: NOT TIMED (not in --models; pass --gpu-epoch-seconds {model}=S)")
            continue
        if model in gpu:
            seconds = gpu[model] * args.epochs
            lines.append(f"  train {model}: {args.epochs} x {gpu[model]:g} s (GPU epoch, --gpu-epoch-seconds) = "
                         f"{seconds / 3600:.2f} h")
            total += seconds
        else:
            cpu = info["cpu_epoch_seconds"][model] * args.epochs
            lines.append(f"  train {model}: GPU EPOCH TIME NOT GIVEN (placeholder; pass --gpu-epoch-seconds "
                         f"{model}=S); on this CPU {args.epochs} epochs ~ {cpu / 3600:.2f} h, not counted")
    complete = all(m in gpu for m in TRAINED_MODELS)
    lines.append(f"  total: {total / 3600:.2f} h{'' if complete else ' + the missing GPU training terms'}"
                 f" (research log: ~{args.research_gpu_hours:g} GPU-hours)")
    return lines


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--variants", type=int, default=50_000, help="synthetic export rows (default 50,000)")
    ap.add_argument("--train-rows", type=int, default=None,
                    help="training rows per experiment (default: all); the full epoch is extrapolated linearly")
    ap.add_argument("--cores", type=int, default=2, help="snakemake --cores and every rule's threads")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--workdir", help="work folder (default: a temporary one, removed unless --keep)")
    ap.add_argument("--keep", action="store_true", help="keep the temporary work folder")
    ap.add_argument("--scoring-rate", type=float, default=240.0,
                    help="base-model variants/s on the GPU (default 240: H100, IncrementalEngine batch 64, bench/README.md)")
    ap.add_argument("--gpu-epoch-seconds", help="PLACEHOLDER to fill from a GPU run: model=seconds,... per full epoch")
    ap.add_argument("--epochs", type=int, default=30, help="epochs per experiment in the projection (research log: 30)")
    ap.add_argument("--research-gpu-hours", type=float, default=4.0)
    ap.add_argument("--models", default=",".join(TRAINED_MODELS),
                    help="trained models to time, comma-separated (default: every model of the registry)")
    args = ap.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    unknown = set(models) - set(TRAINED_MODELS)
    if unknown:
        sys.exit(f"--models: unknown model(s) {sorted(unknown)}; models: {', '.join(TRAINED_MODELS)}")

    workdir = Path(args.workdir) if args.workdir else Path(tempfile.mkdtemp(prefix="bench_study_"))
    workdir.mkdir(parents=True, exist_ok=True)
    export = workdir / "export.tsv"
    start = time.perf_counter()
    made = write_export(args.variants, export, args.seed)
    print(f"export: {made['rows']} rows {made['labels']} in {time.perf_counter() - start:.1f} s -> {export}", flush=True)
    config = write_config(workdir, export, args.cores, args.train_rows, models)
    first = snakemake(workdir, config, args.cores, ["--until", "extract_windows"], "snakemake_prepare.log")
    print(f"ingest + normalize + windows: {first:.0f} s (snakemake wall)", flush=True)
    start = time.perf_counter()
    n_rows = write_synthetic_shard(workdir, args.seed)
    print(f"synthetic score shard: {n_rows} rows in {time.perf_counter() - start:.1f} s", flush=True)
    rest = snakemake(workdir, config, args.cores, ["--allowed-rules", *rule_names()], "snakemake_rest.log")
    print(f"the rest: {rest:.0f} s (snakemake wall)\n", flush=True)

    table, info = stage_table(workdir, args.train_rows, models)
    load = os.getloadavg()
    print(f"Per stage (benchmark: TSVs; {os.cpu_count()} CPUs, load average at the end {load[0]:.1f}/{load[1]:.1f}/"
          f"{load[2]:.1f}; targets {info['targets']}):\n")
    shown = table.assign(seconds=table["seconds"].round(1), peak_rss_mb=table["peak_rss_mb"].round(0).astype(int))
    print(shown.to_markdown(index=False) if _has_tabulate() else shown.to_string(index=False))
    print(f"\nsum of stages: {table['seconds'].sum():.0f} s\n")
    print("\n".join(projection(table, info, args, made["rows"])))
    (workdir / "stages.tsv").write_text(table.to_csv(sep="\t", index=False))
    (workdir / "bench_info.json").write_text(json.dumps({"export": made, **info}, indent=2))
    if not args.workdir and not args.keep:
        shutil.rmtree(workdir)
    else:
        print(f"\nwork folder: {workdir} (stages.tsv, logs/, benchmarks/)")


def _has_tabulate() -> bool:
    try:
        import tabulate  # noqa: F401
        return True
    except ImportError:
        return False


if __name__ == "__main__":
    main()
