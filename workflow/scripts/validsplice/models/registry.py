"""One place mapping a model name in the config to the code that builds it.

Entries are ``module:function`` strings imported lazily, so a model's heavy imports are
paid only by the rules that train it. A builder has the signature
``build(params: dict, *, window_length: int, profile_length: int) -> torch.nn.Module``
and returns a module following the interface in docs/DESIGN.md ("The model interface").
"""
from __future__ import annotations

import importlib

from ..rule_io import UserError

MODEL_BUILDERS: dict[str, str] = {
    "gated_cnn": "validsplice.models.gated_cnn:build_gated_cnn",
    "gated_cnn_paired": "validsplice.models.gated_cnn:build_gated_cnn_paired",
    "binary_cnn": "validsplice.models.binary_cnn:build_binary_cnn",
    "paired_cnn_classifier": "validsplice.models.paired_classifier:build_paired_cnn_classifier",
    "hyenadna_frozen": "validsplice.models.hyenadna_heads:build_hyenadna_frozen",
    "hyenadna_finetune": "validsplice.models.hyenadna_heads:build_hyenadna_finetune",
}

# Models that are not trained: their predictions come from the base model's scores.
UNTRAINED_MODELS = ("spliceai_raw",)

# Models that are not networks: each has its own training function (``module:function``) and rule,
# reading the cached base-model scores (no windows, no training loop).
FEATURE_MODEL_TRAINERS: dict[str, str] = {
    "spliceai_features_gbm": "validsplice.models.spliceai_features_gbm:train_gbm_experiment",
}

KNOWN_MODELS = tuple(MODEL_BUILDERS) + tuple(FEATURE_MODEL_TRAINERS) + UNTRAINED_MODELS

# The settings a model reads beyond the general ones (the keys of training.defaults in
# workflow/schemas/config.schema.yaml), each with its JSON schema. Together they are the only valid keys of an
# experiment (besides ``model``) and of training.model_defaults.<model>; anything else is
# rejected at parse time (validsplice.workflow_config). Add a key here when a model reads a new one.
_HYENADNA_SETTINGS = {
    "checkpoint": {"type": "string", "description": "local HuggingFace checkpoint folder"},
    "model_id": {"type": "string",
                 "description": "HuggingFace model id to download (needs internet) when checkpoint is empty"},
    "allow_random_init": {"type": "boolean", "description": "no checkpoint: random encoder (plumbing test only)"},
    "random_init_config": {"type": "object", "description": "encoder sizes for random init (d_model, n_layer, ...)"},
    "trainable_blocks": {"type": "integer", "minimum": 0, "description": "encoder blocks fine-tuned (0 = frozen)"},
    "encoder_lr_multiplier": {"type": "number", "minimum": 0, "description": "encoder learning rate / head learning rate"},
    "both_strands": {"type": "boolean", "description": "average the forward and reverse-complement passes"},
    "head_hidden": {"type": "integer", "minimum": 1, "description": "width of the prediction head (default hidden_dim)"},
}
_THRESHOLD_RULE = {"enum": ["f1", "youden"], "description": "how the decision threshold is chosen on validation"}
_CLASS_WEIGHT = {"enum": ["balanced", "none"],
                 "description": "balanced = weight classes by their counts in the training rows; none = weight 1"}
MODEL_SETTINGS: dict[str, dict[str, dict]] = {
    "gated_cnn": {},
    "gated_cnn_paired": {
        "use_base_model": {"type": "boolean",
                           "description": "also read the base model's delta profile and learn when to trust it"},
        "max_delta_weight": {"type": "number", "minimum": 0, "description": "weight of the max-|delta| loss term"},
    },
    "binary_cnn": {
        "threshold_rule": _THRESHOLD_RULE,
    },
    "paired_cnn_classifier": {
        "aux_delta_weight": {"type": "number", "minimum": 0,
                             "description": "weight of the auxiliary delta-profile MSE (0 = off)"},
        "class_weight": _CLASS_WEIGHT,
        "threshold_rule": _THRESHOLD_RULE,
    },
    "spliceai_features_gbm": {
        "max_iter": {"type": "integer", "minimum": 1, "description": "most trees (the number kept is chosen on validation)"},
        "max_leaf_nodes": {"type": "integer", "minimum": 2, "description": "leaves per tree"},
        "min_samples_leaf": {"type": "integer", "minimum": 1, "description": "rows per leaf"},
        "l2_regularization": {"type": "number", "minimum": 0, "description": "L2 penalty on leaf values"},
        "max_bins": {"type": "integer", "minimum": 2, "maximum": 255, "description": "histogram bins per feature"},
        "class_weight": _CLASS_WEIGHT,
        "threshold_rule": _THRESHOLD_RULE,
    },
    "hyenadna_frozen": _HYENADNA_SETTINGS,
    "hyenadna_finetune": _HYENADNA_SETTINGS,
    "spliceai_raw": {},
}


def check_model_name(name: str, where: str = "config") -> None:
    if name not in KNOWN_MODELS:
        raise UserError(
            f"Model {name!r} named in {where} has no implementation. "
            f"Known models: {', '.join(KNOWN_MODELS)}."
        )


def build_model(name: str, params: dict, *, window_length: int, profile_length: int):
    check_model_name(name)
    if name in UNTRAINED_MODELS:
        raise UserError(f"Model {name!r} is not trained; it has no network to build.")
    if name in FEATURE_MODEL_TRAINERS:
        raise UserError(f"Model {name!r} is not a network; it is trained by its own rule (train_{name}).")
    module_name, func_name = MODEL_BUILDERS[name].split(":")
    builder = getattr(importlib.import_module(module_name), func_name)
    return builder(params, window_length=window_length, profile_length=profile_length)


# ------------------------------------------------------------------ what a model's score means
# ``score_scale`` says how ``score`` may be read (docs/DESIGN.md "The model interface"):
# "delta": a change in splice-site probability (max |delta|), so fixed delta cut-offs such as
# SpliceAI's 0.1/0.2/0.5 apply; "probability": a classifier's P(Splice-altering), which is
# only called at the threshold chosen on validation. Recorded in training.json and metrics.json.
SCORE_SCALES = ("delta", "probability")


def score_scale(model) -> str:
    """The model's ``score_scale`` attribute; a model without one is read from its target form."""
    scale = getattr(model, "score_scale", None)
    if scale is None:
        scale = "probability" if getattr(model, "target_form", None) == "binary" else "delta"
    if scale not in SCORE_SCALES:
        raise UserError(f"{type(model).__name__}: score_scale {scale!r} unknown; use one of {SCORE_SCALES}.")
    return scale


def reads_base_model_delta(model) -> bool:
    """True when the base model's own delta (what the targets are made from) is a model input."""
    return bool(getattr(model, "reads_base_model_delta", False))
