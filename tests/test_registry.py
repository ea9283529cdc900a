"""The model registry is the single source of truth for models, their settings and resources.

Checks that everything else agrees with validsplice.config.registry.MODELS (training rules,
SLURM profile, conda envs, valid config keys), that settings reject unknown keys and take each
default from one place, and that adding a model takes only its module and a registry entry.
"""
from __future__ import annotations

import dataclasses
import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

import validsplice.config.registry as registry
from validsplice.common.errors import UserError
from validsplice.config.settings import general_settings, settings_class
from validsplice.config.workflow_config import check_config_keys

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = [sys.executable, "-m", "snakemake"]
SCHEMA = yaml.safe_load((ROOT / "workflow" / "schemas" / "config.schema.yaml").read_text())


def test_every_entry_is_complete():
    for name, entry in registry.MODELS.items():
        assert (ROOT / "workflow" / "envs" / entry.env).is_file(), f"{name}: env {entry.env} missing"
        assert dataclasses.is_dataclass(entry.params)
        settings_class(entry.params)  # raises when a model redeclares a general training key
        for field in dataclasses.fields(entry.params):
            assert field.metadata["schema"]["description"], f"{name}.{field.name}: no description"
        if entry.trained:
            assert (entry.builder is None) != (entry.trainer is None), f"{name}: a builder or a trainer, not both"
            module, function = (entry.builder or entry.trainer).split(":")
            assert callable(getattr(importlib.import_module(module), function)), name
    assert registry.UNTRAINED_MODELS == ("spliceai_raw",)


def test_a_feature_model_is_trained_but_not_a_network():
    """spliceai_features_gbm: trained by its own rule, no builder, so build_model refuses it (and
    predictable_experiments() in common.smk leaves it out of validsplice predict)."""
    entry = registry.MODELS["spliceai_features_gbm"]
    assert "spliceai_features_gbm" in registry.TRAINED_MODELS and entry.builder is None and not entry.gpu
    assert entry.module == "validsplice.training.gbm"
    with pytest.raises(UserError, match="not a network"):
        registry.build_model("spliceai_features_gbm", {}, window_length=41, profile_length=11)


def test_defaults_come_from_one_place_each():
    """General keys: the schema's training.defaults; a model's own keys: its params dataclass."""
    settings = registry.model_settings("hyenadna_finetune", {})
    for key, spec in general_settings(SCHEMA).items():
        assert getattr(settings, key) == spec.get("default"), key
    assert settings.trainable_blocks == 2 and registry.model_settings("hyenadna_frozen", {}).trainable_blocks == 0
    assert registry.model_settings("binary_cnn", {"epochs": 3}).epochs == 3
    assert registry.model_settings("binary_cnn", {}).threshold_rule == "f1"


def test_settings_reject_unknown_keys_naming_the_closest():
    with pytest.raises(UserError, match=r"'use_base_modle'; did you mean 'use_base_model'\?"):
        registry.model_settings("gated_cnn_paired", {"use_base_modle": True}, where="experiment 'x'")
    with pytest.raises(UserError, match=r"experiment 'x' \(model gated_cnn\).*'threshold_rule'"):
        registry.model_settings("gated_cnn", {"threshold_rule": "f1"}, where="experiment 'x'")
    with pytest.raises(UserError, match="Did you mean 'binary_cnn'"):
        registry.build_model("binary_cn", {}, window_length=41, profile_length=11)


def test_the_slurm_profile_agrees_with_the_registry():
    """A GPU model left out of the profile would train on the CPU partition; a stale entry names
    a rule that no longer exists."""
    profile = yaml.safe_load((ROOT / "profiles" / "slurm" / "config.yaml").read_text())
    resources = profile["set-resources"]
    for name in registry.TRAINED_MODELS:
        rule = resources.get(f"train_{name}", {})
        on_gpu = rule.get("slurm_partition") == "gpu" and "gpu" in rule.get("slurm_extra", "")
        assert on_gpu == registry.MODELS[name].gpu, f"profiles/slurm: train_{name}"
    named = {k for section in ("set-resources", "set-threads") for k in profile.get(section, {})}
    assert {k for k in named if k.startswith("train_")} <= {f"train_{n}" for n in registry.TRAINED_MODELS}


