"""The workflow's inputs and code: missing inputs, input changes, config typos, whose package runs.

Like tests/test_workflow.py, every check runs Snakemake in a copy of the workflow in a
temporary folder; most are dry runs, a few run the cheap ingest rule only.
"""
from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
from test_workflow import ROOT, SNAKEMAKE, copy_workflow, planned_jobs

SCRIPTS = ROOT / "workflow" / "scripts"
INGESTED = "results/variants/ingested.vcf.gz"


def run_snakemake(workdir: Path, *args: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [*SNAKEMAKE, "--cores", "1", *args], cwd=workdir, capture_output=True, text=True, timeout=600,
        env={**os.environ, **(env or {})},
    )


def output(proc: subprocess.CompletedProcess) -> str:
    return proc.stdout + proc.stderr


def ok(proc: subprocess.CompletedProcess) -> subprocess.CompletedProcess:
    assert proc.returncode == 0, output(proc)[-6000:]
    return proc


def edit_config(work: Path, old: str, new: str, name: str = "config.yaml") -> None:
    path = work / "config" / name
    text = path.read_text()
    assert old in text, old
    path.write_text(text.replace(old, new, 1))


# ------------------------------------------------------------------ item 7: the checkout's own code
def test_every_rule_script_puts_its_checkout_first_on_sys_path():
    """Static: each script inserts snakemake.scriptdir before its first validsplice import."""
    for script in sorted(SCRIPTS.glob("*.py")):
        text = script.read_text()
        first_import = text.index("from validsplice")
        bootstrap = text.find("sys.path.insert(0, snakemake.scriptdir)")
        assert 0 <= bootstrap < first_import, f"{script.name}: no bootstrap before its validsplice import"


def test_rule_scripts_import_this_checkout_not_an_installed_copy(tmp_path):
    """Another checkout's ``validsplice`` ahead on the path (PYTHONPATH comes before
    site-packages, so this is the strongest form of "installed from another checkout") must not
    be what a rule script imports."""
    (tmp_path / "wf").mkdir()
    work = copy_workflow(tmp_path / "wf")
    decoy = tmp_path / "other_checkout" / "validsplice"
    decoy.mkdir(parents=True)
    (decoy / "__init__.py").write_text(
        'raise ImportError("DECOY: the validsplice of another checkout was imported")\n'
    )
    proc = run_snakemake(work, INGESTED, env={"PYTHONPATH": str(decoy.parent)})
    log = (work / "logs/variants/ingest.log").read_text() if (work / "logs/variants/ingest.log").exists() else ""
    assert "DECOY" not in output(proc) + log
    ok(proc)
    assert (work / INGESTED).exists()
