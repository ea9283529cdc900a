"""Parse-time config checks (validsplice.config.workflow_config): unknown keys, input files, digests."""
from __future__ import annotations

import copy
import re
from pathlib import Path

import pytest
import yaml

from validsplice.common.rule_io import UserError
from validsplice.config.registry import KNOWN_MODELS, MODEL_SETTINGS
from validsplice.config.workflow_config import (
    check_config_keys,
    check_input_files,
    closest,
    file_digest,
    general_settings,
)

ROOT = Path(__file__).resolve().parents[1]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())
MODELS_DIR = ROOT / "workflow" / "scripts" / "validsplice" / "models"
GBM_MODULE = ROOT / "workflow" / "scripts" / "validsplice" / "training" / "gbm.py"  # the feature model


def shipped(name="config.yaml") -> dict:
    return yaml.safe_load((ROOT / "config" / name).read_text())


@pytest.mark.parametrize("name", ["config.yaml", "splicevardb.yaml"])
def test_shipped_configs_have_no_unknown_keys(name):
    check_config_keys(shipped(name), SCHEMA)


def error_of(config) -> str:
    with pytest.raises(UserError) as err:
        check_config_keys(config, SCHEMA)
    return str(err.value)


def test_typo_in_training_defaults_names_key_place_and_closest():
    cfg = shipped()
    cfg["training"]["defaults"]["learning_rte"] = 0.5
    msg = error_of(cfg)
    assert "training.defaults" in msg and "'learning_rte'" in msg and "did you mean 'learning_rate'" in msg


def test_typo_in_an_experiment_names_experiment_and_closest():
    cfg = shipped()
    cfg["experiments"]["cnn_quick_1k"]["epoch"] = 3
    msg = error_of(cfg)
    assert "experiments.cnn_quick_1k" in msg and "'epoch'" in msg and "did you mean 'epochs'" in msg


def test_typo_in_model_defaults_and_unknown_model_there():
    cfg = shipped()
    cfg["training"]["model_defaults"]["hyenadna_frozen"]["alow_random_init"] = True
    msg = error_of(cfg)
    assert "training.model_defaults.hyenadna_frozen" in msg and "did you mean 'allow_random_init'" in msg
    cfg = shipped()
    cfg["training"]["model_defaults"]["hyenadna_frozn"] = {"epochs": 2}
    msg = error_of(cfg)
    assert "hyenadna_frozn" in msg and "did you mean 'hyenadna_frozen'" in msg.lower()


def test_a_setting_of_another_model_is_rejected_and_its_owner_named():
    cfg = shipped()
    cfg["experiments"]["cnn_quick_1k"]["use_base_model"] = True  # gated_cnn, not gated_cnn_paired
    msg = error_of(cfg)
    assert "'use_base_model'" in msg and "gated_cnn_paired" in msg and "experiments.cnn_quick_1k" in msg


def test_model_settings_are_accepted_for_their_model_and_type_checked():
    cfg = shipped()
    cfg["experiments"]["paired_cnn"]["max_delta_weight"] = 0.5
    cfg["experiments"]["binary_cnn"]["threshold_rule"] = "youden"
    check_config_keys(cfg, SCHEMA)
    cfg["experiments"]["binary_cnn"]["threshold_rule"] = "best"
    assert "experiments.binary_cnn.threshold_rule" in error_of(cfg)
    cfg = shipped()
    cfg["experiments"]["cnn_quick_1k"]["epochs"] = "3"
    assert "experiments.cnn_quick_1k.epochs" in error_of(cfg)


def test_untrained_baseline_takes_no_settings():
    cfg = shipped()
    cfg["experiments"]["spliceai_raw"]["epochs"] = 3
    assert "spliceai_raw is not trained" in error_of(cfg)


def test_unknown_model_and_misnamed_baseline():
    cfg = shipped()
    cfg["experiments"]["binary_cnn"]["model"] = "binary_cn"
    msg = error_of(cfg)
    assert "'binary_cn'" in msg and "did you mean 'binary_cnn'" in msg.lower()
    cfg = shipped()
    cfg["experiments"]["raw"] = {"model": "spliceai_raw"}
    assert "must be named 'spliceai_raw'" in error_of(cfg)


def test_typos_in_closed_sections_anywhere():
    cfg = shipped()
    cfg["split"]["mdoe"] = cfg["split"].pop("mode")
    msg = error_of(cfg)
    assert "config split" in msg and "did you mean 'mode'" in msg
    cfg = shipped()
    cfg["varaints"] = cfg.pop("variants")
    assert "did you mean 'variants'" in error_of(cfg)


def test_closest_is_none_when_nothing_is_close():
    assert closest("zzzz", ["epochs", "seed"]) is None
    assert closest("Epochs", ["epochs", "seed"]) == "epochs"


def test_the_schema_lists_no_model_names_the_registry_is_the_one_list():
    model = SCHEMA["properties"]["experiments"]["additionalProperties"]["properties"]["model"]
    assert "enum" not in model and "registry" in model["description"]
    assert sorted(KNOWN_MODELS) == sorted(MODEL_SETTINGS)
    cfg = shipped()
    cfg["experiments"]["cnn_quick_1k"]["model"] = "gated_cnn_pared"
    assert "Did you mean 'gated_cnn_paired'" in error_of(cfg)


