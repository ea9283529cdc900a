"""A trained experiment as a self-contained folder: what ``validsplice predict`` needs to apply it.

``results/models/{experiment}/`` holds ``model.pt`` (weights, model name, params, window and
profile length; written by training), ``calibrator.json`` (score -> P(splice-altering), written
by calibration) and ``model.json``, the manifest written here: which files belong to the model,
how its score is read, and the base-model settings its inputs were made with (name, distance,
mask, annotation name). Paths inside are relative to the folder, so a copied folder still works.

``base_models``: the additional base models (config ``base_models``) the model reads, each with the settings it
was scored with (distance, mask) and its weights' identity (file name -> SHA-256: Pangolin's twelve files,
OpenSpliceAI's .pt checkpoints), so ``predict`` can score a VCF with the same networks and refuse other ones.
A feature model that reads the base model's scores reads them (training.json ``extra_base_models``), and so
does the paired classifier, whose base profile holds every base model's delta profile (``base_model_profiles``:
their names in channel order, the primary first; ``predict`` scores the alleles with each and stacks them);
``[]`` for every other model (and in manifests written before the keys existed).

Three kinds of model:
- ``network``: a model of ``models.registry`` applied to ref/alt windows (and, when it reads it,
  the base model's delta profile);
- ``base_model_score``: the raw base-model score max(DS_AG, DS_AL, DS_DG, DS_DL) (``spliceai_raw``),
  no weights; the calibrator turns it into P(splice-altering);
- ``feature_model``: trees on per-variant features (``registry.FEATURE_MODELS``: ``spliceai_features_gbm``,
  ``position_only_gbm``); ``model.joblib`` holds them (``training.gbm.save_model`` says why joblib), the
  manifest lists the features; they are built by ``training.gbm.variant_features``, the training function.
"""
from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ..common.errors import UserError
from ..config.naming import BASELINE

if TYPE_CHECKING:  # torch is imported where a network is loaded or run, not to write a manifest
    import torch

log = logging.getLogger("validsplice.apply.model_folder")

MANIFEST = "model.json"
WEIGHTS = "model.pt"
TREES = "model.joblib"
CALIBRATOR = "calibrator.json"
FORMAT_VERSION = 1
KINDS = ("network", "base_model_score", "feature_model")
BASE_MODEL_KEYS = ("name", "distance", "mask", "annotation")
EXTRA_BASE_MODEL_KEYS = ("name", "distance", "mask", "weights")
# the weight files each base model loads from its folder (scoring.weights / scoring.pangolin.network):
# what base_models[].weights lists and predict checks; SpliceAI's weights are package data (none)
WEIGHT_GLOBS = {"openspliceai": "*.pt", "pangolin": "final.*.*.3.v2"}


def _annotation_name(annotation: str) -> str:
    """``grch37``/``grch38`` as given; a table path by its file name only (no absolute paths)."""
    return str(annotation) if str(annotation).lower() in ("grch37", "grch38") else Path(str(annotation)).name


def weights_identity(name: str, folder) -> dict[str, str]:
    """{file name: SHA-256} of the weight files base model ``name`` loads from ``folder`` (sorted by name)."""
    from ..config.workflow_config import file_digest

    files = sorted(Path(folder).glob(WEIGHT_GLOBS[name])) if name in WEIGHT_GLOBS and str(folder or "") else []
    return {f.name: file_digest(f) for f in files}


def extra_base_model_entries(reads, base_models: dict | None, training_path) -> list[dict]:
    """The manifest's ``base_models``: for each additional model the training read (``reads``, training.json
    ``extra_base_models``), its settings from ``base_models`` ({name: distance, mask, folder}) and weights."""
    base_models = dict(base_models or {})
    entries = []
    for name in reads:
        if name not in base_models:
            raise UserError(f"{training_path}: the model read base model {name!r}'s scores, but the config has no "
                            f"base_models.{name} now; restore it (as trained) or re-run the training.")
        settings = base_models[name]
        weights = weights_identity(name, settings.get("folder", ""))
        if name in WEIGHT_GLOBS and not weights:
            raise UserError(f"config base_models.{name}: {settings.get('folder')!r} holds no {WEIGHT_GLOBS[name]} "
                            "weight files; the model folder records which weights its features came from.")
        entries.append({"name": name, "distance": int(settings["distance"]), "mask": int(settings["mask"]),
                        "weights": weights})
    return entries


