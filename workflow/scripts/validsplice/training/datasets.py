"""In-memory training data: target tables joined with their windows and target profiles.

Everything lives in numpy arrays (windows as uint8 codes) and batches are cut by index, so
an epoch costs no Python work per base and no per-sample object creation. Shuffling uses a
seeded ``torch.Generator`` so the data order is reproducible.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from ..common.errors import UserError


def crop_windows(codes: np.ndarray, window_length: int | None, path="windows.npz") -> np.ndarray:
    """Centred crop of (n, L_stored) windows to window_length (the variant stays at L // 2)."""
    stored = codes.shape[1]
    if window_length is None or int(window_length) == stored:
        return codes
    window_length = int(window_length)
    if window_length > stored:
        raise UserError(
            f"{path}: windows are {stored} bases long but the experiment asks for window_length "
            f"{window_length}; lower window_length or re-run extract_windows with a longer window."
        )
    start = stored // 2 - window_length // 2
    return codes[:, start: start + window_length]


def load_windows(path) -> dict:
    with np.load(path, allow_pickle=False) as npz:
        missing = [k for k in ("ref", "alt", "variant_id") if k not in npz.files]
        if missing:
            raise UserError(f"{path}: missing array(s) {', '.join(missing)}; re-run extract_windows.")
        return {k: npz[k] for k in ("ref", "alt", "variant_id")}


@dataclass
class SplitData:
    """One split ready for batching. Targets of rows without a validated target are zero
    here (the table keeps them NaN); they are used only for prediction, never for loss."""

    table: pd.DataFrame
    ref: np.ndarray
    alt: np.ndarray
    indel_length: np.ndarray
    label: np.ndarray
    target_seed: np.ndarray
    target_profile: np.ndarray
    base_profile: np.ndarray  # the base models' delta profiles (input, 2 channels each; zeros if unavailable)
    # the baseline's score (spliceai_raw: max DS of the chosen gene row, 0.0 where unscored), what the
    # base-model offset of a classifier reads (models.offset); zeros when not given
    base_score: np.ndarray | None = None

    def __post_init__(self):
        if self.base_score is None:
            self.base_score = np.zeros(len(self.label), dtype=np.float64)

    def __len__(self) -> int:
        return len(self.table)

    def subset(self, idx: np.ndarray) -> "SplitData":
        return SplitData(self.table.iloc[idx].reset_index(drop=True), self.ref[idx], self.alt[idx],
                         self.indel_length[idx], self.label[idx], self.target_seed[idx], self.target_profile[idx],
                         self.base_profile[idx], self.base_score[idx])

    def batch(self, idx, device="cpu") -> dict:
        idx = np.asarray(idx)
        return {
            "ref": torch.from_numpy(self.ref[idx].astype(np.int64)).to(device),
            "alt": torch.from_numpy(self.alt[idx].astype(np.int64)).to(device),
            "indel_length": torch.from_numpy(self.indel_length[idx]).to(device),
            "label": torch.from_numpy(self.label[idx]).to(device),
            "target_seed": torch.from_numpy(self.target_seed[idx]).to(device),
            "target_profile": torch.from_numpy(self.target_profile[idx]).to(device),
            "base_profile": torch.from_numpy(self.base_profile[idx]).to(device),
            "base_score": torch.from_numpy(self.base_score[idx]).to(device),
        }

    def batches(self, batch_size: int, device="cpu", generator: torch.Generator | None = None):
        """Yield batch dicts; shuffled with ``generator`` if given, else in table order."""
        n = len(self)
        order = torch.randperm(n, generator=generator).numpy() if generator is not None else np.arange(n)
        for start in range(0, n, batch_size):
            yield self.batch(order[start: start + batch_size], device)


def make_split_data(table: pd.DataFrame, windows: dict, profiles: np.ndarray, window_length=None,
                    table_path="targets", windows_path="windows.npz",
                    base_profiles: np.ndarray | None = None) -> SplitData:
    rows = table["window_row"].to_numpy(dtype=np.int64)
    n_windows = len(windows["variant_id"])
    if len(rows) and (rows.min() < 0 or rows.max() >= n_windows):
        raise UserError(f"{table_path}: window_row outside the {n_windows} rows of {windows_path}; "
                        "re-run build_targets after extract_windows.")
    ids = np.asarray(windows["variant_id"]).astype(str)[rows]
    bad = np.flatnonzero(ids != table["variant_id"].astype(str).to_numpy())
    if bad.size:
        examples = ", ".join(f"{table['variant_id'].iat[i]!r} vs {ids[i]!r}" for i in bad[:5])
        raise UserError(f"{table_path}: {bad.size} row(s) point at windows of other variants ({examples}); "
                        "re-run build_targets after extract_windows.")
    length = profiles.shape[1]
    prow = table["profile_row"].to_numpy(dtype=np.int64)
    target_profile = np.zeros((len(table), length, 2), dtype=np.float32)
    has = prow >= 0
    target_profile[has] = profiles[prow[has]]
    seed = table[["delta_neither", "delta_acceptor", "delta_donor"]].to_numpy(dtype=np.float32)
    if base_profiles is None:
        base_profile = np.zeros_like(target_profile)
    else:
        # 2 channels per base model: the primary's, then those of the additional ones a model reads
        if (len(base_profiles) != n_windows or base_profiles.ndim != 3 or base_profiles.shape[1] != length
                or base_profiles.shape[2] < 2 or base_profiles.shape[2] % 2):
            raise UserError(f"base-model profiles of shape {base_profiles.shape} do not match {n_windows} windows "
                            f"and profiles of length {length} (2 channels per base model); re-run build_targets "
                            "(and align_base_model_profiles).")
        base_profile = np.asarray(base_profiles[rows], dtype=np.float32)
    return SplitData(
        table=table.reset_index(drop=True),
        ref=crop_windows(windows["ref"], window_length, windows_path)[rows],
        alt=crop_windows(windows["alt"], window_length, windows_path)[rows],
        indel_length=table["indel_length"].to_numpy(dtype=np.float32),
        label=(table["label"] == "Splice-altering").to_numpy(dtype=np.float32),
        target_seed=np.nan_to_num(seed, nan=0.0),
        target_profile=target_profile,
        base_profile=base_profile,
        base_score=base_scores(table),
    )


def base_scores(table: pd.DataFrame) -> np.ndarray:
    """The baseline's score of each row as ``spliceai_raw`` gives it: ``spliceai_max_ds``, 0.0 where unscored."""
    if "spliceai_max_ds" not in table:
        return np.zeros(len(table), dtype=np.float64)
    return np.nan_to_num(table["spliceai_max_ds"].to_numpy(dtype=np.float64), nan=0.0)
