"""File helpers shared by the library."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Callable

from .errors import UserError


def write_atomically(path, write: Callable[[Path], None]) -> None:
    """``write(tmp)`` to a temporary name in the same folder, then rename over ``path`` (atomic on
    POSIX): a crash never leaves a file that looks complete (model checkpoints, fitted models)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def read_json(path) -> dict:
    """A JSON file another rule wrote; unreadable or invalid: a UserError naming it and the fix."""
    try:
        return json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read JSON ({exc}); re-run the rule that writes it.") from None


def rows_by_variant_id(variants, table, columns, path, *, what: str, rule: str):
    """``columns`` of a per-variant cache ``table`` (a rule's output with a ``variant_id`` column) for each row of
    ``variants``, in its order (the first row of a repeated id wins). A variant the cache lacks means the cache is
    older than the variant table: a UserError naming ``path`` and the ``rule`` to re-run. ``what`` names the
    cache's contents in that message ("the embeddings")."""
    cached = table.drop_duplicates("variant_id").set_index("variant_id")[columns]
    ids = variants["variant_id"].astype(str)
    absent = ~ids.isin(cached.index)
    if absent.any():
        raise UserError(f"{path}: {int(absent.sum())} variant(s) of variants.parquet (e.g. {ids[absent].iloc[0]}) "
                        f"have no row; {what} are older than the variant table: re-run {rule}.")
    return cached.loc[ids.to_numpy()].reset_index(drop=True).astype(float)
