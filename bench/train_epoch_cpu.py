"""Seconds per training epoch of a CNN model on CPU (or CUDA with --device cuda).

    python bench/train_epoch_cpu.py --model gated_cnn --samples 1000 --threads 2

Runs the real training loop (validsplice.training.loop.fit: AdamW, one-cycle, clipping,
validation pass) on random windows and prints the measured seconds per epoch and
training samples per second. Default sizes are the research log's (hidden 128, 6 layers,
kernel 15, window 501, batch 64).
"""
import argparse
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "workflow" / "scripts"))
from validsplice.config.registry import build_model, model_settings  # noqa: E402
from validsplice.training.datasets import SplitData  # noqa: E402
from validsplice.training.loop import fit, seed_everything  # noqa: E402


def random_split(n, window, profile_length, rng):
    ref = rng.integers(0, 4, size=(n, window), dtype=np.uint8)
    label = (np.arange(n) % 2).astype(np.float32)
    table = pd.DataFrame({"variant_id": [f"v{i}" for i in range(n)], "label": np.where(label, "Splice-altering", "Normal")})
    profile = rng.normal(0, 0.1, (n, profile_length, 2)).astype(np.float32)
    return SplitData(table, ref, ref.copy(), np.zeros(n, np.float32), label,
                     rng.normal(0, 0.1, (n, 3)).astype(np.float32), profile, profile.copy())


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="gated_cnn")
    ap.add_argument("--samples", type=int, default=1000)
    ap.add_argument("--val-samples", type=int, default=0, help="validation rows (0: none timed separately)")
    ap.add_argument("--window", type=int, default=501)
    ap.add_argument("--distance", type=int, default=50)
    ap.add_argument("--hidden", type=int, default=128)
    ap.add_argument("--layers", type=int, default=6)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=2)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--device", default="cpu")
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    rng = np.random.default_rng(0)
    p = 2 * args.distance + 1
    values = {"hidden_dim": args.hidden, "n_layers": args.layers, "batch_size": args.batch,
              "epochs": args.epochs, "device": args.device, "early_stopping": False}
    if args.model.startswith("hyenadna"):  # timing only: a random-init HyenaDNA costs the same per epoch
        values["allow_random_init"] = True
    settings = model_settings(args.model, values)
    model = build_model(args.model, settings, window_length=args.window, profile_length=p)
    train = random_split(args.samples, args.window, p, rng)
    val = random_split(max(args.val_samples, 2), args.window, p, rng)
    t0 = time.perf_counter()
    result = fit(model, train, val, settings, torch.device(args.device), seed_everything(0))
    total = time.perf_counter() - t0
    per_epoch = [h["seconds"] for h in result.history]
    print(f"model={args.model} samples={args.samples} window={args.window} hidden={args.hidden} layers={args.layers} "
          f"batch={args.batch} threads={args.threads} device={args.device}")
    print(f"seconds per epoch: {', '.join(f'{s:.2f}' for s in per_epoch)} (total {total:.1f} s)")
    print(f"training samples per second (best epoch): {args.samples / min(per_epoch):.0f}")


if __name__ == "__main__":
    main()