def write_manifest(*, training_path, manifest_path, base_model: dict, annotation: str,
                   base_models: dict | None = None) -> dict:
    """The ``model_manifest`` rule: ``model.json`` from training.json and the base-model settings
    (``base_models``: {name: {distance, mask, folder}} of config base_models, the weights folder hashed)."""
    try:
        training = json.loads(Path(training_path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{training_path}: cannot read the training summary ({exc}); re-run the training rule.") \
            from None
    from ..config.registry import FEATURE_MODELS

    model = training.get("model", "")
    kind = "base_model_score" if model == BASELINE else "feature_model" if model in FEATURE_MODELS else "network"
    config = training.get("config") or {}
    manifest = {
        "format_version": FORMAT_VERSION,
        "experiment": training.get("experiment", Path(manifest_path).parent.name),
        "model": model,
        "kind": kind,
        "files": {"weights": WEIGHTS if kind == "network" else None,
                  "trees": TREES if kind == "feature_model" else None, "calibrator": CALIBRATOR,
                  "training": Path(training_path).name},
        "features": list(training.get("features") or []) if kind == "feature_model" else None,
        "window_length": config.get("window_length"),
        "profile_length": config.get("profile_length"),
        "score_scale": training.get("score_scale", "delta"),
        "reads_base_model_delta": bool(training.get("reads_base_model_delta", False)),
        "threshold": training.get("threshold"),
        "base_model": {"name": str(base_model["name"]), "distance": int(base_model["distance"]),
                       "mask": int(base_model["mask"]), "annotation": _annotation_name(annotation)},
        # the additional base models the model reads: their scores (feature model) or profiles (paired classifier)
        "base_models": extra_base_model_entries(training.get("extra_base_models") or [], base_models,
                                                training_path) if kind in ("feature_model", "network") else [],
        # a network reading every base model's delta profile: their names in channel order (primary first)
        "base_model_profiles": list(training.get("base_model_profiles") or []) if kind == "network" else [],
        "code_version": training.get("code_version"),
    }
    Path(manifest_path).parent.mkdir(parents=True, exist_ok=True)
    Path(manifest_path).write_text(json.dumps(manifest, indent=2) + "\n")
    return manifest


def _load_calibrator(path: Path):
    from ..training.calibration import Calibrator

    return Calibrator.load(path)


@dataclass
class ModelFolder:
    """A loaded model folder: manifest, calibrator and (for networks) the network itself."""

    path: Path
    manifest: dict
    calibrator: object
    network: "torch.nn.Module | None" = field(default=None, repr=False)
    trees: dict | None = field(default=None, repr=False)  # a feature model's model.joblib bundle

    @property
    def experiment(self) -> str:
        return str(self.manifest["experiment"])

    @property
    def base_model(self) -> dict:
        return dict(self.manifest["base_model"])

    @property
    def base_models(self) -> list[dict]:
        """The additional base models the model reads (manifest ``base_models``; [] when it reads none)."""
        return [dict(entry) for entry in self.manifest.get("base_models") or []]

    @property
    def extra_profile_models(self) -> list[str]:
        """The additional base models whose profiles the network reads after the primary's (channel order)."""
        return [str(n) for n in (self.manifest.get("base_model_profiles") or [])[1:]]

    @property
    def window_length(self) -> int | None:
        return None if self.network is None else int(self.manifest["window_length"])

    @property
    def kind(self) -> str:
        return str(self.manifest["kind"])

    @property
    def needs_base_model_delta(self) -> bool:
        """True when the score means nothing without the base model's delta for the allele and gene."""
        return self.manifest["kind"] == "base_model_score" or bool(self.manifest["reads_base_model_delta"])

    def scores(self, inputs: dict, batch_size: int = 64, device="cpu") -> np.ndarray:
        """The model's score per row of ``inputs`` (see ``predict_vcf.model_inputs``)."""
        if self.kind == "feature_model":
            from ..training.gbm import predict_scores

            return predict_scores(self.trees, inputs["features"])  # NaN where a read base-model score is missing
        if self.network is None:
            return np.where(np.isnan(inputs["base_max_ds"]), 0.0, inputs["base_max_ds"])  # as spliceai_raw
        import torch

        from ..training.datasets import SplitData, crop_windows
        from ..training.predictions import run_model

        n = len(inputs["indel_length"])
        length = int(inputs["base_profile"].shape[1])
        base_profile = np.asarray(inputs["base_profile"], dtype=np.float32)
        if self.extra_profile_models:  # the additional base models' profiles, after the primary's channels
            extra = inputs.get("extra_base_profiles") or {}
            missing = [name for name in self.extra_profile_models if name not in extra]
            if missing:
                raise UserError(f"--model {self.path}: reads {', '.join(missing)}'s delta profiles (model.json "
                                "base_model_profiles) but they were not scored; a bug: report it.")
            base_profile = np.concatenate([base_profile, *(np.asarray(extra[name], dtype=np.float32)
                                                           for name in self.extra_profile_models)], axis=2)
        data = SplitData(
            table=pd.DataFrame(index=np.arange(n)),
            ref=crop_windows(inputs["ref"], self.window_length), alt=crop_windows(inputs["alt"], self.window_length),
            indel_length=np.asarray(inputs["indel_length"], dtype=np.float32),
            label=np.zeros(n, np.float32), target_seed=np.zeros((n, 3), np.float32),
            target_profile=np.zeros((n, length, 2), np.float32),
            base_profile=base_profile,
            base_score=np.nan_to_num(np.asarray(inputs["base_max_ds"], dtype=np.float64), nan=0.0),  # as spliceai_raw
        )
        return run_model(self.network, data, batch_size, torch.device(device))["score"]

    def p_sa(self, scores: np.ndarray) -> np.ndarray:
        """P(splice-altering): the calibrator fitted on the validation split applied to the scores."""
        return np.asarray(self.calibrator.apply(np.asarray(scores, dtype=np.float64)), dtype=np.float64)


def load_model_folder(path, device="cpu") -> ModelFolder:
    """Read and check a model folder; every missing or inconsistent piece is a ``UserError``."""
    folder = Path(path)
    if not folder.is_dir():
        raise UserError(f"--model {path}: no such folder. Give a trained experiment's folder, "
                        "e.g. results/models/<experiment>.")
    manifest_path = folder / MANIFEST
    if not manifest_path.is_file():
        raise UserError(f"--model {path}: no {MANIFEST} in the folder. It is written by the workflow's "
                        f"model_manifest rule: run `snakemake {folder.as_posix()}/{MANIFEST}` (or the whole workflow).")
    try:
        manifest = json.loads(manifest_path.read_text())
    except json.JSONDecodeError as exc:
        raise UserError(f"{manifest_path}: not valid JSON ({exc}); re-run the model_manifest rule.") from None
    if manifest.get("format_version") != FORMAT_VERSION or manifest.get("kind") not in KINDS:
        raise UserError(f"{manifest_path}: format_version {manifest.get('format_version')!r}, kind "
                        f"{manifest.get('kind')!r}; this version reads format {FORMAT_VERSION} with kinds {KINDS}. "
                        "Re-run the model_manifest rule with this version of validsplice.")
    missing = [k for k in BASE_MODEL_KEYS if k not in (manifest.get("base_model") or {})]
    if missing:
        raise UserError(f"{manifest_path}: base_model lacks {missing}; re-run the model_manifest rule.")
    _check_extra_base_models(manifest, manifest_path)
    calibrator_path = folder / manifest["files"]["calibrator"]
    if not calibrator_path.is_file():
        raise UserError(f"--model {path}: no calibrator ({calibrator_path.name}); P(splice-altering) needs it. "
                        f"Run `snakemake {folder.as_posix()}/{calibrator_path.name}` (the calibrate_model rule).")
    network = _load_network(folder, manifest, device) if manifest["kind"] == "network" else None
    trees = _load_trees(folder, manifest) if manifest["kind"] == "feature_model" else None
    return ModelFolder(folder, manifest, _load_calibrator(calibrator_path), network, trees)


def _check_extra_base_models(manifest: dict, manifest_path: Path) -> None:
    """Every additional base model's features the trees read has a complete ``base_models`` entry."""
    from ..config.naming import BASE_MODEL_NAMES

    entries = manifest.get("base_models") or []
    for entry in entries:
        missing = [k for k in EXTRA_BASE_MODEL_KEYS if k not in entry]
        if missing:
            raise UserError(f"{manifest_path}: base_models entry {entry.get('name')!r} lacks {missing}; re-run the "
                            "model_manifest rule.")
    listed = {e["name"] for e in entries}
    unlisted = [n for n in (manifest.get("base_model_profiles") or [])[1:] if n not in listed]
    if unlisted:
        raise UserError(f"{manifest_path}: the network reads {', '.join(unlisted)}'s delta profiles "
                        "(base_model_profiles) but base_models does not list that base model; re-run the "
                        "model_manifest rule.")
    primary = (manifest.get("base_model") or {}).get("name")  # the exon-site head reads the primary's column too
    read = {f.split("_", 1)[0] for f in manifest.get("features") or []
            if f.split("_", 1)[0] in BASE_MODEL_NAMES and f.split("_", 1)[0] != primary}
    if read - listed:
        raise UserError(f"{manifest_path}: the trees read {', '.join(sorted(read - listed))}'s scores but base_models "
                        "does not list that base model (a manifest from an older version); re-run the model_manifest "
                        "rule.")


def _load_trees(folder: Path, manifest: dict) -> dict:
    from ..training.gbm import load_model

    path = folder / (manifest["files"].get("trees") or TREES)
    if not path.is_file():
        raise UserError(f"{folder}: no trees file {path.name}; re-run the experiment's training rule "
                        f"(train_{manifest['model']}).")
    bundle = load_model(path)
    if bundle.get("model") != manifest["model"] or list(bundle["features"]) != list(manifest.get("features") or []):
        raise UserError(f"{path} holds model {bundle.get('model')!r} with {len(bundle['features'])} features but "
                        f"{MANIFEST} says {manifest['model']!r} with {len(manifest.get('features') or [])}; the files "
                        "come from different runs. Re-run the training and model_manifest rules.")
    return bundle


def _load_network(folder: Path, manifest: dict, device):
    import torch

    from ..config import registry

    weights = folder / manifest["files"]["weights"]
    if not weights.is_file():
        raise UserError(f"{folder}: no weights file {weights.name}; re-run the experiment's training rule.")
    try:
        checkpoint = torch.load(weights, map_location="cpu", weights_only=True)  # no code from a pickle
    except Exception as exc:  # torch raises many types for a truncated or foreign file
        raise UserError(f"{weights}: cannot load ({type(exc).__name__}: {exc}); re-run the training rule.") from None
    name = checkpoint.get("model")
    if name != manifest["model"]:
        raise UserError(f"{weights} holds model {name!r} but {MANIFEST} says {manifest['model']!r}; the files come "
                        "from different runs. Re-run the training and model_manifest rules.")
    config = checkpoint.get("config") or {}
    params = dict(checkpoint.get("params") or {})
    pretrained = str(params.get("checkpoint") or "")
    if pretrained and not Path(pretrained).is_dir():
        # HyenaDNA builds its encoder from the checkpoint folder's config (the weights then come from model.pt)
        raise UserError(f"{weights}: model {name!r} was built from the HyenaDNA checkpoint folder {pretrained!r}, "
                        "which is not there. Run predict from the folder the workflow ran in, or copy the "
                        "checkpoint folder to that path.")
    network = registry.build_model(name, params,
                                   window_length=int(config["window_length"]),
                                   profile_length=int(config["profile_length"]),
                                   profile_channels=int(config.get("profile_channels", 2)))
    reads = list(config.get("base_model_profiles") or [])
    if reads[1:] != list((manifest.get("base_model_profiles") or [])[1:]):
        raise UserError(f"{weights} reads the profiles of {reads or 'the primary only'} but {MANIFEST} says "
                        f"{manifest.get('base_model_profiles') or 'the primary only'}; the files come from different "
                        "runs. Re-run the training and model_manifest rules.")
    network.load_state_dict(checkpoint["state_dict"])
    return network.to(device).eval()
