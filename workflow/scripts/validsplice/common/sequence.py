"""DNA sequence codes shared by every stage.

Sequences travel between rules as uint8 codes, never as one-hot on disk:
A=0, C=1, G=2, T=3, N=4 (anything else, including soft-masked lower case after
upper-casing failures, maps to N). Complement of code c (c < 4) is 3 - c.
"""
from __future__ import annotations

import numpy as np

ALPHABET = "ACGTN"
N_CODE = 4

_LOOKUP = np.full(256, N_CODE, dtype=np.uint8)
for _i, _b in enumerate("ACGT"):
    _LOOKUP[ord(_b)] = _i
    _LOOKUP[ord(_b.lower())] = _i

_COMPLEMENT = np.array([3, 2, 1, 0, N_CODE], dtype=np.uint8)
_COMPLEMENT_TABLE = str.maketrans("ACGTNacgtn", "TGCANtgcan")


def encode(seq: str | bytes) -> np.ndarray:
    """Encode a DNA string (any case) to uint8 codes (A0 C1 G2 T3, other N4)."""
    raw = seq.encode("ascii") if isinstance(seq, str) else seq
    return _LOOKUP[np.frombuffer(raw, dtype=np.uint8)]


def decode(codes: np.ndarray) -> str:
    """Codes back to an upper-case string."""
    return np.frombuffer(np.frombuffer(b"ACGTN", dtype=np.uint8)[np.asarray(codes)].tobytes(), dtype="S1").tobytes().decode()


def reverse_complement_codes(codes: np.ndarray) -> np.ndarray:
    """Reverse complement along the last axis (works on 1-D or batched 2-D codes)."""
    return _COMPLEMENT[np.asarray(codes)][..., ::-1]


def reverse_complement(seq: str) -> str:
    return seq.translate(_COMPLEMENT_TABLE)[::-1]


def one_hot(codes: np.ndarray, dtype=np.float32) -> np.ndarray:
    """(..., L) codes -> (..., L, 4) one-hot; N is all-zero (as SpliceAI expects)."""
    eye = np.concatenate([np.eye(4, dtype=dtype), np.zeros((1, 4), dtype=dtype)])
    return eye[np.asarray(codes)]
