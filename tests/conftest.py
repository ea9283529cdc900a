"""Shared pytest set-up: the library importable without installing it, and the helpers several test
modules use that need pytest's set-up (workflow copies, Snakemake runs, session-wide files), as fixtures.
Plain data builders and constants that several test modules share are in tests/helpers.py
(``from helpers import ...``). Test modules never import each other (tests/test_module_hygiene.py checks it)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "workflow" / "scripts"))

# One BLAS/OpenMP thread per test process: on small shared CI machines torch's default
# (all cores) oversubscribes and makes tiny models tens of times slower.
import os  # noqa: E402

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")


# The slowest modules, slowest first (measured with --durations): in a parallel run (`make test`: pytest-xdist
# --dist loadfile --no-loadscope-reorder hands out whole modules in collection order) they start at once
# instead of being the tail.
SLOWEST_MODULES = ["test_workflow.py", "test_cluster.py", "test_workflow_base_models.py", "test_pangolin_parity.py",
                   "test_spliceai_long_indel_parity.py", "test_workflow_inputs.py", "test_predict_vcf.py"]


def _slow_first(item) -> int:
    name = Path(str(item.fspath)).name
    return SLOWEST_MODULES.index(name) if name in SLOWEST_MODULES else len(SLOWEST_MODULES)


def pytest_collection_modifyitems(config, items):
    """The slowest modules first (stable: each module keeps its own order); exhaustive checks (tens of CPU
    minutes) run only when asked for, never in CI's default run."""
    items.sort(key=_slow_first)
    if os.environ.get("VALIDSPLICE_EXHAUSTIVE") == "1":
        return

    skip = pytest.mark.skip(reason="exhaustive check: set VALIDSPLICE_EXHAUSTIVE=1 to run it")
    for item in items:
        if "exhaustive" in item.keywords:
            item.add_marker(skip)


# ------------------------------------------------------------------ running the workflow in a copy
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
COPIED = ["workflow", "config", "profiles", "resources", ".test"]


def _copy_workflow(dest: Path) -> Path:
    """A copy of the workflow (rules, configs, profiles, resources) in ``dest``: runs never touch the checkout."""
    for name in COPIED:
        src = ROOT / name
        if src.is_dir():
            shutil.copytree(src, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        elif src.exists():
            shutil.copy2(src, dest / name)
    return dest


def _run_snakemake(workdir: Path, *args: str, check: bool = True, cores: int = 2) -> subprocess.CompletedProcess:
    """``snakemake --cores N ARGS`` in ``workdir``; with ``check``, a failure raises with the output's tail."""
    proc = subprocess.run([*SNAKEMAKE, "--cores", str(cores), *args], cwd=workdir, capture_output=True, text=True,
                          timeout=1500)
    if check and proc.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-8000:]}")
    return proc


def _planned_jobs(proc: subprocess.CompletedProcess) -> dict[str, int]:
    """Rule -> job count from a dry run's 'Job stats' table (the one parser: tools/slurm-local/cluster_check.py)."""
    sys.path.insert(0, str(ROOT / "tools" / "slurm-local"))
    from cluster_check import job_counts

    return dict(job_counts(proc.stdout + proc.stderr))


@pytest.fixture(scope="session")
def copy_workflow():
    return _copy_workflow


@pytest.fixture(scope="session")
def run_snakemake():
    return _run_snakemake


@pytest.fixture(scope="session")
def planned_jobs():
    return _planned_jobs


@pytest.fixture(scope="session")
def edit_config():
    """``edit_config(work, old, new, *args, check=True)``: replace ``old`` (which must occur) by ``new`` in
    ``work/config/config.yaml``, dry-run, restore the file; returns (process, planned jobs)."""

    def edit(work: Path, old: str, new: str, *args: str, check: bool = True):
        path = work / "config" / "config.yaml"
        original = path.read_text()
        assert old in original, f"{old!r} is not in {path}"
        try:
            path.write_text(original.replace(old, new, 1))
            proc = _run_snakemake(work, "-n", *args, check=check)
            return proc, _planned_jobs(proc)
        finally:
            path.write_text(original)

    return edit


# ------------------------------------------------------------------ small on-disk references
@pytest.fixture(scope="session")
def write_reference():
    """``write_reference(folder, sequence, annotation=None, contig="chr1")``: ``folder/ref.fa`` (60 bases a
    line, faidx-indexed) and, given its text, ``folder/genes.txt`` (a SpliceAI-style gene table)."""
    import pysam

    def write(folder: Path, sequence: str, annotation: str | None = None, contig: str = "chr1"):
        fasta = folder / "ref.fa"
        fasta.write_text(f">{contig}\n" + "\n".join(sequence[i:i + 60] for i in range(0, len(sequence), 60)) + "\n")
        pysam.faidx(str(fasta))
        genes = None
        if annotation is not None:
            genes = folder / "genes.txt"
            genes.write_text(annotation)
        return fasta, genes

    return write


# ------------------------------------------------------------------ read-only input folders
@pytest.fixture(scope="session")
def read_only():
    """``read_only.protect(folder)`` / ``.restore(folder)`` clear / set the write bits of a folder's tree;
    ``read_only.state(folder)``: every entry's name, size, mtime and content digest. Root ignores permission
    bits, so a read-only folder is checked by what is in it, not by the error a write would raise."""
    import hashlib
    from types import SimpleNamespace

    def state(folder: Path) -> list[tuple]:
        entries = []
        for path in sorted(folder.rglob("*")):
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            entries.append((str(path.relative_to(folder)), st.st_size, st.st_mtime_ns, digest))
        return entries

    def protect(folder: Path) -> None:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)

    def restore(folder: Path) -> None:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode | 0o200)

    return SimpleNamespace(state=state, protect=protect, restore=restore)


# ------------------------------------------------------------------ Pangolin weights fixture
PANGOLIN_WEIGHTS = ROOT / "tests" / "data" / "pangolin" / "weights"


@pytest.fixture(scope="session")
def pangolin_model_dir():
    """``pangolin_model_dir(folder, source=None)``: ``folder`` holding the twelve file names the
    ``pangolin`` command loads, as links to the committed fixture (tests/data/pangolin/weights: replicate
    1 of each tissue model, GPL-3.0) standing in for all three replicates, how the reference outputs in
    tests/data/pangolin/original_fixture/ were made; ``source`` (a file name there) links every name to
    that one file instead."""
    import os

    def make(folder: Path, source: str | None = None) -> Path:
        folder.mkdir(parents=True, exist_ok=True)
        for model in (0, 2, 4, 6):
            for rep in (1, 2, 3):
                link = folder / f"final.{rep}.{model}.3.v2"
                if not link.exists():
                    os.symlink(PANGOLIN_WEIGHTS / (source or f"final.1.{model}.3.v2"), link)
        return folder

    return make
