"""The model registry: the one place that says which models exist and what each one needs.

Each entry (``ModelEntry``) holds
- ``builder``: ``"module:function"``, imported lazily so a model's heavy imports are paid only by
  the rules that train it; ``build(settings, *, window_length, profile_length) -> nn.Module``
  following docs/DESIGN.md ("The model interface"); ``None`` for an untrained model and for a
  feature model;
- ``trainer``: a feature model's (not a network: no builder, no shared training loop; its model
  folder holds model.joblib) training function ``"module:function"``, run by its own rule
  (train_<model> in workflow/rules/train.smk, one per feature model); ``None`` for the networks;
- ``params``: the dataclass of the model's own settings with their defaults (``setting(...)``);
  the general training keys and their defaults are the schema's ``training.defaults``
  (``validsplice.config.settings``); ``settings.epochs``, ``settings.use_base_model``, ...;
- ``env``: its conda env file in workflow/envs/;
- ``gpu``: trains on a GPU (the rule's ``resources: gpu=1``; the SLURM profile's GPU partition);
- ``base_offset``: a classifier that starts from the calibrated base-model logit (issue 19): its training
  rule reads the baseline's calibrator (``results/models/spliceai_raw/calibrator.json``) and the model
  starts from it (``models.offset``; the trees' initial score in ``training.gbm``);
- ``reads_scores``: a feature model whose features include the base models' DS / DP (``training.gbm.FEATURE_SETS``
  says which; a test checks the two agree): its rule reads every configured base model's scores.parquet;
- ``reads_profiles``: a network that reads every configured base model's delta profile (issue 20 §3): its rule
  reads the additional models' aligned profiles (rule align_base_model_profiles) and its builder takes
  ``profile_channels`` (2 per base model, the primary's first); the others read the primary's only.
- ``reads_embeddings``: a feature model that always reads the primary base model's embeddings
  (results/scores/embeddings.parquet, ``scoring.embeddings``; ``embedding_head``); ``spliceai_features_gbm``
  reads them only with ``features: base+embeddings``. ``experiment_reads_embeddings`` says which experiment
  does; the rule base_model_embeddings exists only when one does.
- ``reads_exon_sites``: a feature model that reads every configured base model's exon-site scores
  (results/scores/exon_sites/<base model>.parquet, ``scoring.exon_sites``; ``exon_site_head``); the rule
  base_model_exon_sites exists only when an experiment of one does.

Everything else derives from it: the training rules (workflow/rules/train.smk), the valid keys
of an experiment (``MODEL_SETTINGS``, checked at parse time), the model names the config accepts;
tests check the SLURM profile agrees. Adding a model: docs/DESIGN.md ("Adding a model").
Torch-free: the Snakefile imports this module at parse time.
"""
from __future__ import annotations

import dataclasses
import importlib

from ..common.errors import UserError, closest
from .naming import BASELINE
from .settings import NoParams, params_schema, setting, settings_for


@dataclasses.dataclass(frozen=True)
class ModelEntry:
    builder: str | None
    params: type = NoParams
    env: str = "train.yaml"
    gpu: bool = True
    trainer: str | None = None
    base_offset: bool = False
    reads_scores: bool = False
    # a network that reads every configured base model's delta profile (config base_models: extra input
    # channels after the primary's; the workflow aligns them, align_base_model_profiles)
    reads_profiles: bool = False
    reads_embeddings: bool = False
    reads_exon_sites: bool = False

    @property
    def trained(self) -> bool:
        return self.builder is not None or self.trainer is not None

    @property
    def module(self) -> str:
        """The module that defines the model (its code is part of the training rule's code digest)."""
        return (self.builder or self.trainer).partition(":")[0]


# ------------------------------------------------------------------ the models' own settings
@dataclasses.dataclass(frozen=True)
class PairedCnnParams:
    use_base_model: bool = setting(False, "also read the base model's delta profile and learn when to trust it",
                                   type="boolean")
    max_delta_weight: float = setting(1.0, "weight of the max-|delta| loss term", type="number", minimum=0)


@dataclasses.dataclass(frozen=True)
class BinaryCnnParams:
    threshold_rule: str = setting("f1", "how the decision threshold is chosen on validation", enum=["f1", "youden"])