def test_every_setting_the_model_code_reads_is_declared():
    """The models read their settings as attributes (``settings.x``); every one is a general key
    (training.defaults) or declared by a model (MODEL_SETTINGS), and no key is read through a
    fallback default (``.get(key, default)``, ``hyper(...)``): the defaults live in one place."""
    declared = set(general_settings(SCHEMA)) | {k for keys in MODEL_SETTINGS.values() for k in keys}
    read = set()
    for path in [*MODELS_DIR.glob("*.py"), GBM_MODULE]:
        text = path.read_text()
        read |= set(re.findall(r"\bsettings\.(\w+)", text))
        assert not re.search(r"\b(params|settings)\.get\(|\bhyper\(", text), path.name
    assert read and read <= declared, sorted(read - declared)


# ------------------------------------------------------------------ input files
def validated(tmp_path, **changes):
    from snakemake.utils import validate

    cfg = copy.deepcopy(shipped())
    table = tmp_path / "v.tsv"
    table.write_text("variant_id\thg38\tgene\thgvs\tclassification\tlocation\n")
    fasta = tmp_path / "ref.fa"
    fasta.write_text(">chr1\nACGT\n")
    cfg["variants"]["path"] = str(table)
    cfg["reference"]["fasta"] = str(fasta)
    for key, value in changes.items():
        section, name = key.split("__")
        if section == "top":
            cfg[name] = value
        else:
            cfg[section][name] = value
    validate(cfg, str(ROOT / "workflow" / "schemas" / "config.schema.yaml"))
    return cfg


@pytest.mark.parametrize("changes, key", [
    ({"variants__path": "nowhere/export.tsv"}, "variants.path"),
    ({"reference__fasta": "nowhere/ref.fa"}, "reference.fasta"),
    ({"top__annotation": "nowhere/genes.txt"}, "annotation"),
    ({"base_model__name": "openspliceai", "base_model__openspliceai_dir": "nowhere"}, "base_model.openspliceai_dir"),
])
def test_missing_input_names_key_and_path(tmp_path, changes, key):
    cfg = validated(tmp_path, **changes)
    with pytest.raises(UserError) as err:
        check_input_files(cfg)
    msg = str(err.value)
    assert msg.startswith(f"config {key}:") and "nowhere" in msg and "does not exist" in msg


def test_present_inputs_pass_and_a_url_reference_may_be_absent(tmp_path):
    check_input_files(validated(tmp_path))
    check_input_files(validated(tmp_path, reference__fasta="nowhere/ref.fa", reference__url="https://x/ref.fa.gz"))
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(UserError, match="no .pt checkpoints"):
        check_input_files(validated(tmp_path, base_model__name="openspliceai", base_model__openspliceai_dir=str(empty)))


def test_file_digest_follows_content(tmp_path):
    a = tmp_path / "a"
    a.write_text("x")
    first = file_digest(a)
    a.write_text("y")
    assert file_digest(a) != first and len(first) == 64


# ------------------------------------------------------------------ several base models (issue 20)
PANGOLIN_FIXTURE = ROOT / "tests" / "data" / "pangolin" / "weights"


def test_base_models_take_their_own_settings_with_the_schema_defaults(tmp_path):
    from validsplice.config.workflow_config import extra_base_models

    cfg = validated(tmp_path, top__base_models={"pangolin": {"pangolin_dir": str(PANGOLIN_FIXTURE), "shards": 3}})
    extra = extra_base_models(cfg)
    assert list(extra) == ["pangolin"]
    # its own values, the schema's defaults for the rest (Pangolin's mask default is the original's True)
    assert extra["pangolin"]["shards"] == 3 and extra["pangolin"]["mask"] == 1
    assert extra["pangolin"]["distance"] == SCHEMA["properties"]["base_model"]["properties"]["distance"]["default"]
    assert cfg["base_model"]["mask"] == 0  # the primary's settings are untouched
    check_input_files(cfg)


def test_base_models_typo_names_the_closest_model():
    cfg = shipped()
    cfg["base_models"] = {"pangolim": {}}
    assert "'pangolin'" in error_of(cfg)


@pytest.mark.parametrize("primary, extra, phrase", [
    ("spliceai", {"spliceai": {}}, "already the primary"),
    ("openspliceai", {"spliceai": {}}, "SpliceAI must be the primary"),
])
def test_a_base_model_is_listed_once_and_spliceai_is_the_primary(tmp_path, primary, extra, phrase):
    from validsplice.config.workflow_config import extra_base_models

    cfg = {"base_model": {"name": primary}, "base_models": extra}
    with pytest.raises(UserError, match=phrase):
        extra_base_models(cfg)


def test_pangolin_folder_must_hold_weight_files(tmp_path):
    empty = tmp_path / "weights"
    empty.mkdir()
    for folder, phrase in (("nowhere", "does not exist"), (str(empty), "holds no Pangolin weight files")):
        cfg = validated(tmp_path, top__base_models={"pangolin": {"pangolin_dir": folder}})
        with pytest.raises(UserError, match=phrase) as err:
            check_input_files(cfg)
        assert str(err.value).startswith("config base_models.pangolin.pangolin_dir:")


