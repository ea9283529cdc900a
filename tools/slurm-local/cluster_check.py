"""The demo through a real SLURM with profiles/slurm, checked against a local run of the same commit.

Run inside the cluster of with-slurm.sh (`make cluster-check` does both):

    tools/slurm-local/with-slurm.sh --install .venv/bin/python tools/slurm-local/cluster_check.py

Steps, each in its own copy of the workflow under --workdir:
  1. a local run (`snakemake --cores 2`): the reference results;
  2. a SLURM run with the local-check profile (profiles/slurm + LOCAL_OVERRIDES, written to
     <copy>/profiles/slurm-local/): one job is cancelled with `scancel` while it runs, and the run
     must stop and report it as failed;
  3. the same command again: it must run only what run 2 did not finish, and end the workflow.
Then it asserts that every Snakemake job was a SLURM job (sacct), that exactly the rules the
profile sends to the GPU partition asked for the gpu partition and a GPU (`--gpus`, sacct's
gres/gpu) and no other rule did, and that the results equal the local run's. Every `sbatch` call
is recorded by a wrapper first on PATH (<workdir>/sbatch_calls.txt). Findings go to
<workdir>/cluster_check.json and the terminal.

--until RULE runs the workflow up to that rule only (CI's reduced form, see docs/cluster.md).
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import yaml

ROOT = Path(__file__).resolve().parents[2]
COPIED = ["workflow", "config", "profiles", "resources"]
PROFILE = ROOT / "profiles" / "slurm" / "config.yaml"
# What a local cluster needs changed in profiles/slurm, and why (docs/cluster.md):
LOCAL_OVERRIDES = {
    # no conda channel is reachable here; the job runs in the environment snakemake runs in
    "software-deployment-method": None,
    # keep every job's SLURM log (the plugin deletes those of successful jobs) for the checks
    "slurm-keep-successful-logs": True,
    # first status query 5 s after a submission, not 40 s: dozens of short demo jobs in a chain
    "slurm-init-seconds-before-status-checks": 5,
}
# Partitions and account of with-slurm.sh are those of profiles/slurm, so none is overridden.
SLURM_RUN_TIMEOUT = 3600
# the job cancelled mid-run: a GPU rule in the reduced and the full DAG (the plugin's job comment
# carries the wildcard values only: rule_score_shard_wildcards_1), once its rule script has started
# writing its log (the job's own snakemake has parsed the workflow and runs the rule)
KILLED_RULE, KILLED_WILDCARDS, KILLED_LOG = "score_shard", "1", "logs/scores/shard_1.log"
# summary.tsv columns that measure the run, not the results
TIMING_COLUMNS = {"Training time", "Training seconds"}
# Training metrics of the local and the SLURM run agree to this, not bit for bit: profiles/slurm gives
# score_shard and train_gated_cnn 8 threads (set-threads) where the local config uses 1, and torch's CPU
# reductions add in an order that depends on the thread count (the full check saw a gated CNN's
# summary.tsv Correlation differ by 1e-7 from epoch 2 on). The table as shown (3 decimals) must be equal.
METRIC_TOLERANCE = 1e-6


def say(message: str) -> None:
    print(f"[cluster-check] {message}", flush=True)


def copy_workflow(dest: Path) -> Path:
    dest.mkdir(parents=True)
    for name in COPIED:
        shutil.copytree(ROOT / name, dest / name, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def local_profile(work: Path) -> Path:
    """profiles/slurm with LOCAL_OVERRIDES applied, written into the copy; returns its folder."""
    config = yaml.safe_load(PROFILE.read_text())
    for key, value in LOCAL_OVERRIDES.items():
        if value is None:
            config.pop(key, None)
        else:
            config[key] = value
    folder = work / "profiles" / "slurm-local"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.yaml").write_text(
        "# Written by tools/slurm-local/cluster_check.py: profiles/slurm with its LOCAL_OVERRIDES\n"
        + yaml.dump(config, Dumper=_NoAliases, sort_keys=False))
    return folder


class _NoAliases(yaml.SafeDumper):
    """Every rule's resources written out in full (no &id001 anchors)."""

    def ignore_aliases(self, data):
        return True


def gpu_rules() -> set[str]:
    """The rules profiles/slurm sends to the GPU partition with a GPU."""
    sets = yaml.safe_load(PROFILE.read_text()).get("set-resources", {})
    return {rule for rule, res in sets.items() if res.get("slurm_partition") == "gpu" and res.get("gpu")}


