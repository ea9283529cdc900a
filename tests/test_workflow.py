"""The Snakemake workflow itself: lint, the demo DAG, a real run, and rerun behaviour.

The workflow runs in a copy of the repository in a temporary folder, so the checkout's own
results/ are never touched. One full demo run (module-scoped) backs several checks.
"""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_lint_is_clean():
    proc = subprocess.run([sys.executable, "-m", "snakemake", "--lint"], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert "Congratulations" in proc.stdout + proc.stderr, proc.stdout + proc.stderr


def test_dry_run_shows_the_demo_dag(tmp_path, copy_workflow, run_snakemake, planned_jobs):
    work = copy_workflow(tmp_path)
    jobs = planned_jobs(run_snakemake(work, "-n"))
    for rule in [
        "ingest_variants",
        "normalize_variants",
        "extract_windows",
        "score_shard",
        "gather_scores",
        "build_targets",
        "baseline_predictions",
        "train_gated_cnn",
        "train_gated_cnn_paired",
        "train_binary_cnn",
        "train_hyenadna_frozen",
        "train_hyenadna_finetune",
        "train_paired_cnn_classifier",
        "train_spliceai_features_gbm",
        "train_position_only_gbm",
        "calibrate_model",
        "combine_calibrated",
        "evaluate_model",
        "make_report",
        "sensitivity_report",
        "model_manifest",
        "predict_vcf",
        "ingest_external",
        "normalize_external",
        "predict_external",
        "combine_external",
        "evaluate_external",
        "external_summary",
        "all",
    ]:
        assert rule in jobs, f"{rule} missing from the demo DAG: {jobs}"
    assert jobs["score_shard"] == 2
    # every experiment calibrated; spliceai_calibrated and the demo's ensemble built from them
    assert jobs["calibrate_model"] == 13 and jobs["combine_calibrated"] == 2
    # the base model runs once per VCF and once per external set, whatever the number of experiments
    assert jobs["predict_vcf"] == 1 and jobs["predict_external"] == 1
    assert jobs["train_paired_cnn_classifier"] == 2 and jobs["train_spliceai_features_gbm"] == 1
    assert jobs["train_position_only_gbm"] == 1
    # every row of the table on the external set: 13 experiments + spliceai_calibrated + the ensemble
    assert jobs["model_manifest"] == 13 and jobs["combine_external"] == 2 and jobs["evaluate_external"] == 15


def test_unknown_ensemble_member_is_a_parse_time_error(tmp_path, copy_workflow, edit_config):
    proc, _ = edit_config(copy_workflow(tmp_path), "    - hyenadna_finetune\n", "    - hyenadna_typo\n", check=False)
    assert proc.returncode != 0
    assert "config ensembles: 'cnn_hyenadna' lists unknown experiment(s) 'hyenadna_typo'" in proc.stderr + proc.stdout


def test_unknown_model_in_config_is_a_clear_error(tmp_path, copy_workflow, edit_config):
    proc, _ = edit_config(copy_workflow(tmp_path), "model: binary_cnn", "model: transformer_xl", check=False)
    assert proc.returncode != 0
    assert "transformer_xl" in proc.stderr + proc.stdout


def test_predict_naming_an_unknown_experiment_is_a_clear_error(tmp_path, copy_workflow, edit_config):
    proc, _ = edit_config(copy_workflow(tmp_path), "experiments: [spliceai_raw, paired_cnn_spliceai, binary_cnn]",
                          "experiments: [no_such_model, features_gbm]", check=False)
    assert proc.returncode != 0
    # the GBM has a model folder now (trees): only the unknown name is refused
    assert "['no_such_model'] have no model folder" in proc.stderr + proc.stdout


def test_hyenadna_model_id_adds_a_download_job(tmp_path, copy_workflow, run_snakemake, planned_jobs):
    """The branch with a HuggingFace model id: its test config (.test/config_hyenadna_download/) adds the download."""
    work = copy_workflow(tmp_path)
    proc = run_snakemake(work, "-n", "-p", "--configfile", ".test/config_hyenadna_download/config.yaml")
    jobs = planned_jobs(proc)
    assert jobs.get("download_hyenadna") == 1, jobs
    assert "resources/hyenadna/LongSafari--hyenadna-small-32k-seqlen-hf" in proc.stdout + proc.stderr


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, copy_workflow, run_snakemake, read_only):
    """The whole demo workflow, run once, with its inputs (reference, variants, VCFs) in a read-only folder."""
    work = copy_workflow(tmp_path_factory.mktemp("demo"))
    inputs = work / "resources" / "demo"
    read_only.protect(inputs)
    (work / "inputs_before.json").write_text(json.dumps(read_only.state(inputs)))
    proc = run_snakemake(work)
    (work / "demo_run_output.txt").write_text(proc.stdout + proc.stderr)  # what the terminal showed
    yield work
    read_only.restore(inputs)


