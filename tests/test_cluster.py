"""The SLURM route on a real SLURM: tools/slurm-local/ starts a throw-away single-node cluster and
runs the workflow through it with profiles/slurm (docs/cluster.md).

This test runs the reduced form (`--until gather_scores`: ingest, normalize, both base-model shards
and the gather, one shard cancelled mid-run and resumed) to keep CI's time down; `make cluster-check`
runs the whole demo. It needs root (the daemons) and apt-get (SLURM's Debian packages): elsewhere
it is skipped with the reason, but under CI (CI=true) a missing piece is a failure.
"""
from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ROOT / "tools" / "slurm-local"
IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def skip_or_fail(reason: str):
    if IN_CI:
        pytest.fail(f"CI must run the SLURM check: {reason}")
    pytest.skip(reason)


@pytest.mark.slow
def test_reduced_workflow_through_a_real_slurm(tmp_path):
    if os.geteuid() != 0:
        skip_or_fail("the local SLURM cluster needs root (tools/slurm-local/with-slurm.sh starts its daemons)")
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        skip_or_fail("snakemake-executor-plugin-slurm is not installed: make cluster-deps")
    install = subprocess.run([str(TOOLS / "with-slurm.sh"), "--install", "true"], capture_output=True, text=True,
                             timeout=900, env={**os.environ, "VALIDSPLICE_SLURM_DIR": str(tmp_path / "cluster")})
    if install.returncode != 0:
        skip_or_fail(f"SLURM could not be installed or started: {install.stderr[-2000:]}")
    proc = subprocess.run(
        [str(TOOLS / "with-slurm.sh"), sys.executable, str(TOOLS / "cluster_check.py"),
         "--until", "gather_scores", "--workdir", str(tmp_path / "check")],
        capture_output=True, text=True, timeout=2400,
        env={**os.environ, "VALIDSPLICE_SLURM_DIR": str(tmp_path / "cluster")},
    )
    assert proc.returncode == 0, proc.stdout[-6000:] + proc.stderr[-6000:]
    report = json.loads((tmp_path / "check" / "cluster_check.json").read_text())
    assert report["jobs_per_rule"] == {"gather_scores": 1, "index_reference": 1, "ingest_variants": 1,
                                       "normalize_variants": 1, "score_shard": 2}
    assert report["gpu_rules_seen"] == ["score_shard"]
    assert report["slurm_jobs_run2"] >= 2  # the cancelled shard and the gather after it
    assert "--gpus=1" in report["sbatch_gpu_example"] and "-p gpu" in report["sbatch_gpu_example"]
    assert "--gpus" not in report["sbatch_cpu_example"]
    # every daemon the script started was stopped
    started = (tmp_path / "cluster" / "run" / "started.pids").read_text().split("\n")
    daemons = dict(line.split(" ", 1) for line in started if line)
    assert {"mariadbd", "slurmdbd", "slurmctld", "slurmd"} <= set(daemons.values())
    for pid, name in daemons.items():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            continue
        pytest.fail(f"{name} (pid {pid}) still runs after the script ended")


def test_slurm_profile_sends_the_scoring_rules_to_the_gpu_partition():
    """Static, no SLURM needed: the rules that run the base model are in profiles/slurm's GPU list,
    asking for a GPU the way plugin 2.x accepts (``gpu``; it refuses --gres in slurm_extra). The
    training rules are checked against the registry in test_registry."""
    import yaml

    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    sets = profile["set-resources"]
    rules_text = "".join(p.read_text() for p in (ROOT / "workflow" / "rules").glob("*.smk"))
    for rule in ("score_shard", "score_shard_openspliceai", "score_shard_pangolin", "predict_vcf", "predict_external"):
        assert f"rule {rule}:" in rules_text, rule
        assert sets[rule].get("slurm_partition") == "gpu" and sets[rule].get("gpu") == 1, rule
    assert not any("--gres" in str(res.get("slurm_extra", "")) for res in sets.values())
    assert profile["default-resources"]["slurm_partition"] != "gpu"
    assert profile["slurm-status-command"] == "squeue"  # see the profile's comment and docs/cluster.md


def test_every_rule_that_can_ask_for_a_gpu_is_in_the_profiles_gpu_list():
    """A rule whose `resources:` can ask for `gpu` runs on a GPU when one is there; on SLURM the profile, not
    the submitting host, sends it to the GPU partition (docs/cluster.md), so it must be in that list."""
    import re

    import yaml

    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    on_gpu = {rule for rule, res in profile["set-resources"].items() if res.get("slurm_partition") == "gpu"}
    asking = set()
    for path in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\n\s*rule ", path.read_text())[1:]:
            name = block.split(":", 1)[0].strip()
            if re.search(r"\bgpu=gpu_request\(", block):
                asking.add(name)
    assert {"score_shard", "score_shard_pangolin", "score_shard_openspliceai"} <= asking, asking
    assert asking <= on_gpu, sorted(asking - on_gpu)


def test_sbatch_recorder_writes_one_line_per_call_when_calls_are_concurrent(tmp_path, monkeypatch):
    """The plugin submits jobs concurrently; the recorder must not interleave two calls into one line (seen
    in a full `make cluster-check`: one line held two calls and the next was empty)."""
    spec = importlib.util.spec_from_file_location("cluster_check", TOOLS / "cluster_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    fake = tmp_path / "real"
    fake.mkdir()
    (fake / "sbatch").write_text("#!/bin/sh\nexit 0\n")
    (fake / "sbatch").chmod(0o755)
    monkeypatch.setenv("PATH", f"{fake}:{os.environ['PATH']}")
    bindir, calls = check.sbatch_recorder(tmp_path / "work")
    procs = [subprocess.Popen([str(bindir / "sbatch"), "--comment", f"rule_r_{i}", "--wrap", "x" * 20000])
             for i in range(30)]
    assert all(p.wait(timeout=60) == 0 for p in procs)
    lines = calls.read_text().splitlines()
    assert sorted(lines) == sorted(f"sbatch --comment rule_r_{i} --wrap {'x' * 20000} " for i in range(30))


def test_local_and_slurm_results_may_differ_only_by_thread_order_noise(tmp_path):
    """compare_results: timing columns are ignored, metrics may differ by float noise (the profile's threads
    differ from the local config's), anything larger fails."""
    import pandas as pd

    spec = importlib.util.spec_from_file_location("cluster_check", TOOLS / "cluster_check.py")
    check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(check)
    table = pd.DataFrame({"Experiment": ["a", "b"], "ROC-AUC": [0.9123456, 0.8], "Training seconds": [1.0, 2.0],
                          "Training time": ["1.0 s", "2.0 s"]})

    def write(name, roc, seconds):
        (tmp_path / name / "results" / "report").mkdir(parents=True)
        table.assign(**{"ROC-AUC": roc, "Training seconds": seconds}).to_csv(
            tmp_path / name / "results" / "report" / "summary.tsv", sep="\t", index=False)

    write("local", [0.9123456, 0.8], [1.0, 2.0])
    write("noise", [0.9123457, 0.8], [9.0, 9.0])
    write("worse", [0.9133456, 0.8], [1.0, 2.0])
    compared = check.compare_results(tmp_path / "local", tmp_path / "noise", None)
    assert "largest difference 1.0e-07" in compared[-1]
    with pytest.raises(AssertionError):
        check.compare_results(tmp_path / "local", tmp_path / "worse", None)
