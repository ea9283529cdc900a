"""Shared pytest set-up: make the library importable without installing it."""
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

# One BLAS/OpenMP thread per test process: on small shared CI machines torch's default
# (all cores) oversubscribes and makes tiny models tens of times slower.
import os  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


def pytest_collection_modifyitems(config, items):
    """Exhaustive checks (tens of CPU minutes) run only when asked for, never in CI's default run."""
    if os.environ.get("VALIDSPLICE_EXHAUSTIVE") == "1":
        return
    import pytest

    skip = pytest.mark.skip(reason="exhaustive check: set VALIDSPLICE_EXHAUSTIVE=1 to run it")
    for item in items:
        if "exhaustive" in item.keywords:
            item.add_marker(skip)