def sbatch_recorder(workdir: Path) -> tuple[Path, Path]:
    """A `sbatch` first on PATH that appends its command line to a file, then runs the real one."""
    real = shutil.which("sbatch")
    if real is None:
        raise SystemExit("sbatch not found: run inside tools/slurm-local/with-slurm.sh")
    bindir, calls = workdir / "bin", workdir / "sbatch_calls.txt"
    bindir.mkdir(parents=True, exist_ok=True)
    wrapper = bindir / "sbatch"
    # The plugin submits jobs concurrently: the line is written under an exclusive lock (flock), or two
    # calls' pieces interleave into one line and an empty one (seen in a full run).
    wrapper.write_text(f'#!/usr/bin/env bash\n'
                       f'{{ flock 9; printf "%q " sbatch "$@" >&9; echo >&9; }} 9>> {shlex.quote(str(calls))}\n'
                       f'exec {shlex.quote(real)} "$@"\n')
    wrapper.chmod(0o755)
    return bindir, calls


def snakemake_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "snakemake", *args]


def job_counts(text: str) -> collections.Counter:
    """Rule -> job count from a Snakemake run's or dry run's 'Job stats' table (also used by tests/conftest.py)."""
    jobs: collections.Counter = collections.Counter()
    in_table = False
    for line in text.splitlines():
        if line.startswith("job ") and "count" in line:
            in_table = True
            continue
        if in_table:
            m = re.match(r"^(\S+)\s+(\d+)\s*$", line)
            if m and m.group(1) != "total" and not set(m.group(1)) <= {"-"}:
                jobs[m.group(1)] = int(m.group(2))
            elif line.strip() == "" and jobs:
                break
    return jobs


def planned_jobs(work: Path, target_args: list[str]) -> collections.Counter:
    """Rule -> job count of a dry run (the 'Job stats' table)."""
    proc = subprocess.run(snakemake_command("-n", "--cores", "2", *target_args), cwd=work,
                          capture_output=True, text=True, check=True)
    return job_counts(proc.stdout + proc.stderr)


def sacct_jobs() -> list[dict]:
    """Every job of this (throw-away) cluster's accounting database."""
    fields = ["JobID", "JobName", "Partition", "Account", "AllocTRES", "State", "Comment", "NCPUS", "ReqMem",
              "Timelimit", "Elapsed", "ExitCode"]
    out = subprocess.run(["sacct", "-X", "-P", "-n", "-a", "--starttime", "now-1days", "-o", ",".join(fields)],
                         capture_output=True, text=True, check=True).stdout
    return [dict(zip(fields, line.split("|"))) for line in out.splitlines() if line.strip()]


def rule_of(comment: str) -> tuple[str, str]:
    """The plugin's job comment 'rule_<rule>[_wildcards_<wildcards>]' -> (rule, wildcards)."""
    body = comment.removeprefix("rule_")
    rule, _, wildcards = body.partition("_wildcards_")
    return rule, wildcards


def run_id(text: str) -> str:
    match = re.search(r"SLURM run ID: (\S+)", text)
    if not match:
        raise AssertionError("the SLURM executor did not report its run ID")
    return match.group(1)


def slurm_run(work: Path, profile: Path, target_args: list[str], env: dict, log: Path,
              kill: tuple[str, str] | None = None) -> tuple[int, str, float, str | None]:
    """One `snakemake --workflow-profile <local profile>`; with ``kill``, cancels that (rule, wildcards)
    job once SLURM runs it. Returns exit status, output, wall seconds and the cancelled job id."""
    start = time.monotonic()
    with open(log, "w") as out:
        proc = subprocess.Popen(snakemake_command("--workflow-profile", str(profile), *target_args), cwd=work,
                                stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True)
        cancelled = None
        try:
            while proc.poll() is None:
                if kill and cancelled is None and (work / KILLED_LOG).exists():
                    cancelled = cancel_when_running(*kill)
                if time.monotonic() - start > SLURM_RUN_TIMEOUT:
                    os.killpg(proc.pid, signal.SIGTERM)
                    raise AssertionError(f"the SLURM run took over {SLURM_RUN_TIMEOUT} s; see {log}")
                time.sleep(0.5)
        except BaseException:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
            raise
    return proc.returncode, log.read_text(), time.monotonic() - start, cancelled


def cancel_when_running(rule: str, wildcards: str) -> str | None:
    """scancel the job of (rule, wildcards) while SLURM reports it RUNNING; its id once done."""
    out = subprocess.run(["squeue", "-h", "-o", "%i|%T|%k"], capture_output=True, text=True).stdout
    for line in out.splitlines():
        jobid, state, comment = line.split("|", 2)
        if rule_of(comment) == (rule, wildcards) and state == "RUNNING":
            subprocess.run(["scancel", jobid], check=True)
            say(f"scancel {jobid} ({rule} {wildcards}) while it was RUNNING")
            return jobid
    return None


