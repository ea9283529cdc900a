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
    for rule in ("score_shard", "predict_vcf", "predict_external"):
        assert f"rule {rule}:" in rules_text, rule
        assert sets[rule].get("slurm_partition") == "gpu" and sets[rule].get("gpu") == 1, rule
    assert not any("--gres" in str(res.get("slurm_extra", "")) for res in sets.values())
    assert profile["default-resources"]["slurm_partition"] != "gpu"
    assert profile["slurm-status-command"] == "squeue"  # see the profile's comment and docs/cluster.md
