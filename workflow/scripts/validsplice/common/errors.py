"""The one exception type for problems the user can fix (bad input, config, missing files).

Its message names the file, row or config key and what to do. Rule scripts turn it into a
one-paragraph error without a traceback (``rule_io.run_rule``); the command line does the same.
"""
from __future__ import annotations

import difflib


class UserError(Exception):
    """An input problem the user can fix; the message names the file/row/key and the remedy."""


def closest(key: str, valid) -> str | None:
    """The valid key most like ``key`` (difflib), or None when nothing is close."""
    valid = sorted(map(str, valid))
    lowered = {v.lower(): v for v in valid}
    if str(key).lower() in lowered:
        return lowered[str(key).lower()]
    match = difflib.get_close_matches(str(key), valid, n=1, cutoff=0.6)
    return match[0] if match else None


def unknown_key_error(key: str, where: str, valid, also: str = "") -> UserError:
    """``where: unknown key 'x'; did you mean 'y'?`` plus the valid keys and the remedy."""
    best = closest(key, valid)
    hint = f"; did you mean {best!r}?" if best else "."
    return UserError(
        f"{where}: unknown key {key!r}{hint}{also} Valid keys there: {', '.join(sorted(valid))}. "
        "Fix the spelling or remove the key."
    )
