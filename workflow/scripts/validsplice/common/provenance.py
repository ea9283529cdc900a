"""What code made a result: recorded in training.json and model.pt of every experiment."""
from __future__ import annotations

import subprocess
from pathlib import Path

from validsplice import __version__


def code_version() -> str:
    """Package version plus ``git describe`` when the code sits in a git checkout."""
    version = f"validsplice {__version__}"
    try:
        described = subprocess.run(
            ["git", "describe", "--always", "--dirty", "--tags"], cwd=Path(__file__).parent,
            capture_output=True, text=True, timeout=10,
        )
        if described.returncode == 0 and described.stdout.strip():
            version += f" (git {described.stdout.strip()})"
    except Exception:  # no git, not a checkout, timeout: the package version is enough
        pass
    return version
