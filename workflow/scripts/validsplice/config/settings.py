"""Experiment settings as typed, frozen dataclasses; every default lives in exactly one place.

- General training keys (epochs, learning_rate, hidden_dim, ...): the ``training.defaults``
  section of workflow/schemas/config.schema.yaml, read here; their defaults are the schema's.
- A model's own keys: the fields of its parameters dataclass in ``models.registry``, each
  declared with ``setting(default, description, **json_schema)``; their defaults are the fields'.

``settings_for(params_class, values, where)`` merges the two into one frozen object per
experiment (``settings.epochs``, ``settings.use_base_model``). An unknown key is a ``UserError``
naming the closest valid key. Torch-free: the Snakefile imports it at parse time.
"""
from __future__ import annotations

import dataclasses
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from ..common.errors import UserError, unknown_key_error

# workflow/scripts/validsplice/config/settings.py -> workflow/schemas/config.schema.yaml
SCHEMA_PATH = Path(__file__).resolve().parents[3] / "schemas" / "config.schema.yaml"


@lru_cache(maxsize=1)
def config_schema() -> dict:
    if not SCHEMA_PATH.is_file():
        raise UserError(f"{SCHEMA_PATH} is missing: run validsplice from its checkout (pip install -e .).")
    return yaml.safe_load(SCHEMA_PATH.read_text())


def general_settings(schema: dict | None = None) -> dict:
    """The keys of training.defaults with their JSON schemas (the one list of general keys)."""
    schema = config_schema() if schema is None else schema
    return schema["properties"]["training"]["properties"]["defaults"]["properties"]


def setting(default, description: str, **json_schema):
    """A field of a model's parameters dataclass: its default, and the JSON schema its value
    is checked against at parse time (``type``, ``minimum``, ``enum``, ...)."""
    return dataclasses.field(default=default, metadata={"schema": {**json_schema, "description": description}})


@dataclasses.dataclass(frozen=True)
class NoParams:
    """A model without settings of its own."""


def params_schema(params_class: type) -> dict[str, dict]:
    """Key -> JSON schema of a parameters dataclass (what ``models.registry.MODEL_SETTINGS`` lists)."""
    return {f.name: f.metadata["schema"] for f in dataclasses.fields(params_class)}


@lru_cache(maxsize=None)
def settings_class(params_class: type) -> type:
    """One frozen dataclass: the general keys (schema defaults) followed by the model's own."""
    general = [(name, Any, dataclasses.field(default=spec.get("default")))
               for name, spec in general_settings().items()]
    own = [(f.name, f.type, dataclasses.field(default=f.default, metadata=f.metadata))
           for f in dataclasses.fields(params_class)]
    clash = {name for name, *_ in general} & {name for name, *_ in own}
    if clash:
        raise TypeError(f"{params_class.__name__} redeclares general training keys {sorted(clash)}")
    name = params_class.__name__.removesuffix("Params") + "Settings"
    return dataclasses.make_dataclass(name, general + own, frozen=True)


def settings_for(params_class: type, values: dict | None, where: str):
    """The settings object of one experiment; unknown keys are a UserError naming the closest one."""
    cls = settings_class(params_class)
    valid = [f.name for f in dataclasses.fields(cls)]
    for key in values or {}:
        if key not in valid:
            raise unknown_key_error(key, where, valid)
    return cls(**(values or {}))


def as_dict(settings) -> dict:
    """Plain dict of a settings object (training.json, model.pt)."""
    return dataclasses.asdict(settings)
