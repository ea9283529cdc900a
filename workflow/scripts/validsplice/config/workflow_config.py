"""Parse-time checks of the workflow config, run by workflow/rules/common.smk before any rule.

- ``check_config_keys``: every key is known. Where workflow/schemas/config.schema.yaml closes an object
  (``additionalProperties: false``, e.g. ``training.defaults``) its properties are the valid
  keys; experiments and ``training.model_defaults.<model>`` take the keys of
  ``training.defaults`` plus the model's own settings (``models.registry.MODEL_SETTINGS``).
  An unknown key is a ``UserError`` naming the key, where it is and the closest valid key.
- ``check_input_files``: every input file the config names exists (a stale result must never
  stand in for a missing input).
- ``resolve_from_checkout``: relative input paths missing from the working directory but
  present in the checkout (the demo's files) are taken from the checkout.
- ``file_digest``: the content checksum the ingest rule carries as a param, so a changed
  input reruns everything downstream even when its path and timestamp look old.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import jsonschema

from ..common.errors import UserError, closest, unknown_key_error
from . import registry
from .download_entries import check_url_entries
from .settings import general_settings

BUILTIN_ANNOTATIONS = ("grch37", "grch38")


# ------------------------------------------------------------------ unknown keys


def _check_closed(config, schema: dict, where: str) -> None:
    """Walk config and schema together; reject keys of closed objects that the schema lacks."""
    if not isinstance(config, dict) or not isinstance(schema, dict):
        return
    properties = schema.get("properties", {})
    if schema.get("additionalProperties") is False:
        for key in config:
            if key not in properties:
                raise unknown_key_error(key, f"config {where or '(top level)'}", properties)
    for key, sub in properties.items():
        if key in config:
            _check_closed(config[key], sub, f"{where}.{key}" if where else key)


def _model_error(model, where: str) -> UserError:
    best = closest(model, registry.KNOWN_MODELS)
    hint = f" Did you mean {best!r}?" if best else ""
    return UserError(
        f"config {where}: model {model!r} has no implementation.{hint} Known models: {', '.join(registry.KNOWN_MODELS)}."
    )


def _check_settings(settings, model: str, where: str, general: dict, allow_model_key: bool, label: str = "") -> None:
    if not isinstance(settings, dict):
        raise UserError(f"config {where}: expected a mapping of settings, got {settings!r}.")
    own = registry.MODEL_SETTINGS[model]
    if model in registry.UNTRAINED_MODELS:
        valid = {"model"} if allow_model_key else set()
        for key in settings:
            if key not in valid:
                raise UserError(
                    f"config {where}: {model} is not trained, so it takes no settings; remove {key!r}."
                )
        return
    valid = {**general, **own}
    for key in settings:
        if key == "model" and allow_model_key:
            continue
        if key not in valid:
            owners = [m for m, keys in registry.MODEL_SETTINGS.items() if key in keys]
            also = f" ({key!r} is a setting of {', '.join(owners)} only.)" if owners else ""
            raise unknown_key_error(key, f"config {where}{label}", [*valid, *(["model"] if allow_model_key else [])], also)
    values = {k: v for k, v in settings.items() if k != "model"}
    validator = jsonschema.Draft202012Validator({"type": "object", "properties": valid})
    for error in validator.iter_errors(values):
        key = ".".join(map(str, error.absolute_path))
        raise UserError(f"config {where}.{key}: {error.message}.")


def check_config_keys(config: dict, schema: dict) -> None:
    """UserError for the first unknown key (with the closest valid one) or unknown model name."""
    _check_closed(config, schema, "")
    general = general_settings(schema)
    training = config.get("training") or {}
    for model, settings in (training.get("model_defaults") or {}).items():
        where = f"training.model_defaults.{model}"
        if model not in registry.KNOWN_MODELS:
            raise _model_error(model, "training.model_defaults")
        _check_settings(settings or {}, model, where, general, allow_model_key=False)
    for name, spec in (config.get("experiments") or {}).items():
        where = f"experiments.{name}"
        model = (spec or {}).get("model") if isinstance(spec, dict) else None
        if model is None:
            raise UserError(f"config {where}: no `model:`; name one of {', '.join(registry.KNOWN_MODELS)}.")
        if model not in registry.KNOWN_MODELS:
            raise _model_error(model, where)
        if model in registry.UNTRAINED_MODELS and name != model:
            raise UserError(
                f"config {where}: uses the untrained model {model!r}; it must be named {model!r} "
                "(it is the baseline, added automatically)."
            )
        _check_settings(spec, model, where, general, allow_model_key=True, label=f" (model {model})")


# ------------------------------------------------------------------ input files
def require_file(path, key: str, remedy: str, directory: bool = False) -> Path:
    """``path`` as a Path; UserError naming the config key, the path and the remedy when absent."""
    text = str(path or "").strip()
    if not text:
        raise UserError(f"config {key} is empty. {remedy}")
    p = Path(text)
    exists = p.is_dir() if directory else p.is_file()
    if not exists:
        kind = "folder" if directory else "file"
        where = "" if p.is_absolute() else f" (relative to the working directory {Path.cwd()})"
        what = f"is not a {kind}" if p.exists() else "does not exist"
        raise UserError(f"config {key}: {text!r} {what}{where}. {remedy}")
    return p


def check_input_files(config: dict) -> None:
    """Every input file or folder the (validated) config names must exist."""
    variants = config["variants"]
    require_file(
        variants.get("path"), "variants.path",
        "Set it to your SpliceVarDB export or labelled VCF (README, 'Running on real data'); "
        "results of an earlier input are never used in its place.",
    )
    reference = config["reference"]
    if not str(reference.get("url") or "").strip():
        require_file(
            reference.get("fasta"), "reference.fasta",
            "Point it at a FASTA of the build of your variants, or set reference.url to download one.",
        )
    annotation = str(config.get("annotation") or "")
    if annotation.lower() not in BUILTIN_ANNOTATIONS:
        require_file(
            annotation, "annotation",
            f"Use {' or '.join(BUILTIN_ANNOTATIONS)} (shipped with the spliceai package) or the path of a "
            "gene table in SpliceAI's format.",
        )
    extra = extra_base_models(config)
    found = openspliceai_settings(config)
    if found:
        check_openspliceai_source(*found)
    if "pangolin" in extra:
        check_pangolin_folder(extra["pangolin"].get("pangolin_dir"), "base_models.pangolin.pangolin_dir")


def extra_base_models(config: dict) -> dict[str, dict]:
    """The additional base models (config ``base_models``: name -> its settings, config order), checked
    against the primary (``base_model``): a model is listed once, and SpliceAI, when used, is the primary
    (the primary's rows are named spliceai_raw / spliceai_calibrated whichever model it is)."""
    primary = (config.get("base_model") or {}).get("name", "spliceai")
    extra = dict(config.get("base_models") or {})
    if primary in extra:
        raise UserError(f"config base_models.{primary}: {primary} is already the primary base model (base_model.name); "
                        "remove it from base_models (its settings are those of base_model).")
    if "spliceai" in extra:
        raise UserError("config base_models.spliceai: SpliceAI must be the primary base model when it is used (its rows "
                        "are spliceai_raw / spliceai_calibrated, the names the primary's rows carry): set base_model.name "
                        f"to spliceai and move the {primary} settings under base_models.{primary}.")
    return extra


def check_profile_distances(config: dict, extra: dict, reading_experiments) -> None:
    """With an experiment reading every base model's delta profile (registry ``reads_profiles``: the paired
    classifier), each additional base model must score at least the primary's ±D (its profiles are cropped to
    ±base_model.distance; narrower ones cannot be aligned)."""
    reading = list(reading_experiments)
    if not reading or not extra:
        return
    distance = int((config.get("base_model") or {}).get("distance", 50))
    for name, settings in extra.items():
        own = int((settings or {}).get("distance", 50))
        if own < distance:
            raise UserError(f"config base_models.{name}.distance {own} is below base_model.distance {distance}, but "
                            f"experiment {reading[0]!r} reads every base model's delta profile at the primary's "
                            f"±{distance} positions. Set base_models.{name}.distance to {distance} or more (wider "
                            "profiles are cropped to the centre).")


def openspliceai_settings(config: dict) -> tuple[dict, str] | None:
    """(settings, config key) of the OpenSpliceAI base model, primary or additional; None when not used."""
    base = config.get("base_model") or {}
    if base.get("name") == "openspliceai":
        return base, "base_model"
    extra = (config.get("base_models") or {}).get("openspliceai")
    return (extra, "base_models.openspliceai") if extra is not None else None


def check_openspliceai_source(base: dict, where: str = "base_model") -> None:
    """OpenSpliceAI weights come from a local folder, or are downloaded only when the config lists
    their URLs (``base_model.openspliceai_urls``, each with its SHA-256): never implicitly."""
    if base.get("openspliceai_urls"):
        check_url_entries(base["openspliceai_urls"], f"{where}.openspliceai_urls")
        if not str(base.get("openspliceai_dir") or "").strip():
            raise UserError(f"config {where}.openspliceai_dir is empty. Set it to the folder the "
                            "openspliceai_urls downloads go to (e.g. resources/openspliceai-mane).")
        return
    remedy = ("Set it to the folder holding the OpenSpliceAI .pt checkpoints, or list their URLs and SHA-256s "
              f"in {where}.openspliceai_urls to download them there (docs/openspliceai.md).")
    folder = require_file(base.get("openspliceai_dir"), f"{where}.openspliceai_dir", remedy, directory=True)
    if not list(folder.glob("*.pt")):
        raise UserError(f"config {where}.openspliceai_dir: {str(folder)!r} holds no .pt checkpoints. {remedy}")


PANGOLIN_WEIGHT_GLOB = "final.*.*.3.v2"  # the file names of pangolin/models (scoring.pangolin.network)


def check_pangolin_folder(folder, key: str) -> Path:
    """The Pangolin weights folder exists and holds weight files (the loader checks all twelve by name)."""
    remedy = ("Set it to the folder pangolin/models of tkzeng/Pangolin (the twelve files final.{1,2,3}.{0,2,4,6}.3.v2, "
              "GPL-3.0; the workflow never downloads them; docs/pangolin.md).")
    path = require_file(folder, key, remedy, directory=True)
    if not list(path.glob(PANGOLIN_WEIGHT_GLOB)):
        raise UserError(f"config {key}: {str(path)!r} holds no Pangolin weight files ({PANGOLIN_WEIGHT_GLOB}). {remedy}")
    return path


# ------------------------------------------------------------------ GPU requests (parse time, torch-free)
ASSUME_GPU_ENV = "VALIDSPLICE_ASSUME_GPU"


def gpu_present() -> bool:
    """Whether this host has an NVIDIA GPU, without importing torch (the parse must stay light): the
    driver's /proc file or nvidia-smi on PATH. ``VALIDSPLICE_ASSUME_GPU=1`` / ``0`` overrides it, for a
    cluster's submit host that has no GPU while its compute nodes do."""
    import os
    import shutil

    forced = os.environ.get(ASSUME_GPU_ENV, "").strip()
    if forced in ("1", "0"):
        return forced == "1"
    return Path("/proc/driver/nvidia/version").exists() or shutil.which("nvidia-smi") is not None


def gpu_request(device: str | None) -> int:
    """The ``gpu`` resource a rule asks for: 1 only when it will run on a GPU (device cuda, or auto on a
    host with one), so a CPU run never waits for a GPU slot it does not use."""
    device = str(device or "auto")
    if device.startswith("cuda"):
        return 1
    return int(device == "auto" and gpu_present())


def file_digest(path) -> str:
    """SHA-256 of a file's content (hex)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


# ------------------------------------------------------------------ where relative paths resolve
def _configured_inputs(config: dict):
    """(section, key, dotted name) of each input path the (validated) config uses."""
    yield config["variants"], "path", "variants.path"
    if not str(config["reference"].get("url") or "").strip():  # with a url the FASTA is a download target
        yield config["reference"], "fasta", "reference.fasta"
    if str(config.get("annotation") or "").lower() not in BUILTIN_ANNOTATIONS:
        yield config, "annotation", "annotation"
    found = openspliceai_settings(config)
    if found and not found[0].get("openspliceai_urls"):  # else a download target
        yield found[0], "openspliceai_dir", f"{found[1]}.openspliceai_dir"
    pangolin = (config.get("base_models") or {}).get("pangolin")
    if pangolin is not None:
        yield pangolin, "pangolin_dir", "base_models.pangolin.pangolin_dir"
    for name, spec in (config.get("predict") or {}).items():
        yield spec, "vcf", f"predict.{name}.vcf"
    for name, spec in (config.get("external_test") or {}).items():
        yield spec, "path", f"external_test.{name}.path"


def resolve_from_checkout(config: dict, checkout: Path, workdir: Path | None = None) -> list[str]:
    """Relative input paths are relative to the working directory (``--directory``). One that is
    missing there but present in the checkout (the demo's ``resources/demo`` files) is taken from
    the checkout, so the demo config runs from any directory. Rewrites ``config`` in place and
    returns one line per path it rewrote, for the log."""
    workdir = Path.cwd() if workdir is None else Path(workdir)
    notes = []
    for section, key, name in _configured_inputs(config):
        text = str(section.get(key) or "").strip()
        if not text or Path(text).is_absolute() or (workdir / text).exists():
            continue
        in_checkout = Path(checkout).resolve() / text
        if in_checkout.exists():
            section[key] = str(in_checkout)
            notes.append(f"config {name}: {text!r} is not in {workdir}; using the checkout's {in_checkout}")
    return notes