@dataclasses.dataclass(frozen=True)
class HyenaDNAParams:
    checkpoint: str = setting("", "local HuggingFace checkpoint folder", type="string")
    model_id: str = setting("", "HuggingFace model id to download (needs internet) when checkpoint is empty",
                            type="string")
    allow_random_init: bool = setting(False, "no checkpoint: random encoder (plumbing test only)", type="boolean")
    random_init_config: dict | None = setting(None, "encoder sizes for random init (d_model, n_layer, ...)",
                                              type=["object", "null"])
    trainable_blocks: int = setting(0, "encoder blocks fine-tuned (0 = frozen)", type="integer", minimum=0)
    encoder_lr_multiplier: float = setting(0.1, "encoder learning rate / head learning rate", type="number", minimum=0)
    both_strands: bool = setting(True, "average the forward and reverse-complement passes", type="boolean")
    head_hidden: int | None = setting(None, "width of the prediction head (null: hidden_dim)",
                                      type=["integer", "null"], minimum=1)


@dataclasses.dataclass(frozen=True)
class HyenaDNAFinetuneParams(HyenaDNAParams):
    trainable_blocks: int = setting(2, "encoder blocks fine-tuned (at least 1)", type="integer", minimum=1)


_CLASS_WEIGHT = dict(enum=["balanced", "none"])
_CLASS_WEIGHT_HELP = "balanced = weight classes by their counts in the training rows; none = weight 1"
_THRESHOLD_HELP = "how the decision threshold is chosen on validation"
# A model that starts from the calibrated base model (issue 19) gets its class prior from the offset (the
# calibrator's intercept is moved to the assumed prevalence); class weights would only make its correction
# learn a constant shift away from it, so the default there is none.
_OFFSET_CLASS_WEIGHT_HELP = _CLASS_WEIGHT_HELP + " (none by default: the base-model offset carries the prior)"
_BASE_OFFSET_HELP = ("start from the calibrated base-model logit (spliceai_raw's calibrator) and learn a correction "
                     "initialised to zero; false: start from 0")


@dataclasses.dataclass(frozen=True)
class PairedClassifierParams:
    aux_delta_weight: float = setting(0.0, "weight of the auxiliary delta-profile MSE (0 = off)", type="number",
                                      minimum=0)
    class_weight: str = setting("none", _OFFSET_CLASS_WEIGHT_HELP, **_CLASS_WEIGHT)
    threshold_rule: str = setting("f1", _THRESHOLD_HELP, enum=["f1", "youden"])
    base_offset: bool = setting(True, _BASE_OFFSET_HELP, type="boolean")
    profile_scale: float = setting(0.01, "the base delta profile is read as asinh(delta / profile_scale)",
                                   type="number", exclusiveMinimum=0)


@dataclasses.dataclass(frozen=True)
class FeaturesGbmParams:
    """The trees' own keys. Of the general keys they read learning_rate (whose schema default, 1e-4, is a
    network's: set e.g. 0.05 in training.model_defaults.spliceai_features_gbm (and position_only_gbm), as both
    shipped configs do),
    early_stopping, patience, min_delta, max_train_samples and seed."""

    max_iter: int = setting(500, "most trees (the number kept is chosen on validation)", type="integer", minimum=1)
    max_leaf_nodes: int = setting(15, "leaves per tree", type="integer", minimum=2)
    min_samples_leaf: int = setting(20, "rows per leaf", type="integer", minimum=1)
    l2_regularization: float = setting(1.0, "L2 penalty on leaf values", type="number", minimum=0)
    max_bins: int = setting(255, "histogram bins per feature", type="integer", minimum=2, maximum=255)
    class_weight: str = setting("none", _OFFSET_CLASS_WEIGHT_HELP, **_CLASS_WEIGHT)
    threshold_rule: str = setting("f1", _THRESHOLD_HELP, enum=["f1", "youden"])
    base_offset: bool = setting(True, _BASE_OFFSET_HELP + " (the trees' initial score; false: scikit-learn's "
                                "HistGradientBoosting from the class prior, which reads l2_regularization and max_bins)",
                                type="boolean")
    offset_grid: int = setting(4, "with base_offset: grid points tried, (learning_rate, min_samples_leaf) x (1, 1), "
                               "(1, 3), (1/3, 1), (1/3, 3); the lowest validation log loss is kept",
                               type="integer", minimum=1, maximum=4)
    features: str = setting("base", "base = the base models' DS / DP and the position features; base+embeddings = "
                            "also the primary base model's embeddings (results/scores/embeddings.parquet, reduced "
                            "by embedding_components)", enum=["base", "base+embeddings"])
    embedding_components: int = setting(8, "with features base+embeddings: the embeddings enter as this many "
                                        "principal components, fitted on the standardised training rows only "
                                        "(0 = all 96 columns)", type="integer", minimum=0)
    selection_folds: int = setting(0, "with base_offset: 0 chooses the grid point and number of trees on the "
                                   "validation rows alone; k >= 2 on the validation rows plus the out-of-fold "
                                   "rows of a group k-fold over the training rows (by gene; for a small or "
                                   "grouped validation split, where a few variants would decide)",
                                   type="integer", minimum=0)