def test_an_additional_openspliceai_folder_is_checked_under_its_own_key(tmp_path):
    cfg = validated(tmp_path, top__base_models={"openspliceai": {"openspliceai_dir": "nowhere"}})
    with pytest.raises(UserError, match=r"^config base_models\.openspliceai\.openspliceai_dir: 'nowhere'"):
        check_input_files(cfg)


@pytest.mark.parametrize("device, env, expected", [
    ("cpu", "1", 0),       # a CPU setting never asks for a GPU, whatever the host
    ("cuda", "0", 1),      # cuda always does
    ("auto", "1", 1),      # auto follows the host: forced present ...
    ("auto", "0", 0),      # ... forced absent
])
def test_gpu_is_requested_only_for_a_gpu_device(monkeypatch, device, env, expected):
    from validsplice.config.workflow_config import ASSUME_GPU_ENV, gpu_request

    monkeypatch.setenv(ASSUME_GPU_ENV, env)
    assert gpu_request(device) == expected


def test_gpu_detection_without_the_override_reads_the_host(monkeypatch, tmp_path):
    from validsplice.config import workflow_config

    monkeypatch.delenv(workflow_config.ASSUME_GPU_ENV, raising=False)
    monkeypatch.setenv("PATH", str(tmp_path))  # no nvidia-smi
    driver = Path("/proc/driver/nvidia/version").exists()
    assert workflow_config.gpu_request("auto") == int(driver)
    (tmp_path / "nvidia-smi").write_text("#!/bin/sh\n")
    (tmp_path / "nvidia-smi").chmod(0o755)
    assert workflow_config.gpu_request("auto") == 1


def _without_messages(work: Path) -> None:
    """Drop the rules' ``message:`` in a workflow copy: a dry run prints a rule's message instead of its job
    details, and the details are where Snakemake prints the resources it will ask for."""
    for path in (work / "workflow" / "rules").glob("*.smk"):
        kept, skip_deeper_than = [], None
        for line in path.read_text().splitlines(keepends=True):
            indent = len(line) - len(line.lstrip())
            if skip_deeper_than is not None and (not line.strip() or indent > skip_deeper_than):
                continue
            skip_deeper_than = indent if line.strip() == "message:" else None
            if skip_deeper_than is None:
                kept.append(line)
        path.write_text("".join(kept))


def _gpu_per_job(output: str) -> list[tuple[str, int]]:
    """(rule, gpu) of each job of a dry run's job details (``rule NAME:`` ... ``resources: a=1, gpu=1``)."""
    jobs, rule = [], None
    for line in output.splitlines():
        if re.match(r"^(local)?rule \w+:$", line):
            rule = line.split()[-1][:-1]
            jobs.append([rule, 0])
        elif rule and line.strip().startswith("resources:"):
            found = re.search(r"\bgpu=(\d+)", line)
            jobs[-1][1] = int(found.group(1)) if found else 0
    return [tuple(job) for job in jobs]


def test_the_gpu_resource_follows_the_device_in_a_dry_run(tmp_path, copy_workflow, run_snakemake, monkeypatch):
    """The demo with Pangolin added, dry-run under ``--resources gpu=1``: on a host without a GPU (the CPU
    configuration, device auto) no job asks for the ``gpu`` resource, so the scoring shards and the network
    trainings run side by side; with a GPU (VALIDSPLICE_ASSUME_GPU=1) each of them asks for gpu=1, so they
    take the one card in turn, and the jobs that never use a GPU (the trees, evaluation ...) still ask for none."""
    from validsplice.config import registry
    from validsplice.config.workflow_config import ASSUME_GPU_ENV

    work = copy_workflow(tmp_path)
    _without_messages(work)
    config = yaml.safe_load((work / "config" / "config.yaml").read_text())
    config["base_models"] = {"pangolin": {"pangolin_dir": str(ROOT / "tests" / "data" / "pangolin" / "weights")}}
    (work / "config" / "config.yaml").write_text(yaml.safe_dump(config))
    networks = {f"train_{name}" for name, entry in registry.MODELS.items() if entry.gpu}
    on_gpu = {"score_shard", "score_shard_pangolin", "predict_vcf", "predict_external", *networks}
    for env, wanted in (("0", 0), ("1", 1)):
        monkeypatch.setenv(ASSUME_GPU_ENV, env)
        proc = run_snakemake(work, "-n", "--resources", "gpu=1")
        jobs = _gpu_per_job(proc.stdout + proc.stderr)
        rules = [rule for rule, _ in jobs]
        assert rules.count("score_shard") == config["base_model"]["shards"] and "score_shard_pangolin" in rules
        assert len(networks & set(rules)) >= 4, sorted(set(rules))
        assert {rule for rule, gpu in jobs if gpu} == (on_gpu & set(rules) if wanted else set()), (env, jobs)
        assert all(gpu == wanted for rule, gpu in jobs if rule in on_gpu), (env, jobs)
