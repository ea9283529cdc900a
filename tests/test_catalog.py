"""The Snakemake workflow catalog layout (issue 10, items 1 and 6): catalog files, running from
another directory, config files replacing the demo config, pinned envs that agree with
requirements.txt, and spliceai installed without TensorFlow in the conda envs.

Static checks read the files; the runs use a copy of the workflow in a temporary folder, so the
checkout itself is never written to.
"""
from __future__ import annotations

import ast
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from validsplice.config.workflow_config import resolve_from_checkout

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]

ENVS = ROOT / "workflow" / "envs"
SCHEMA = ROOT / "workflow" / "schemas" / "config.schema.yaml"
DEMO_FASTA = "resources/demo/chr2_1-2333275.fa.gz"
DEMO_VARIANTS = "resources/demo/splicevardb_demo.tsv"
SPLICEAI_PIN = "spliceai==1.3.1"
# Packages an env may list that the pip route does not install (with the reason).
ENV_ONLY = {"huggingface-hub": "only the optional download_hyenadna rule needs it"}


def run_snakemake(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # the checkout's own package
    return subprocess.run([*SNAKEMAKE, "--cores", "1", *args], cwd=cwd, capture_output=True, text=True,
                          timeout=600, env=env)


def ok(proc: subprocess.CompletedProcess) -> str:
    text = proc.stdout + proc.stderr
    assert proc.returncode == 0, text[-6000:]
    return text


# ------------------------------------------------------------------ catalog files
def test_catalog_files():
    assert "MIT License" in (ROOT / "LICENSE").read_text()
    assert 'license = "MIT"' in (ROOT / "pyproject.toml").read_text()
    notice = (ROOT / "NOTICE").read_text()
    for phrase in ["CC BY-NC 4.0", "spliceai", "grch38", "bfairkun/my_utils"]:
        assert phrase in notice, phrase
    assert "CC BY-NC 4.0" in (ROOT / "README.md").read_text()
    catalog = yaml.safe_load((ROOT / ".snakemake-workflow-catalog.yml").read_text())
    assert catalog["usage"]["software-stack-deployment"]["conda"] is True
    assert catalog["usage"]["report"] is True


def test_global_report_directive_names_the_landing_text():
    snakefile = (ROOT / "workflow" / "Snakefile").read_text()
    assert re.search(r'^report: "report/workflow\.rst"$', snakefile, re.M)
    assert (ROOT / "workflow" / "report" / "workflow.rst").read_text().strip()


def test_config_readme_covers_every_top_level_key():
    readme = (ROOT / "config" / "README.md").read_text()
    keys = yaml.safe_load(SCHEMA.read_text())["properties"]
    missing = [key for key in keys if f"`{key}`" not in readme]
    assert not missing, f"config/README.md does not describe: {missing}"
    assert "config/splicevardb.yaml" in readme


# ------------------------------------------------------------------ where relative paths resolve
def demo_like_config(**overrides) -> dict:
    config = {
        "variants": {"path": DEMO_VARIANTS},
        "reference": {"fasta": DEMO_FASTA, "url": ""},
        "annotation": "grch38",
        "base_model": {"name": "spliceai", "openspliceai_dir": ""},
    }
    for dotted, value in overrides.items():
        section, key = dotted.split("__") if "__" in dotted else (None, dotted)
        (config[section] if section else config)[key] = value
    return config


def test_relative_inputs_missing_from_the_working_directory_come_from_the_checkout(tmp_path):
    config = demo_like_config()
    notes = resolve_from_checkout(config, ROOT, workdir=tmp_path)
    assert config["variants"]["path"] == str(ROOT / DEMO_VARIANTS)
    assert config["reference"]["fasta"] == str(ROOT / DEMO_FASTA)
    assert len(notes) == 2 and "variants.path" in notes[0] and str(tmp_path) in notes[0]


def test_a_copy_in_the_working_directory_wins(tmp_path):
    (tmp_path / "resources" / "demo").mkdir(parents=True)
    (tmp_path / DEMO_VARIANTS).write_text("mine\n")
    config = demo_like_config()
    resolve_from_checkout(config, ROOT, workdir=tmp_path)
    assert config["variants"]["path"] == DEMO_VARIANTS  # still relative: the working directory's file
    assert config["reference"]["fasta"] == str(ROOT / DEMO_FASTA)


def test_paths_outside_the_rule_are_left_alone(tmp_path):
    config = demo_like_config(
        variants__path=str(tmp_path / "absolute.tsv"),  # absolute: never rewritten
        reference__url="https://example.invalid/hg38.fa.gz",  # the FASTA is a download target
        annotation="resources/demo/no_such_table.txt",  # nowhere: check_input_files reports it
    )
    assert resolve_from_checkout(config, ROOT, workdir=tmp_path) == []
    assert config["reference"]["fasta"] == DEMO_FASTA
    assert config["annotation"] == "resources/demo/no_such_table.txt"


# ------------------------------------------------------------------ running from another directory
@pytest.mark.slow
def test_the_demo_runs_from_another_directory(tmp_path, copy_workflow):
    """`snakemake -s <checkout>/workflow/Snakefile` from an empty folder: the checkout's demo
    config, its resources, results in the working folder (a real run of the first rules)."""
    checkout = copy_workflow(tmp_path / "checkout")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    text = ok(run_snakemake(elsewhere, "-s", str(checkout / "workflow" / "Snakefile"),
                            "results/variants/variants.parquet"))
    assert f"using the checkout's {checkout / DEMO_VARIANTS}" in text
    assert (elsewhere / "results" / "variants" / "variants.parquet").is_file()
    assert not (checkout / "results").exists()


@pytest.mark.slow
def test_directory_option_and_a_configfile_of_the_working_directory(tmp_path, copy_workflow, planned_jobs):
    """--directory from a third folder; the working directory's config/config.yaml is used, and its
    relative paths are the working directory's."""
    checkout = copy_workflow(tmp_path / "checkout")
    work = tmp_path / "work"
    (work / "config").mkdir(parents=True)
    (work / "data").mkdir()
    (work / "data" / "variants.tsv").write_text((ROOT / DEMO_VARIANTS).read_text())
    config = (ROOT / "config" / "config.yaml").read_text().replace(f"path: {DEMO_VARIANTS}", "path: data/variants.tsv")
    (work / "config" / "config.yaml").write_text(config)
    proc = run_snakemake(tmp_path, "-s", str(checkout / "workflow" / "Snakefile"), "--directory", str(work), "-n")
    text = ok(proc)
    assert "Config file(s): ['config/config.yaml']" in text
    assert "variants.path" not in text  # found in the working directory, not rewritten
    assert f"reference.fasta: '{DEMO_FASTA}' is not in {work}; using the checkout's" in text
    assert planned_jobs(proc)["ingest_variants"] == 1


@pytest.mark.slow
def test_a_configfile_replaces_the_demo_config_instead_of_merging_over_it(tmp_path, copy_workflow, planned_jobs):
    """A real-data config that drops experiments must not inherit the demo's (nor its
    allow_random_init HyenaDNA defaults)."""
    work = copy_workflow(tmp_path)
    demo = yaml.safe_load((work / "config" / "config.yaml").read_text())
    demo["experiments"] = {"cnn_quick_1k": demo["experiments"]["cnn_quick_1k"]}
    del demo["training"]["model_defaults"]
    for key in ("ensembles", "predict", "external_test"):  # they name demo experiments dropped above
        demo.pop(key, None)
    (work / "mine.yaml").write_text(yaml.safe_dump(demo))
    jobs = planned_jobs(run_snakemake(work, "-n", "--configfile", "mine.yaml"))
    assert jobs["train_gated_cnn"] == 1
    assert not {"train_binary_cnn", "train_hyenadna_frozen", "train_hyenadna_finetune"} & set(jobs)


# ------------------------------------------------------------------ envs and pins
def pins(lines) -> dict[str, str]:
    """name -> version of 'name==version' lines (comments and blanks skipped)."""
    found = {}
    for line in lines:
        line = line.split("#")[0].strip()
        if line:
            name, sep, version = line.partition("==")
            assert sep, f"not pinned with ==: {line!r}"
            found[name.strip().lower()] = version.strip()
    return found


def env_files() -> list[Path]:
    files = sorted(ENVS.glob("*.yaml"))
    assert files
    return files


@pytest.mark.parametrize("env_file", env_files(), ids=lambda p: p.name)
def test_conda_env_pins_agree_with_requirements_txt(env_file):
    requirements = pins((ROOT / "requirements.txt").read_text().splitlines())
    spec = yaml.safe_load(env_file.read_text())
    pip_lists = [d["pip"] for d in spec["dependencies"] if isinstance(d, dict)]
    assert len(pip_lists) == 1, "one pip: list per env"
    conda_deps = [d for d in spec["dependencies"] if isinstance(d, str)]
    assert all(re.fullmatch(r"[\w.-]+=[\w.]+", d) for d in conda_deps), conda_deps  # python=3.11, pip=24.2
    for name, version in pins(pip_lists[0]).items():
        assert name != "spliceai", "spliceai comes from the post-deploy script (--no-deps), not the pip list"
        if name in ENV_ONLY:
            continue
        assert name in requirements, f"{env_file.name}: {name} is not in requirements.txt"
        assert version == requirements[name], f"{env_file.name}: {name}=={version}, requirements.txt {requirements[name]}"


def test_spliceai_is_installed_without_tensorflow_on_both_routes():
    """Envs whose rules read the spliceai package's weights or gene tables install it with
    --no-deps in a post-deploy script, like the Makefile (pip route)."""
    makefile = (ROOT / "Makefile").read_text()
    assert f"pip install --quiet --no-deps {SPLICEAI_PIN}" in makefile
    users = {"base_model.yaml", "variants.yaml"}  # score_shard, gather_scores; ingest, normalize, windows
    for env_file in env_files():
        script = env_file.with_suffix(".post-deploy.sh")
        if env_file.name in users:
            text = script.read_text()
            assert text.startswith("#!/usr/bin/env bash\n") and "set -euo pipefail" in text
            assert re.search(rf"^python -m pip install --no-deps {re.escape(SPLICEAI_PIN)}$", text, re.M)
            assert os.access(script, os.X_OK)
        for path in [env_file, script]:
            code = "\n".join(line.split("#")[0] for line in path.read_text().splitlines()) if path.exists() else ""
            assert not re.search(r"tensorflow|keras", code, re.I), f"{path.name} installs TensorFlow/Keras"


def test_lint_tools_are_pinned_and_wired_into_ci():
    dev = pins((ROOT / "requirements-dev.txt").read_text().splitlines())
    assert {"ruff", "snakefmt"} <= set(dev)
    makefile = (ROOT / "Makefile").read_text()
    lint = makefile[makefile.index("\nlint:"):].split("\n\n")[0]
    for command in ["snakefmt --check workflow", "ruff check .", "snakemake --lint"]:
        assert command in lint, command
    assert re.search(r"^make -k lint (cluster-deps )?test ", (ROOT / ".ci" / "run").read_text(), re.M)
    pyproject = (ROOT / "pyproject.toml").read_text()
    assert 'builtins = ["snakemake"]' in pyproject  # the object Snakemake injects into rule scripts
    noqa = [p.name for p in (ROOT / "workflow" / "scripts").glob("*.py") if "noqa: F821" in p.read_text()]
    assert not noqa, f"the builtin replaces these: {noqa}"


def test_the_library_never_uses_the_snakemake_object():
    """ruff accepts the name everywhere (it cannot scope it to the rule scripts alone), so this
    checks the library: it gets its inputs as arguments and runs without Snakemake."""
    library = ROOT / "workflow" / "scripts" / "validsplice"
    uses = [f"{path.relative_to(library)}:{node.lineno}" for path in library.rglob("*.py")
            for node in ast.walk(ast.parse(path.read_text()))
            if isinstance(node, ast.Name) and node.id == "snakemake"]
    assert not uses, uses


# Scripts that several rules run, each with the reason; every other script is named after its rule.
SHARED_SCRIPTS = {
    "train_model": "every network's train_{model} rule (one per registry entry) runs the one training loop",
    "train_gbm": "the feature models' training rules",
    "ingest_variants": "ingest_external reads an external set exactly like ingest_variants",
    "evaluate_model": "evaluate_external scores an external set exactly like evaluate_model",
    "score_shard": "score_shard_openspliceai scores an additional OpenSpliceAI exactly like the primary's score_shard",
    "gather_scores": "gather_base_model_scores gathers an additional base model's shards exactly like gather_scores",
}


def rule_scripts() -> list[tuple[str, str]]:
    """(rule name, script stem) for every rule of workflow/rules/*.smk, read statically."""
    pairs = []
    for smk in sorted((ROOT / "workflow" / "rules").glob("*.smk")):
        text = smk.read_text()
        starts = list(re.finditer(r"^\s*rule(?: (\w+))?:\n(?:\s*name:\s*\n\s*(f?\"[^\"]+\"))?", text, re.M))
        for i, start in enumerate(starts):
            end = starts[i + 1].start() if i + 1 < len(starts) else len(text)
            script = re.search(r"script:\s*\n?\s*(?:f?\")\.\./scripts/(\w+)\.py\"", text[start.start():end])
            if script:
                name = start.group(1) or start.group(2).strip('f"')
                pairs.append((name, script.group(1)))
    return pairs


def test_each_rule_script_is_named_after_its_rule():
    pairs = rule_scripts()
    assert len(pairs) >= 20 and ("score_shard", "score_shard") in pairs
    mismatched = [(rule, script) for rule, script in pairs if rule != script and script not in SHARED_SCRIPTS]
    assert not mismatched, mismatched
    scripts = {p.stem for p in (ROOT / "workflow" / "scripts").glob("*.py")}
    assert scripts == {script for _, script in pairs}, "a script that no rule runs, or a rule without its script"