# the L2 penalties the offset heads try (training.offset_heads), from heavy to light
HEAD_PENALTIES = (1000.0, 300.0, 100.0, 30.0, 10.0, 3.0, 1.0)


@dataclasses.dataclass(frozen=True)
class EmbeddingHeadParams:
    """The head's own keys. Of the general keys it reads seed and max_train_samples."""

    embedding_components: int = setting(0, "principal components of the standardised embeddings, fitted on the "
                                        "training rows only (0 = all 96 standardised columns)", type="integer",
                                        minimum=0)
    penalties: tuple = setting(HEAD_PENALTIES, "L2 penalties tried (on the summed "
                              "log loss); the one with the lowest selection loss is kept, or none (the offset "
                              "alone) when none beats it", type="array", items={"type": "number",
                                                                                  "exclusiveMinimum": 0}, minItems=1)
    selection_folds: int = setting(4, "0: the penalty is chosen on the validation rows alone; k >= 2: on the "
                                   "validation rows plus the out-of-fold rows of a group k-fold over the training "
                                   "rows (by gene)", type="integer", minimum=0)
    class_weight: str = setting("none", _OFFSET_CLASS_WEIGHT_HELP, **_CLASS_WEIGHT)
    threshold_rule: str = setting("f1", _THRESHOLD_HELP, enum=["f1", "youden"])


@dataclasses.dataclass(frozen=True)
class ExonSiteHeadParams:
    """The exon-site head's own keys. Of the general keys it reads seed and max_train_samples."""

    penalties: tuple = setting(HEAD_PENALTIES, "L2 penalties tried (on the summed "
                              "log loss), for each candidate input set (each base model's exon-site score alone, "
                              "and all of them together); the input set and penalty with the lowest selection loss "
                              "are kept, or none (the offset alone) when none beats it", type="array",
                              items={"type": "number", "exclusiveMinimum": 0}, minItems=1)
    selection_folds: int = setting(4, "0: inputs and penalty are chosen on the validation rows alone; k >= 2: on "
                                   "the validation rows plus the out-of-fold rows of a group k-fold over the "
                                   "training rows (by gene)", type="integer", minimum=0)
    class_weight: str = setting("none", _OFFSET_CLASS_WEIGHT_HELP, **_CLASS_WEIGHT)
    threshold_rule: str = setting("f1", _THRESHOLD_HELP, enum=["f1", "youden"])


# ------------------------------------------------------------------ the registry
MODELS: dict[str, ModelEntry] = {
    "gated_cnn": ModelEntry("validsplice.models.gated_cnn:build_gated_cnn"),
    "gated_cnn_paired": ModelEntry("validsplice.models.gated_cnn:build_gated_cnn_paired", PairedCnnParams),
    "binary_cnn": ModelEntry("validsplice.models.binary_cnn:build_binary_cnn", BinaryCnnParams),
    "hyenadna_frozen": ModelEntry("validsplice.models.hyenadna_heads:build_hyenadna_frozen", HyenaDNAParams,
                                  env="hyenadna.yaml"),
    "hyenadna_finetune": ModelEntry("validsplice.models.hyenadna_heads:build_hyenadna_finetune",
                                    HyenaDNAFinetuneParams, env="hyenadna.yaml"),
    # trained on the label (BCE), not on the delta profile
    "paired_cnn_classifier": ModelEntry("validsplice.models.paired_classifier:build_paired_cnn_classifier",
                                        PairedClassifierParams, base_offset=True, reads_profiles=True),
    # feature models: trees trained by their own rule on the CPU (validsplice.training.gbm.FEATURE_SETS):
    # on the cached base-model scores and position features, started from calibrated SpliceAI ...
    "spliceai_features_gbm": ModelEntry(None, FeaturesGbmParams, gpu=False, base_offset=True, reads_scores=True,
                                        trainer="validsplice.training.gbm:train_gbm_experiment"),
    # ... and the control on the position features alone (no base-model score): how much of a gain is study design
    "position_only_gbm": ModelEntry(None, FeaturesGbmParams, gpu=False,
                                    trainer="validsplice.training.gbm:train_gbm_experiment"),
    # an L2 logistic correction of calibrated SpliceAI on SpliceAI's own embeddings (issue 19; the fit:
    # validsplice.training.offset_heads, called by the feature models' trainer)
    "embedding_head": ModelEntry(None, EmbeddingHeadParams, gpu=False, base_offset=True, reads_embeddings=True,
                                 trainer="validsplice.training.gbm:train_gbm_experiment"),
    # an L2 logistic correction of calibrated SpliceAI on how much the variant moves its nearest exon's splice
    # sites, as each base model sees it (issue 19; validsplice.scoring.exon_sites, validsplice.training.offset_heads)
    "exon_site_head": ModelEntry(None, ExonSiteHeadParams, gpu=False, base_offset=True, reads_exon_sites=True,
                                 trainer="validsplice.training.gbm:train_gbm_experiment"),
    # the baseline: its predictions are the base model's scores (validsplice.training.predictions), nothing is trained
    BASELINE: ModelEntry(None, gpu=False),
}