def compare_results(local: Path, slurm: Path, until: str | None) -> list[str]:
    """The results that must be equal; returns what was compared."""
    compared = []
    tables = ["results/scores/scores.parquet", "results/variants/variants.parquet"]
    for rel in tables:
        if (local / rel).exists() or (slurm / rel).exists():
            pd.testing.assert_frame_equal(pd.read_parquet(local / rel), pd.read_parquet(slurm / rel), check_exact=True)
            compared.append(rel)
    summary = "results/report/summary.tsv"
    if until is None:
        a, b = (pd.read_csv(w / summary, sep="\t") for w in (local, slurm))
        keep = [c for c in a.columns if c not in TIMING_COLUMNS]
        numbers = [c for c in keep if a[c].dtype.kind == "f"]
        pd.testing.assert_frame_equal(a[keep].drop(columns=numbers), b[keep].drop(columns=numbers),
                                      check_exact=True)
        pd.testing.assert_frame_equal(a[numbers].round(3), b[numbers].round(3), check_exact=True)
        pd.testing.assert_frame_equal(a[numbers], b[numbers], check_exact=False, rtol=0, atol=METRIC_TOLERANCE)
        largest = float((a[numbers] - b[numbers]).abs().max().max()) if numbers else 0.0
        compared.append(f"{summary} (all columns but {', '.join(sorted(TIMING_COLUMNS))}: text columns and "
                        f"the shown 3 decimals equal, metrics within {METRIC_TOLERANCE:g}, largest difference "
                        f"{largest:.1e})")
    if not compared:
        raise AssertionError("nothing to compare between the local and the SLURM run")
    return compared


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/validsplice-cluster-check"))
    parser.add_argument("--until", help="run the workflow up to this rule only (CI's reduced form)")
    parser.add_argument("--reuse-local", action="store_true",
                        help="keep <workdir>/local from an earlier check of the same commit and --until "
                             "instead of running it again (development shortcut)")
    args = parser.parse_args(argv)
    if "SLURM_CONF" not in os.environ:
        raise SystemExit("SLURM_CONF is not set: run inside tools/slurm-local/with-slurm.sh")
    workdir = args.workdir.resolve()
    reuse = args.reuse_local and (workdir / "local" / "results").is_dir()
    if workdir.exists():
        for path in workdir.iterdir():
            if not (reuse and path.name in {"local", "local.log"}):
                shutil.rmtree(path) if path.is_dir() and not path.is_symlink() else path.unlink()
    workdir.mkdir(parents=True, exist_ok=True)
    target_args = ["--until", args.until] if args.until else []
    report: dict = {"until": args.until, "overrides": {k: v for k, v in LOCAL_OVERRIDES.items()}}

    local = workdir / "local"
    if reuse:
        say(f"reusing the local run in {local}")
    else:
        say(f"local run ({' '.join(target_args) or 'whole demo'}) in {local}")
        copy_workflow(local)
        started = time.monotonic()
        proc = subprocess.run(snakemake_command("--cores", "2", *target_args), cwd=local, capture_output=True,
                              text=True)
        (workdir / "local.log").write_text(proc.stdout + proc.stderr)
        if proc.returncode != 0:
            raise AssertionError(f"the local run failed; see {workdir / 'local.log'}")
        report["local_wall_s"] = round(time.monotonic() - started, 1)

    slurm = copy_workflow(workdir / "slurm")
    profile = local_profile(slurm)
    planned = planned_jobs(slurm, target_args)
    planned.pop("all", None)  # the target rule runs in the main process (no shell, script or run)
    assert planned[KILLED_RULE] >= 1, f"{KILLED_RULE} is not in the DAG: {dict(planned)}"
    bindir, calls = sbatch_recorder(workdir)
    env = {**os.environ, "PATH": f"{bindir}{os.pathsep}{os.environ['PATH']}"}

    say(f"SLURM run 1 with {profile}; {KILLED_RULE} {KILLED_WILDCARDS} will be cancelled mid-run")
    status1, out1, wall1, cancelled = slurm_run(slurm, profile, target_args, env, workdir / "slurm_run1.log",
                                                kill=(KILLED_RULE, KILLED_WILDCARDS))
    assert cancelled, f"{KILLED_RULE} {KILLED_WILDCARDS} never ran; see {workdir / 'slurm_run1.log'}"
    assert status1 != 0, "the run went on as if the cancelled job had succeeded"
    failure = f"SLURM-job '{cancelled}' failed, SLURM status is: 'CANCELLED'"
    assert failure in out1, f"the cancelled job was not reported as failed ({failure!r}); see slurm_run1.log"
    assert f"Error in rule {KILLED_RULE}" in out1, "Snakemake did not name the failed rule"

    say("SLURM run 2: the same command again")
    status2, out2, wall2, _ = slurm_run(slurm, profile, target_args, env, workdir / "slurm_run2.log")
    assert status2 == 0, f"the second run failed; see {workdir / 'slurm_run2.log'}"
    runs = {run_id(out1): 1, run_id(out2): 2}

    # ---------------------------------------------------------------- every job a SLURM job
    jobs = [j for j in sacct_jobs() if j["JobName"] in runs]
    by_run: dict[int, list[dict]] = {1: [], 2: []}
    for job in jobs:
        job["rule"], job["wildcards"] = rule_of(job["Comment"])
        by_run[runs[job["JobName"]]].append(job)
    completed1 = {(j["rule"], j["wildcards"]) for j in by_run[1] if j["State"] == "COMPLETED"}
    not_completed1 = [j for j in by_run[1] if j["State"] != "COMPLETED"]
    run2 = {(j["rule"], j["wildcards"]) for j in by_run[2]}
    assert all(j["State"] == "COMPLETED" for j in by_run[2]), [j for j in by_run[2] if j["State"] != "COMPLETED"]
    assert [j["JobID"] for j in not_completed1 if j["State"].startswith("CANCELLED")] == [cancelled], not_completed1
    # resume: the second run submitted nothing the first one had finished, and together they ran the DAG
    assert not completed1 & run2, f"run 2 reran finished jobs: {sorted(completed1 & run2)}"
    assert (KILLED_RULE, KILLED_WILDCARDS) in run2
    done = collections.Counter(rule for rule, _ in completed1 | run2)
    assert done == planned, f"SLURM jobs per rule {dict(done)} != planned {dict(planned)}"
    left = planned_jobs(slurm, target_args)
    assert not left, f"after run 2 the workflow still has jobs to run: {dict(left)}"

    # ---------------------------------------------------------------- GPU rules, and only they, on the GPU
    wanted_gpu = gpu_rules()
    for job in jobs:
        on_gpu = job["Partition"] == "gpu" and "gres/gpu=1" in job["AllocTRES"]
        assert on_gpu == (job["rule"] in wanted_gpu), f"{job['rule']}: partition {job['Partition']}, {job['AllocTRES']}"
        assert job["Partition"] in {"gpu", "cpu"} and job["Account"] == "my_account", job
    submitted = calls.read_text().splitlines()
    assert len(submitted) == len(jobs), f"{len(submitted)} sbatch calls for {len(jobs)} SLURM jobs"
    for line in submitted:
        rule, _ = rule_of(re.search(r"--comment (\S+)", line).group(1).strip("'\""))
        assert (" --gpus=1" in line and " -p gpu" in line) == (rule in wanted_gpu), line
    gpu_line = next(line for line in submitted if f"rule_{KILLED_RULE}" in line)
    cpu_line = next(line for line in submitted if " -p cpu" in line)

    # ---------------------------------------------------------------- results equal the local run's
    compared = compare_results(local, slurm, args.until)

    report.update({
        "slurm_jobs": len(jobs),
        "slurm_jobs_run1": len(by_run[1]), "slurm_jobs_run2": len(by_run[2]),
        "jobs_per_rule": dict(sorted(done.items())),
        "gpu_rules_seen": sorted({j["rule"] for j in jobs if j["rule"] in wanted_gpu}),
        "cancelled_job": cancelled,
        "resume": f"run 1 stopped after its {len(completed1)} finished jobs and the cancelled one "
                  f"(exit {status1}); run 2 ran the {len(run2)} missing jobs only and finished (exit 0)",
        "slurm_wall_s": {"run1": round(wall1, 1), "run2": round(wall2, 1), "total": round(wall1 + wall2, 1)},
        "compared_with_local_run": compared,
        "sbatch_gpu_example": shorten(gpu_line),
        "sbatch_cpu_example": shorten(cpu_line),
    })
    (workdir / "cluster_check.json").write_text(json.dumps(report, indent=2) + "\n")
    say(json.dumps(report, indent=2))
    say(f"PASSED: {len(jobs)} SLURM jobs; report in {workdir / 'cluster_check.json'}")
    return 0


def shorten(line: str) -> str:
    """An sbatch line with the long --wrap payload (the job's snakemake command) cut short."""
    return re.sub(r"(--wrap[= ])(\S{0,60})\S*(.*?)$", r"\1\2...", line.strip())


if __name__ == "__main__":
    sys.exit(main())