# ------------------------------------------------------------------ adding a model
TOY_MODULE = '''
"""A toy model: one linear layer on the one-hot alt window (the recipe of docs/DESIGN.md)."""
import torch
from torch import nn
import torch.nn.functional as F

from .layers import one_hot_codes


class ToyModel(nn.Module):
    target_form = "seed"
    score_scale = "delta"

    def __init__(self, settings, window_length):
        super().__init__()
        self.scale = settings.toy_scale
        self.linear = nn.Linear(4 * window_length, 3)

    def forward(self, batch):
        seed = self.scale * torch.tanh(self.linear(one_hot_codes(batch["alt"]).flatten(1)))
        return {"seed": seed, "score": seed.abs().amax(dim=1)}

    def loss(self, outputs, batch):
        return F.mse_loss(outputs["seed"], batch["target_seed"].float())


def build_toy(settings, *, window_length, profile_length):
    return ToyModel(settings, window_length)
'''

TOY_ENTRY = '''

@dataclasses.dataclass(frozen=True)
class ToyParams:
    toy_scale: float = setting(0.5, "output scale of the toy model", type="number", minimum=0)


MODELS["toy"] = ModelEntry("validsplice.models.toy:build_toy", ToyParams, gpu=False)
'''


def add_toy_model(scripts: Path) -> None:
    """The two edits a new model needs: its module, and its entry in the registry."""
    (scripts / "validsplice" / "models" / "toy.py").write_text(TOY_MODULE)
    registry_file = scripts / "validsplice" / "config" / "registry.py"
    registry_file.write_text(registry_file.read_text() + textwrap.dedent(TOY_ENTRY))


def test_a_toy_model_in_process(monkeypatch, tmp_path):
    """Registered, it is a valid config model with its own key checked, and it builds and runs."""
    scripts = tmp_path / "scripts"
    (scripts / "validsplice" / "models").mkdir(parents=True)
    (scripts / "validsplice" / "models" / "toy.py").write_text(TOY_MODULE)
    namespace = {"dataclasses": dataclasses, "setting": registry.setting, "ModelEntry": registry.ModelEntry,
                 "MODELS": dict(registry.MODELS)}
    exec(TOY_ENTRY, namespace)
    monkeypatch.setattr(registry, "MODELS", namespace["MODELS"])
    toy = importlib.util.spec_from_file_location("validsplice.models.toy", scripts / "validsplice/models/toy.py")
    module = importlib.util.module_from_spec(toy)
    monkeypatch.setitem(__import__("sys").modules, "validsplice.models.toy", module)
    toy.loader.exec_module(module)

    assert "toy" in registry.KNOWN_MODELS and "toy" in registry.TRAINED_MODELS
    assert registry.MODEL_SETTINGS["toy"]["toy_scale"]["type"] == "number"
    config = {"experiments": {"toy_run": {"model": "toy", "toy_scale": 0.2, "epochs": 2}}}
    check_config_keys(config, SCHEMA)
    config["experiments"]["toy_run"]["toy_sacle"] = 0.2
    with pytest.raises(UserError, match="did you mean 'toy_scale'"):
        check_config_keys(config, SCHEMA)
    model = registry.build_model("toy", {"toy_scale": 0.2}, window_length=11, profile_length=5)
    import torch
    with torch.no_grad():
        out = model({"alt": torch.zeros(2, 11, dtype=torch.long)})
    assert out["seed"].shape == (2, 3) and float(out["seed"].abs().max()) <= 0.2


@pytest.mark.slow
def test_adding_a_toy_model_touches_only_its_module_and_the_registry(tmp_path, copy_workflow, planned_jobs):
    """In a copy of the workflow, the module plus a registry entry give a training rule
    (train_toy, on the CPU: no gpu resource) that an experiment in the config uses."""
    work = copy_workflow(tmp_path)
    add_toy_model(work / "workflow" / "scripts")
    # a rule's message: replaces its block (and resources) in the dry-run display; drop it in this copy
    train_rules = work / "workflow" / "rules" / "train.smk"
    train_rules.write_text(re.sub(r"\n        message:\n            [^\n]*\n", "\n", train_rules.read_text(), count=1))
    config = work / "config" / "config.yaml"
    config.write_text(config.read_text().replace("experiments:\n", "experiments:\n  toy_run:\n    model: toy\n"
                                                 "    toy_scale: 0.2\n", 1))
    proc = subprocess.run([*SNAKEMAKE, "-n", "--cores", "1", "results/models/toy_run/predictions.parquet"],
                          cwd=work, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, (proc.stdout + proc.stderr)[-4000:]
    assert planned_jobs(proc).get("train_toy") == 1
    assert "gpu=0" in proc.stdout.split("rule train_toy:")[1].split("\n\n")[0]