@pytest.mark.slow
def test_demo_run_never_writes_beside_its_inputs(demo_run, read_only):
    """Root ignores permission bits, so the read-only folder is compared entry by entry (name, size,
    mtime, content); the reference the rules read is the workflow's own link under results/."""
    inputs = demo_run / "resources" / "demo"
    assert json.loads((demo_run / "inputs_before.json").read_text()) == json.loads(json.dumps(read_only.state(inputs)))
    staged = demo_run / "results/reference/chr2_1-2333275.fa.gz"
    assert staged.is_symlink() and staged.resolve() == (inputs / "chr2_1-2333275.fa.gz").resolve()
    assert "reusing the index beside" in (demo_run / "logs/reference/index.log").read_text()


@pytest.mark.slow
def test_demo_run_ends_with_the_table_it_built(demo_run):
    text = (demo_run / "demo_run_output.txt").read_text()
    assert "Results summary (test split):" in text
    assert (demo_run / "results/report/summary.txt").read_text().strip() in text


@pytest.mark.slow
def test_demo_run_produces_every_stage(demo_run):
    work = demo_run
    for path in [
        "results/variants/normalized.vcf.gz",
        "results/variants/normalized.vcf.gz.tbi",
        "results/variants/rejected.tsv",
        "results/windows/windows.npz",
        "results/scores/scores.parquet",
        "results/targets/test.parquet",
        "results/report/summary.tsv",
        "results/report/summary.html",
        "results/report/roc.svg",
        "results/report/predictions.tsv",
        "results/report/cutoffs.html",
        "results/report/breakdown.html",
        "results/report/summary.txt",
        "results/report/reliability.svg",
        "results/models/paired_cnn/val_predictions.parquet",
        "results/models/paired_cnn/calibrator.json",
        "results/models/paired_cnn/calibrated.parquet",
    ]:
        assert (work / path).exists(), path
    variants = pd.read_parquet(work / "results/variants/variants.parquet")
    assert set(variants["split"]) == {"train", "val", "test"}
    summary = pd.read_csv(work / "results/report/summary.tsv", sep="\t")
    # spliceai_raw + the twelve experiments of the demo config + spliceai_calibrated + one ensemble
    assert len(summary) == 15 and "position_only_gbm" in set(summary["Experiment"])
    sensitivity = pd.read_csv(work / "results/report/sensitivity.tsv", sep="\t")
    assert list(sensitivity["Experiment"]) == list(summary["Experiment"])
    assert (work / "results/report/sensitivity.html").exists()
    rows = summary.set_index("Experiment")
    assert rows.loc["spliceai_calibrated", "ROC-AUC"] == pytest.approx(rows.loc["spliceai_raw", "ROC-AUC"])
    assert rows.loc[["spliceai_calibrated", "cnn_hyenadna", "paired_cnn"], ["Brier", "ECE"]].notna().all().all()
    # the label-trained models: probabilities, calibrated like the rest, the GBM's own files, both DS mask
    # settings from one pass
    for name in ("features_gbm", "position_only_gbm", "paired_classifier", "paired_classifier_aux"):
        assert rows.loc[name, "Score scale"] == "probability", name
        assert rows.loc[[name], ["Brier", "ECE"]].notna().all().all(), name
    for path in ("model.joblib", "val_predictions.parquet", "history.tsv"):
        assert (work / "results/models/features_gbm" / path).exists(), path
    scores = pd.read_parquet(work / "results/scores/scores.parquet")
    assert {"DS_AG_masked", "DS_DL_unmasked"} <= set(scores.columns)
    rejected = pd.read_csv(work / "results/variants/rejected.tsv", sep="\t")
    assert len(rejected) > 0 and rejected["reason"].notna().all()


@pytest.mark.slow
def test_terminal_output_is_quiet_and_ends_with_a_narrow_table(demo_run):
    output = (demo_run / "demo_run_output.txt").read_text()
    assert "Shell command: None" not in output  # no printshellcmds in the default profile
    assert "(progress and ETA: logs/scores/shard_0.log)" in output  # message: points to the log
    start = output.index("Results summary (test split):")
    table = output[start:output.index("Logs per rule:", start)]  # what print_summary_table printed
    assert "results/report/predictions.tsv" in table and "snakemake --report results/report.html" in table
    assert max(len(line) for line in table.splitlines()) <= 120


