"""Helpers for the thin Snakemake rule scripts: logging to the rule's log file, ``run_rule``."""
from __future__ import annotations

import logging
import sys
from pathlib import Path

from .errors import UserError

__all__ = ["UserError", "run_rule", "setup_logging"]


def setup_logging(log_path: str | Path | None, level: int = logging.INFO) -> logging.Logger:
    """Send logging and stderr (warnings, tracebacks) to the rule's log file.

    Call first in every rule script: ``log = setup_logging(snakemake.log[0])``.
    Without a path (tests, command line) logging goes to stderr.
    """
    if log_path:
        Path(log_path).parent.mkdir(parents=True, exist_ok=True)
        stream = open(log_path, "a", buffering=1)
        sys.stderr = stream
    else:
        stream = sys.stderr
    logging.basicConfig(
        level=level,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=stream,
        force=True,
    )
    return logging.getLogger("validsplice")


def run_rule(main, *args, **kwargs):
    """Run a rule's main function; turn a UserError into a clear one-paragraph error and exit 1."""
    try:
        return main(*args, **kwargs)
    except UserError as exc:
        logging.getLogger("validsplice").error("%s", exc)
        print(f"ERROR: {exc}", file=sys.stderr)
        raise SystemExit(1) from None