def __getattr__(name: str):
    """Views derived from MODELS, computed on access so a model added to MODELS (a test's toy
    model, say) appears in every one of them."""
    views = {
        "KNOWN_MODELS": lambda: tuple(MODELS),
        "TRAINED_MODELS": lambda: tuple(n for n, e in MODELS.items() if e.trained),
        "UNTRAINED_MODELS": lambda: tuple(n for n, e in MODELS.items() if not e.trained),
        # trained by their own rule (a trainer, no network): the feature models
        "FEATURE_MODELS": lambda: tuple(n for n, e in MODELS.items() if e.trainer is not None),
        # ... of which those reading the base models' scores (every configured base model's DS / DP)
        "SCORE_READING_FEATURE_MODELS": lambda: tuple(n for n, e in MODELS.items()
                                                      if e.trainer is not None and e.reads_scores),
        # ... and the networks reading every configured base model's delta profile (extra input channels)
        "PROFILE_READING_MODELS": lambda: tuple(n for n, e in MODELS.items() if e.reads_profiles),
        # a model's own keys with their JSON schemas: with training.defaults, the valid keys of
        # an experiment and of training.model_defaults.<model> (validsplice.config.workflow_config)
        "MODEL_SETTINGS": lambda: {n: params_schema(e.params) for n, e in MODELS.items()},
    }
    if name in views:
        return views[name]()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def check_model_name(name: str, where: str = "config") -> ModelEntry:
    if name not in MODELS:
        best = closest(name, MODELS)
        hint = f" Did you mean {best!r}?" if best else ""
        raise UserError(f"Model {name!r} named in {where} has no implementation.{hint} "
                        f"Known models: {', '.join(MODELS)}.")
    return MODELS[name]


def experiment_reads_embeddings(model: str, settings: dict | None) -> bool:
    """True when an experiment of ``model`` with ``settings`` (its merged keys) reads the base model's embeddings:
    the models that always do (``reads_embeddings``) and the trees with ``features: base+embeddings``."""
    entry = check_model_name(model)
    return entry.reads_embeddings or (entry.trainer is not None and (settings or {}).get("features") == "base+embeddings")


def model_settings(name: str, values: dict | None, where: str = "settings"):
    """The typed settings of an experiment of model ``name`` (general keys + the model's own)."""
    return settings_for(check_model_name(name, where).params, values, f"{where} (model {name})")


def build_model(name: str, settings, *, window_length: int, profile_length: int, profile_channels: int = 2):
    """Build model ``name``; ``settings`` is its settings object or a dict of keys to set. ``profile_channels``:
    the base profiles' channels, 2 per base model whose profile it reads (2: the primary's only; more only for
    a ``reads_profiles`` model)."""
    entry = check_model_name(name)
    if int(profile_channels) != 2 and not entry.reads_profiles:
        raise UserError(f"Model {name!r} reads the primary base model's profile only (2 channels), not "
                        f"{profile_channels}; only {', '.join(n for n, e in MODELS.items() if e.reads_profiles)} "
                        "read(s) the additional base models' profiles.")
    if not entry.trained:
        raise UserError(f"Model {name!r} is not trained; it has no network to build.")
    if entry.trainer is not None:
        raise UserError(f"Model {name!r} is not a network; it is trained by its own rule (train_{name}).")
    if isinstance(settings, dict) or settings is None:
        settings = model_settings(name, settings)
    module_name, func_name = entry.builder.split(":")
    builder = getattr(importlib.import_module(module_name), func_name)
    extra = {"profile_channels": int(profile_channels)} if entry.reads_profiles else {}
    return builder(settings, window_length=window_length, profile_length=profile_length, **extra)


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
