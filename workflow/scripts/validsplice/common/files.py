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
