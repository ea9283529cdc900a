"""The workflow's inputs and code: missing inputs, input changes, config typos, whose package runs.

Like tests/test_workflow.py, every check runs Snakemake in a copy of the workflow in a
temporary folder; most are dry runs, a few run the cheap ingest rule only.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

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


def replace_in_config(work: Path, old: str, new: str, name: str = "config.yaml") -> None:
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


def test_rule_scripts_import_this_checkout_not_an_installed_copy(tmp_path, copy_workflow):
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


# ------------------------------------------------------------------ item 5a: a missing input is an error
def fake_stale_ingest(work: Path) -> None:
    """Results of an earlier run, as they lie in results/ after the demo."""
    for name in [INGESTED, INGESTED + ".tbi", "results/variants/ingest_rejected.tsv"]:
        (work / name).parent.mkdir(parents=True, exist_ok=True)
        (work / name).write_text("stale\n")


def test_missing_variant_file_is_a_parse_time_error_not_stale_results(tmp_path, copy_workflow):
    work = copy_workflow(tmp_path)
    fake_stale_ingest(work)
    replace_in_config(work, "path: resources/demo/splicevardb_demo.tsv", "path: data/moved_export.tsv")
    proc = run_snakemake(work, "-n")
    assert proc.returncode != 0, output(proc)[-3000:]
    text = output(proc)
    assert "config variants.path: 'data/moved_export.tsv' does not exist" in text
    assert "normalize_variants" not in text


def test_real_data_template_with_missing_export_is_a_parse_time_error(tmp_path, copy_workflow):
    work = copy_workflow(tmp_path)
    fake_stale_ingest(work)
    proc = run_snakemake(work, "-n", "--configfile", "config/splicevardb.yaml")
    assert proc.returncode != 0
    assert "config variants.path: '/data/splicevardb/splicevardb_export.tsv' does not exist" in output(proc)


@pytest.mark.parametrize("old, new, key", [
    ("fasta: resources/demo/chr2_1-2333275.fa.gz", "fasta: resources/demo/missing.fa.gz", "reference.fasta"),
    ("annotation: grch38", "annotation: resources/genes_missing.txt", "annotation"),
    ("openspliceai_dir: \"\"", "openspliceai_dir: resources/osai_missing", "base_model.openspliceai_dir"),
    ("    model: hyenadna_frozen\n    epochs: 6\n",
     "    model: hyenadna_frozen\n    epochs: 6\n    checkpoint: resources/hyena_missing\n",
     "experiments.hyenadna_frozen.checkpoint"),
])
def test_other_missing_inputs_are_parse_time_errors(tmp_path, old, new, key, copy_workflow):
    work = copy_workflow(tmp_path)
    replace_in_config(work, old, new)
    if key == "base_model.openspliceai_dir":
        replace_in_config(work, "name: spliceai ", "name: openspliceai ")
    proc = run_snakemake(work, "-n")
    assert proc.returncode != 0
    assert f"config {key}: " in output(proc) and "does not exist" in output(proc), output(proc)[-3000:]


def test_variant_file_of_the_wrong_kind_is_a_parse_time_error(tmp_path, copy_workflow):
    work = copy_workflow(tmp_path)
    (work / "resources" / "demo" / "labelled.vcf").write_text(
        "##fileformat=VCFv4.2\n#CHROM\tPOS\tID\tREF\tALT\tQUAL\tFILTER\tINFO\n"
    )
    replace_in_config(work, "path: resources/demo/splicevardb_demo.tsv", "path: resources/demo/labelled.vcf")
    proc = run_snakemake(work, "-n")
    assert proc.returncode != 0 and "variants.source: vcf" in output(proc)


# ------------------------------------------------------------------ item 5b/5c: input changes rerun; the table
@pytest.fixture(scope="module")
def ingested(tmp_path_factory, copy_workflow):
    """A workflow copy whose ingest rule has run once (seconds)."""
    work = copy_workflow(tmp_path_factory.mktemp("ingested"))
    ok(run_snakemake(work, INGESTED))
    return work


def make_old(path: Path) -> None:
    os.utime(path, (1_000_000_000, 1_000_000_000))  # 2001: older than every result


def test_edited_variant_file_reruns_ingest_even_with_an_old_timestamp(ingested, planned_jobs):
    table = ingested / "resources" / "demo" / "splicevardb_demo.tsv"
    original = table.read_text()
    try:
        table.write_text(original.rsplit("\n", 2)[0] + "\n")  # one row fewer
        make_old(table)
        jobs = planned_jobs(ok(run_snakemake(ingested, "-n", INGESTED)))
        assert jobs.get("ingest_variants") == 1, jobs
    finally:
        table.write_text(original)
    assert "ingest_variants" not in planned_jobs(ok(run_snakemake(ingested, "-n", INGESTED)))


def test_another_variant_file_path_reruns_ingest(ingested, planned_jobs):
    moved = ingested / "resources" / "demo" / "other_export.tsv"
    moved.write_text((ingested / "resources" / "demo" / "splicevardb_demo.tsv").read_text())
    make_old(moved)
    cfg = ingested / "config" / "config.yaml"
    original = cfg.read_text()
    try:
        replace_in_config(ingested, "path: resources/demo/splicevardb_demo.tsv", "path: resources/demo/other_export.tsv")
        jobs = planned_jobs(ok(run_snakemake(ingested, "-n", INGESTED)))
        assert jobs.get("ingest_variants") == 1, jobs
    finally:
        cfg.write_text(original)


def test_end_of_run_table_only_when_this_run_rebuilt_the_report(ingested):
    table = ingested / "results" / "report" / "summary.txt"  # what print_summary_table prints
    table.parent.mkdir(parents=True, exist_ok=True)
    table.write_text("STALE TABLE from another run\n")
    proc = ok(run_snakemake(ingested, "--force", INGESTED))  # reruns ingest only
    assert "STALE TABLE" not in output(proc) and "Results summary" not in output(proc)


# ------------------------------------------------------------------ item 6: typos are errors at parse time
@pytest.mark.parametrize("old, new, expected", [
    ("    learning_rate: 0.001\n", "    learning_rte: 0.001\n",
     "config training.defaults: unknown key 'learning_rte'; did you mean 'learning_rate'?"),
    ("    max_train_samples: 1000\n    epochs: 3\n", "    max_train_samples: 1000\n    epoch: 3\n",
     "config experiments.cnn_quick_1k (model gated_cnn): unknown key 'epoch'; did you mean 'epochs'?"),
    ("      trainable_blocks: 2\n", "      trainable_block: 2\n",
     "config training.model_defaults.hyenadna_finetune: unknown key 'trainable_block'; did you mean 'trainable_blocks'?"),
])
def test_config_typos_fail_the_dry_run(tmp_path, old, new, expected, copy_workflow):
    work = copy_workflow(tmp_path)
    replace_in_config(work, old, new)
    proc = run_snakemake(work, "-n")
    assert proc.returncode != 0 and expected in output(proc), output(proc)[-3000:]
