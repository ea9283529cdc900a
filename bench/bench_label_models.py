"""Training time of the models trained on the label: spliceai_features_gbm and paired_cnn_classifier.

    python bench/bench_label_models.py                    # demo and research-log scale, 2 threads
    python bench/bench_label_models.py --scale research --cnn-samples 2048 --device cuda

Synthetic data of the real shapes, the real code paths:
- ``spliceai_features_gbm``: ``fit_gbm`` (the rule's fit: class weights, validation passed
  explicitly, refit at the best number of trees) on random features (the model's 23 columns);
  early stopping is switched off so every run grows exactly ``max_iter`` trees (the config's cap:
  the upper bound of a fit). Prints seconds per fit and per tree.
- ``paired_cnn_classifier``: one epoch of ``training.fit`` (AdamW, one-cycle, clipping,
  validation pass) on random windows and base-model profiles; prints seconds per epoch and
  training samples per second, and the epoch time projected to the scale's training rows
  (``--cnn-samples`` rows are timed; a research-scale epoch on 2 CPU cores would take long).

Scales: "demo" = config/config.yaml (about 150 labelled train rows, hidden 32, 4 layers, batch 16,
300 trees of 15 leaves); "research" = config/splicevardb.yaml with SpliceVarDB's size (about
35,000 labelled train rows, 6,000 val; hidden 128, 6 layers, batch 64; 1,000 trees of 31 leaves).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
import validsplice.training.gbm as gbm  # noqa: E402
from validsplice.config.registry import build_model  # noqa: E402
from validsplice.training.datasets import SplitData  # noqa: E402
from validsplice.training.loop import fit, resolve_settings, seed_everything  # noqa: E402

SCALES = {
    "demo": {"train": 150, "val": 40, "gbm": {"max_iter": 300, "learning_rate": 0.05, "max_leaf_nodes": 15,
                                              "min_samples_leaf": 10, "l2_regularization": 1.0},
             "cnn": {"hidden_dim": 32, "n_layers": 4, "batch_size": 16, "learning_rate": 1e-3}},
    "research": {"train": 35_000, "val": 6_000, "gbm": {"max_iter": 1000, "learning_rate": 0.05,
                                                        "max_leaf_nodes": 31, "min_samples_leaf": 20,
                                                        "l2_regularization": 1.0},
                 "cnn": {"hidden_dim": 128, "n_layers": 6, "batch_size": 64, "learning_rate": 1e-4}},
}


def random_features(n, rng):
    """Features of the GBM's columns: scores in [0, 1], positions, codes; ~25% positives tied to two of them."""
    x = pd.DataFrame(rng.uniform(0, 1, size=(n, len(gbm.FEATURES))), columns=gbm.FEATURES)
    for column, categories in gbm.CATEGORIES.items():
        x[column] = rng.integers(0, len(categories), size=n).astype(float)
    x["exon_distance"] = rng.integers(-500, 500, size=n).astype(float)
    signal = x["DS_DL_masked"] + 0.5 * (x["exon_distance"].abs() < 3) + rng.normal(0, 0.3, n)
    y = (signal > np.quantile(signal, 0.75)).to_numpy(dtype=int)
    return x, y


def bench_gbm(scale, threads, rng):
    from threadpoolctl import threadpool_limits

    spec = SCALES[scale]
    x_train, y_train = random_features(spec["train"], rng)
    x_val, y_val = random_features(spec["val"], rng)
    settings = {**spec["gbm"], "early_stopping": False, "seed": 0}
    with threadpool_limits(limits=threads):
        t0 = time.perf_counter()
        _, _, info = gbm.fit_gbm(x_train, y_train, x_val, y_val, settings)
        seconds = time.perf_counter() - t0
    trees = info["stopped_iteration"]
    print(f"spliceai_features_gbm [{scale}]: {spec['train']} train / {spec['val']} val rows, {trees} trees of "
          f"{spec['gbm']['max_leaf_nodes']} leaves, {threads} threads: {seconds:.2f} s per fit "
          f"({1000 * seconds / trees:.1f} ms per tree)")


def random_split(n, window, profile_length, rng):
    ref = rng.integers(0, 4, size=(n, window), dtype=np.uint8)
    alt = ref.copy()
    alt[:, window // 2] = (ref[:, window // 2] + 1) % 4
    label = (rng.random(n) < 0.25).astype(np.float32)
    table = pd.DataFrame({"variant_id": [f"v{i}" for i in range(n)],
                          "label": np.where(label == 1, "Splice-altering", "Normal")})
    profile = rng.normal(0, 0.1, (n, profile_length, 2)).astype(np.float32)
    return SplitData(table, ref, alt, np.zeros(n, np.float32), label, np.zeros((n, 3), np.float32),
                     profile * label[:, None, None], profile)


def bench_classifier(scale, samples, threads, device, aux, window, distance, rng):
    spec = SCALES[scale]
    torch.set_num_threads(threads)
    p = 2 * distance + 1
    settings = resolve_settings({**spec["cnn"], "epochs": 1, "device": device, "early_stopping": False,
                                 "aux_delta_weight": aux, "window_length": window})
    model = build_model("paired_cnn_classifier", settings, window_length=window, profile_length=p)
    n = samples or spec["train"]
    train = random_split(n, window, p, rng)
    model.set_class_balance(train.label)
    val = random_split(max(n // 6, 2), window, p, rng)
    result = fit(model, train, val, settings, torch.device(device), seed_everything(0))
    seconds = result.history[0]["seconds"]
    rate = n / seconds
    projected = spec["train"] / rate * (1 + 1 / 6)  # the epoch's training rows plus the validation pass
    print(f"paired_cnn_classifier [{scale}]: hidden {spec['cnn']['hidden_dim']}, {spec['cnn']['n_layers']} layers, "
          f"batch {spec['cnn']['batch_size']}, window {window}, aux {aux:g}, {threads} threads, {device}: "
          f"{seconds:.2f} s per epoch of {n} rows (+ val {len(val)}), {rate:.0f} training rows/s; "
          f"projected epoch at {spec['train']} rows: {projected:.0f} s")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--scale", choices=[*SCALES, "both"], default="both")
    ap.add_argument("--cnn-samples", type=int, default=None,
                    help="rows timed for the classifier epoch (default: the scale's train rows for demo, 1024 research)")
    ap.add_argument("--window", type=int, default=501)
    ap.add_argument("--distance", type=int, default=50)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--skip", choices=["gbm", "cnn"], default=None)
    args = ap.parse_args()
    rng = np.random.default_rng(0)
    print(f"torch {torch.__version__}, threads {args.threads}, device {args.device}")
    for scale in (SCALES if args.scale == "both" else [args.scale]):
        if args.skip != "gbm":
            bench_gbm(scale, args.threads, rng)
        if args.skip != "cnn":
            samples = args.cnn_samples or (SCALES[scale]["train"] if scale == "demo" else 1024)
            for aux in (0.0, 1.0):
                bench_classifier(scale, samples, args.threads, args.device, aux, args.window, args.distance, rng)


if __name__ == "__main__":
    main()