def test_demo_predict_and_external_outputs(demo_run):
    import pysam

    with pysam.VariantFile(str(demo_run / "results/predict/cohort.vcf.gz")) as vcf:
        entries = {rec.id: list(rec.info.get("VALIDSPLICE", ())) for rec in vcf}
    assert entries["intergenic"] == [] and entries["ref_mismatch"] == []  # skipped like `score`
    tpo = [e.split("|") for e in entries["tpo_exon1"]]
    assert {e[4] for e in tpo} == {"spliceai_raw", "paired_cnn_spliceai", "binary_cnn"}
    assert all(0.0 <= float(e[2]) <= 1.0 for e in tpo)
    assert len(entries["sntg2_multiallelic"]) == 2 * 3  # two ALTs x three experiments
    assert all(e[5] in ("0", "1") for e in tpo)  # WORKFLOW_GENE
    summary = pd.read_csv(demo_run / "results/external/rule_labelled_2/summary.tsv", sep="\t")
    # every row of the results table: 13 experiments (the two GBMs included) + spliceai_calibrated + the ensemble
    assert len(summary) == 15 and summary["ROC-AUC"].notna().any()
    assert {"features_gbm", "position_only_gbm", "spliceai_calibrated"} <= set(summary["Experiment"])
    disjoint = pd.read_csv(demo_run / "results/external/rule_labelled_2/gene_disjoint.tsv", sep="\t")
    assert list(disjoint["Experiment"]) == list(summary["Experiment"])
    removed = pd.read_csv(demo_run / "results/external/rule_labelled_2/in_training.tsv", sep="\t")
    # the demo set's copies of training variants
    assert (removed["removed_because"] == "same allele in training").sum() == 4


@pytest.mark.slow
def test_second_run_does_nothing(demo_run, run_snakemake):
    proc = run_snakemake(demo_run, "-n")
    assert "Nothing to be done" in proc.stdout + proc.stderr


@pytest.mark.slow
def test_changing_window_length_reruns_windows_and_what_follows_only(demo_run, edit_config):
    _, jobs = edit_config(demo_run, "windows:\n  length: 501", "windows:\n  length: 401")
    assert "extract_windows" in jobs
    for upstream in ["ingest_variants", "normalize_variants", "score_shard", "gather_scores"]:
        assert upstream not in jobs, jobs


@pytest.mark.slow
def test_changing_one_hyperparameter_reruns_that_model_only(demo_run, edit_config):
    _, jobs = edit_config(demo_run, "    model: binary_cnn\n", "    model: binary_cnn\n    dropout: 0.3\n")
    assert jobs.get("train_binary_cnn") == 1, jobs
    assert jobs.get("evaluate_model") == 1, jobs
    assert "make_report" in jobs
    assert not {"train_gated_cnn", "train_gated_cnn_paired", "build_targets", "score_shard"} & set(jobs), jobs


@pytest.mark.slow
def test_report_page_builds(demo_run, run_snakemake):
    run_snakemake(demo_run, "--report", "results/report.html")
    page = demo_run / "results" / "report.html"
    assert page.exists() and page.stat().st_size > 10_000


SHIPPED_CONFIGS = ["config/config.yaml", "config/splicevardb.yaml", "config/vexseq.yaml",
                   *sorted(p.relative_to(ROOT).as_posix() for p in ROOT.glob(".test/config_*/config.yaml"))]


@pytest.mark.parametrize("name", SHIPPED_CONFIGS)
def test_shipped_configs_validate_against_the_schema(name):
    """The shipped configs and the test configs of the workflow's branches (.test/config_*/)."""
    import yaml
    from snakemake.utils import validate

    config = yaml.safe_load((ROOT / name).read_text())
    validate(config, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    assert config["training"]["defaults"]["epochs"] >= 1


@pytest.mark.slow
def test_report_in_a_real_browser(demo_run, tmp_path):
    """The demo's report opened in headless Chromium: landing text, every table and figure, width, no JS errors."""
    if not shutil.which("chromium") and not shutil.which("chromium-browser"):
        pytest.skip("Chromium is not installed (apt-get install -y chromium); `make report-check` runs this check")
    proc = subprocess.run([sys.executable, str(ROOT / "tools" / "report_check.py"), "--workdir", str(demo_run),
                           "--screenshots", str(tmp_path)], capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stdout[-4000:] + proc.stderr[-4000:]
    assert (tmp_path / "summary.png").stat().st_size > 1000
