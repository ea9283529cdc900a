# Config checks (run at parse time, before any rule), input functions and helpers shared by
# the rule files.
import re
import sys
from pathlib import Path

import yaml
from snakemake.logging import logger
from snakemake.utils import validate

WORKFLOW_ROOT = Path(workflow.basedir)  # the workflow/ folder (where the Snakefile is)
CHECKOUT = WORKFLOW_ROOT.parent
SCRIPTS = WORKFLOW_ROOT / "scripts"
LIBRARY = SCRIPTS / "validsplice"
sys.path.insert(0, str(SCRIPTS))  # this checkout's package first (rule scripts do the same)

import validsplice  # noqa: E402
from validsplice.config.code_deps import code_digest  # noqa: E402
from validsplice.io.reference import index_suffixes  # noqa: E402
from validsplice.io.sniff import check_source  # noqa: E402
from validsplice.config import registry  # noqa: E402
from validsplice.config.download_entries import url_file_name  # noqa: E402
from validsplice.common.rule_io import UserError  # noqa: E402
from validsplice.config.workflow_config import (  # noqa: E402
    BUILTIN_ANNOTATIONS,
    check_config_keys,
    check_profile_distances,
    check_input_files,
    extra_base_models,
    file_digest,
    gpu_request,
    openspliceai_settings,
    require_file,
    resolve_from_checkout,
)
from validsplice.config.naming import (  # noqa: E402
    BASELINE,
    CALIBRATED_BASELINE,
    base_model_rows,
    check_ensembles,
    external_rows,
    member_experiment,
)
from validsplice.variants.split import GROUP_KFOLD, describe_pooling, describe_split, resolve_split  # noqa: E402

if not Path(validsplice.__file__).resolve().is_relative_to(LIBRARY.resolve()):
    raise ImportError(
        f"The workflow imported validsplice from {Path(validsplice.__file__).parent}, not from this "
        f"checkout ({LIBRARY}): another copy was loaded before the Snakefile ran. Start snakemake "
        "without it (check PYTHONSTARTUP, sitecustomize and .pth files of the environment)."
    )

SCHEMA = WORKFLOW_ROOT / "schemas" / "config.schema.yaml"

# ---------------------------------------------------------------- config checks (parse time)
# 1. unknown keys, with the closest valid one (before the schema, whose message is terser);
# 2. the schema: types and ranges, fills in defaults;
# 3. relative input paths: the working directory's, else the checkout's (the demo's files);
# 4. every input file the config names exists, and the variant file is the kind configured.
try:
    check_config_keys(config, yaml.safe_load(SCHEMA.read_text()))
    validate(config, schema=str(SCHEMA))
    for note in resolve_from_checkout(config, CHECKOUT):
        logger.info(note)
    check_input_files(config)
    check_source(config["variants"]["path"], config["variants"]["source"])
    SPLIT = resolve_split(config["split"])
    # the additional base models (config base_models), name -> settings, config order; the primary is base_model
    EXTRA_BASE_MODELS = extra_base_models(config)
except UserError as error:
    raise UserError(str(error)) from None  # the message alone, without the library's frames

# each base model's raw and calibrated row: spliceai_raw / spliceai_calibrated (the primary), then pangolin_raw ...
RAW_ROWS, CALIBRATED_ROWS = base_model_rows(EXTRA_BASE_MODELS)


wildcard_constraints:
    shard=r"\d+",
    fold=r"\d+",


# ---------------------------------------------------------------- one split, or group K-fold
# With split.mode group_kfold every per-split stage (targets, training, calibration, the calibrated
# rows) runs once per fold under results/folds/fold{fold}/; folds.smk pools the folds' test rows back
# into results/targets/ and results/models/{row}/, which evaluation and the report read as for one split.
KFOLD = SPLIT.get("mode") == GROUP_KFOLD
FOLDS = list(range(SPLIT.get("k", 5))) if KFOLD else []
STUDY = "results/folds/fold{fold}/" if KFOLD else "results/"
STUDY_LOGS = "logs/folds/fold{fold}/" if KFOLD else "logs/"
STUDY_BENCHMARKS = "benchmarks/folds/fold{fold}/" if KFOLD else "benchmarks/"
FOLD_TEXT = ", fold {wildcards.fold}" if KFOLD else ""


def study_path(wildcards, relative):
    """A per-split file (``targets/...``, ``models/...``) of the job's fold, or of the one split."""
    path = f"{STUDY}{relative}"
    return path.format(fold=wildcards.fold) if KFOLD else path


def fold_paths(relative):
    """The file under each fold's folder (group K-fold), for the pooling rules."""
    return [f"results/folds/fold{fold}/{relative}" for fold in FOLDS]


def _check_kfold_config():
    """Model folders for `predict` and external test sets need one trained model per experiment."""
    if KFOLD and (config.get("predict") or config.get("external_test")):
        raise UserError(
            "config split.mode group_kfold trains each experiment once per fold, so there is no single model "
            "folder for `predict` or `external_test`; remove those sections, or use split.mode chromosome/gene."
        )


_check_kfold_config()


# ---------------------------------------------------------------- code dependencies
def script_code(script, *extra_modules):
    """A rule's `code` param: digest of its script and of every library file the script imports,
    found by reading the imports (validsplice.config.code_deps), so editing any of them reruns the rule
    and everything downstream. ``extra_modules``: modules loaded by name (a model's module)."""
    return code_digest(SCRIPTS / script, SCRIPTS, tuple(extra_modules))


def model_module(model):
    """The module defining a registered model (validsplice.config.registry)."""
    return registry.MODELS[model].module


# ---------------------------------------------------------------- reference
STAGED_REFERENCE_DIR = "results/reference"


def reference_fasta():
    """The user's FASTA (config reference.fasta): only ever read, never written beside."""
    return config["reference"]["fasta"]


def reference_files():
    """The workflow's own indexed reference under results/reference/ (made by index_reference): the
    FASTA (a link to the user's, or a bgzipped copy) and its samtools index files (+ .gzi when .gz).
    Every rule reads the reference through these, so nothing is written next to the user's inputs."""
    fasta = f"{STAGED_REFERENCE_DIR}/{Path(reference_fasta()).name}"
    return [fasta] + [fasta + suffix for suffix in index_suffixes(fasta)]


# ---------------------------------------------------------------- experiments
def experiment_names():
    """Experiments in config order with the base models' raw rows first (spliceai_raw, then those of
    base_models: they are always evaluated)."""
    names = [n for n in config["experiments"] if n not in RAW_ROWS]
    return RAW_ROWS + names


def _check_row_names():
    """A config experiment may not take the name of an additional base model's row (pangolin_raw ...)."""
    taken = [n for n in config["experiments"] if n in RAW_ROWS[1:] + CALIBRATED_ROWS]
    if taken:
        raise UserError(
            f"config experiments.{taken[0]}: {taken[0]!r} is the name of a base model's row (config base_models "
            "adds it by itself); rename the experiment."
        )


_check_row_names()


# ---------------------------------------------------------------- calibrated rows and ensembles
try:
    ENSEMBLES = check_ensembles(config.get("ensembles"), experiment_names(), CALIBRATED_ROWS)
except ValueError as error:
    raise UserError(str(error)) from None


def table_rows():
    """Rows of the results table: experiments (the raw base-model rows first), the calibrated base-model
    rows, then the ensembles."""
    return experiment_names() + CALIBRATED_ROWS + list(ENSEMBLES)


def combined_members(name):
    """Members of a row made from calibrated probabilities (spliceai_calibrated: spliceai_raw alone)."""
    members = [name] if name in CALIBRATED_ROWS else ENSEMBLES[name]
    return [member_experiment(m) for m in members]


def combined_inputs(kind):
    """Input function: one file of each member's experiment folder (calibrator, predictions, ...)."""
    return lambda wildcards: [
        study_path(wildcards, f"models/{m}/{kind}") for m in combined_members(wildcards.experiment)
    ]


def calibrated_of(wildcards):
    """calibrated.parquet of an evaluated row; none for a raw base-model row (its calibrated row is separate)."""
    return [] if wildcards.experiment in RAW_ROWS else [f"results/models/{wildcards.experiment}/calibrated.parquet"]


def calibration_rows_of(wildcards):
    """calibrate_model's extra input: a raw base-model row's calibrator is fitted on its calibration_rows.parquet
    (every labelled train + validation row), a label-trained experiment's on its validation predictions only."""
    if wildcards.experiment in RAW_ROWS:
        return {"calibration_rows": study_path(wildcards, f"models/{wildcards.experiment}/calibration_rows.parquet")}
    return {}


def calibrated_rows():
    return [n for n in table_rows() if n not in RAW_ROWS]


def name_pattern(names):
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def experiment_model(name):
    """The registry model of an experiment; a raw base-model row (spliceai_raw, pangolin_raw) is the untrained
    baseline model spliceai_raw (the base model's own score)."""
    if name in RAW_ROWS and name not in config["experiments"]:
        return BASELINE
    return config["experiments"][name]["model"]


def experiment_settings(name):
    """Training defaults, then per-model defaults, then the experiment's own overrides."""
    model = experiment_model(name)
    settings = dict(config["training"]["defaults"])
    settings.update(config["training"]["model_defaults"].get(model, {}))
    settings.update({k: v for k, v in config["experiments"].get(name, {}).items() if k != "model"})
    settings.setdefault("device", config["training"]["device"])
    if settings.get("model_id") and not settings.get("checkpoint"):
        settings["checkpoint"] = hyenadna_download_dir(settings["model_id"])
    return settings


def hyenadna_download_dir(model_id):
    """Where the download_hyenadna rule puts a HuggingFace model id's folder."""
    return f"resources/hyenadna/{'--'.join(Path(model_id).parts)}"


def local_checkpoint(name):
    """(config key, folder) of an experiment's local checkpoint; None when none or downloaded."""
    settings = experiment_settings(name)
    folder = str(settings.get("checkpoint") or "").strip()  # (a line may not start with the word checkpoint)
    model_id = settings.get("model_id")
    if not folder or (model_id and folder == hyenadna_download_dir(model_id)):
        return None
    if "checkpoint" in config["experiments"].get(name, {}):
        key = f"experiments.{name}.checkpoint"
    else:
        key = f"training.model_defaults.{experiment_model(name)}.checkpoint"
    return key, folder


def checkpoint_inputs(wildcards):
    """The checkpoint an experiment needs: the downloaded folder, or a local folder's files (so
    replacing the weights reruns the experiment)."""
    settings = experiment_settings(wildcards.experiment)
    model_id = settings.get("model_id")
    if model_id and settings["checkpoint"] == hyenadna_download_dir(model_id):
        return [settings["checkpoint"]]
    local = local_checkpoint(wildcards.experiment)
    if local:
        return sorted(str(f) for f in Path(local[1]).iterdir() if f.is_file())
    return []


def experiments_of(model):
    return [n for n in experiment_names() if experiment_model(n) == model]


def experiment_pattern(model):
    """Wildcard constraint matching exactly the experiments of one model."""
    return name_pattern(experiments_of(model))


def settings_of(wildcards):
    return experiment_settings(wildcards.experiment)


def training_threads():
    return config["training"]["threads"]


def training_gpu(entry):
    """A model's training `gpu` resource, 1 only for a GPU model on a device that is a GPU (the
    experiment's device: cuda, or auto on a host with one; validsplice.config.workflow_config.gpu_request)."""
    if not entry.gpu:
        return 0
    return lambda wildcards: gpu_request(experiment_settings(wildcards.experiment)["device"])


def _check_checkpoints():
    """A local checkpoint folder named in the config must exist (downloads are made by a rule)."""
    for name in experiment_names():
        local = local_checkpoint(name)
        if local:
            try:
                require_file(
                    local[1],
                    local[0],
                    "Set it to a downloaded HuggingFace checkpoint folder, or set model_id to download one "
                    "(README, 'HyenaDNA checkpoints').",
                    directory=True,
                )
            except UserError as error:
                raise UserError(str(error)) from None


_check_checkpoints()


# ---------------------------------------------------------------- inputs and their content
# A change of an input reruns everything downstream: each input file is a real input of the rule
# that reads it (path changes and newer files trigger reruns), and the variant file and a gene
# table given as a path also enter as a content checksum param (so an edited file reruns even
# when its timestamp is older than the results). See README "Inputs and reruns".
def variants_digest():
    return file_digest(config["variants"]["path"])


def annotation_inputs():
    """The gene table file when the config gives a path (the built-in tables are package data)."""
    annotation = str(config["annotation"])
    return [] if annotation.lower() in BUILTIN_ANNOTATIONS else [annotation]


def annotation_digest():
    return "".join(file_digest(f) for f in annotation_inputs()) or str(config["annotation"]).lower()


def openspliceai_checkpoints():
    """The OpenSpliceAI .pt files the primary base model scores with (none for the SpliceAI Keras weights):
    the configured downloads (rule download_openspliceai makes them) or the .pt files already in the folder."""
    return base_model_weights(config["base_model"]["name"])


def openspliceai_download_targets():
    """Where each openspliceai_urls entry (of base_model or base_models.openspliceai) is saved: the folder +
    the URL's file name."""
    settings = openspliceai_settings(config)[0]
    folder = Path(settings["openspliceai_dir"])
    return sorted(str(folder / url_file_name(entry["url"])) for entry in settings["openspliceai_urls"])


def base_model_weights(name):
    """The weight files a base model reads, as inputs of its scoring (replacing them reruns it) - OpenSpliceAI's
    .pt files (or their downloads), Pangolin's twelve files; none for SpliceAI (package data)."""
    settings = base_model_settings(name)
    if name == "openspliceai":
        if settings["openspliceai_urls"]:
            return openspliceai_download_targets()
        return sorted(str(f) for f in Path(settings["openspliceai_dir"]).glob("*.pt"))
    if name == "pangolin":
        return sorted(str(f) for f in Path(settings["pangolin_dir"]).glob("final.*.*.3.v2"))
    return []


# ---------------------------------------------------------------- base models and their shards
def base_model_settings(name):
    """A base model's settings: base_model's for the primary, else its base_models entry."""
    return config["base_model"] if name == config["base_model"]["name"] else EXTRA_BASE_MODELS[name]


def base_model_scores(name):
    """A base model's gathered scores: the primary's stay at results/scores/ (where they always were, so a
    finished run keeps them), each additional model's under results/scores/{name}/."""
    return (
        "results/scores/scores.parquet"
        if name == config["base_model"]["name"]
        else f"results/scores/{name}/scores.parquet"
    )


def extra_scores():
    """{name: scores.parquet} of the additional base models, config order (what the feature models read)."""
    return {name: base_model_scores(name) for name in EXTRA_BASE_MODELS}


def raw_row_scores(wildcards):
    """baseline_predictions' extra inputs: for an additional model's raw row, its scores and the variant table
    (the primary's max DS already sits in the targets tables)."""
    for name in EXTRA_BASE_MODELS:
        if wildcards.experiment == RAW_ROWS[1 + list(EXTRA_BASE_MODELS).index(name)]:
            return {"scores": base_model_scores(name), "variants": "results/variants/variants.parquet"}
    return {}


def shard_ids(name=None):
    return list(range(base_model_settings(name or config["base_model"]["name"])["shards"]))


# ---------------------------------------------------------------- outputs
def model_outputs(name):
    return {
        "predictions": f"results/models/{name}/predictions.parquet",
        "history": f"results/models/{name}/history.tsv",
        "training": f"results/models/{name}/training.json",
    }


def final_targets():
    return [
        "results/report/summary.tsv",
        "results/report/summary.md",
        "results/report/summary.html",
        "results/report/sensitivity.html",
        *predict_targets(),
        *external_targets(),
    ]


SUMMARY_TABLE = Path("results/report/summary.txt")  # the terminal table (<= 120 characters), by make_report
REPORT_OUTPUTS = (
    ("results/report/summary.tsv", "results table, every column and interval"),
    ("results/report/predictions.tsv", "one row per test variant with every model's score"),
    ("results/report/breakdown.tsv", "metrics by region, splice site, distance and variant type"),
    ("results/report/sensitivity.tsv", "the table with Low-frequency counted as Splice-altering"),
    ("results/report/", "the report's pages and figures (HTML, SVG)"),
)


def _mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


SUMMARY_TABLE_AT_START = _mtime(SUMMARY_TABLE)


def print_summary_table():
    """At the end of a successful run that (re)wrote the terminal table: that table and where things are.

    The table is results/report/summary.txt, written by make_report (validsplice.report.table_formats.format_terminal).
    A table left from an earlier run or other inputs never passes for this one's, so nothing is printed
    when this run did not rebuild it (e.g. a run of single targets).
    """
    table = SUMMARY_TABLE
    if not table.exists() or _mtime(table) == SUMMARY_TABLE_AT_START:
        return
    print("\nResults summary (test split):\n")
    print(table.read_text())
    print("Files:")
    for path, what in REPORT_OUTPUTS:
        print(f"  {path:<34} {what}")
    print("Self-contained HTML report (landing page, tables, plots):  snakemake --report results/report.html")
    print("Logs per rule: logs/   timings: benchmarks/")


# ---------------------------------------------------------------- predict (VCFs) and external test sets


EMBEDDINGS = "results/scores/embeddings.parquet"  # the primary base model's embeddings (rule base_model_embeddings)


def reads_embeddings(name):
    """Whether experiment ``name`` reads the base model's embeddings (registry.experiment_reads_embeddings)."""
    return registry.experiment_reads_embeddings(experiment_model(name), experiment_settings(name))


def embeddings_needed():
    """base_model_embeddings is defined only when an experiment reads the embeddings, so no other DAG changes."""
    return any(reads_embeddings(n) for n in experiment_names())


def embeddings_inputs(wildcards):
    """A feature model's embeddings input: the cache when the experiment reads it, else nothing."""
    return [EMBEDDINGS] if reads_embeddings(wildcards.experiment) else []


# a base model's exon-site scores (rule base_model_exon_sites)
EXON_SITES = "results/scores/exon_sites/{base_model}.parquet"


def reads_exon_sites(name):
    """Whether experiment ``name`` reads the base models' exon-site scores (registry reads_exon_sites)."""
    return registry.MODELS[experiment_model(name)].reads_exon_sites


def exon_sites_needed():
    """base_model_exon_sites is defined only when an experiment reads the scores, so no other DAG changes."""
    return any(reads_exon_sites(n) for n in experiment_names())


def base_model_names():
    """Every configured base model: the primary first, then config base_models in order."""
    return [config["base_model"]["name"], *EXTRA_BASE_MODELS]


def exon_sites_inputs(wildcards):
    """An exon-site head's inputs: every base model's exon-site scores (primary first), else nothing."""
    if not reads_exon_sites(wildcards.experiment):
        return []
    return [EXON_SITES.format(base_model=name) for name in base_model_names()]


def base_model_dir(name):
    """The folder a base model's weights are read from ('' for SpliceAI: the spliceai package's own)."""
    settings = base_model_settings(name)
    return settings.get("pangolin_dir") or settings.get("openspliceai_dir") or ""


def predictable_experiments():
    """Experiments a model folder can carry for `validsplice predict`: networks, feature models (trees, also
    those reading the base_models' scores: their manifest lists those models, predict scores with each) and
    the primary's raw score spliceai_raw (rows combined from others, i.e. spliceai_calibrated and the
    ensembles, are not experiments). The raw rows of base_models (pangolin_raw ...) have no model folder: a
    raw-score folder applies the primary's score only (external sets name them as left out, with the reason).
    Experiments reading the base model's embeddings have none either: predict computes no embeddings (it does
    compute the exon-site scores an exon_site_head reads)."""
    return [
        n
        for n in experiment_names()
        if (registry.MODELS[experiment_model(n)].trained or n == BASELINE) and not reads_embeddings(n)
    ]


def _check_predict_config():
    """Experiments named in `predict` must have a model folder; VCFs and external sets must exist."""
    known = predictable_experiments()
    try:
        for name, spec in config.get("predict", {}).items():
            unknown = [e for e in spec["experiments"] if e not in known]
            if unknown:
                raise UserError(
                    f"config predict.{name}.experiments: {unknown} have no model folder; choose among "
                    f"{', '.join(known)} (trained networks, feature models and spliceai_raw)."
                    + (
                        f" The raw rows of config base_models ({', '.join(RAW_ROWS[1:])}) have none: a raw-score "
                        "model folder applies the primary base model's score (spliceai_raw) only."
                        if EXTRA_BASE_MODELS
                        else ""
                    )
                    + (
                        f" {', '.join(unreadable)} read(s) the base model's embeddings, which predict does not "
                        "compute."
                        if (unreadable := [e for e in unknown if e in experiment_names() and reads_embeddings(e)])
                        else ""
                    )
                )
            require_file(spec["vcf"], f"predict.{name}.vcf", "Set it to the VCF to annotate.")
        for name, spec in config.get("external_test", {}).items():
            require_file(
                spec["path"],
                f"external_test.{name}.path",
                "Set it to the labelled set (SpliceVarDB export or labelled VCF).",
            )
    except UserError as error:
        raise UserError(str(error)) from None


_check_predict_config()


def model_folder_files(experiment):
    """What `validsplice predict` reads from results/models/{experiment}/."""
    files = [f"results/models/{experiment}/model.json", f"results/models/{experiment}/calibrator.json"]
    model = experiment_model(experiment)
    if model in registry.FEATURE_MODELS:
        files.append(f"results/models/{experiment}/model.joblib")
    elif model != BASELINE:
        files.append(f"results/models/{experiment}/model.pt")
    return files


def manifest_base_models():
    """model_manifest's base_models: {name: distance, mask, weights folder} of each additional base model (the
    manifest keeps those the experiment read, with its weights' SHA-256)."""
    return {
        name: {
            "distance": settings["distance"],
            "mask": settings["mask"],
            "folder": settings.get("pangolin_dir") or settings.get("openspliceai_dir") or "",
        }
        for name, settings in EXTRA_BASE_MODELS.items()
    }


def manifest_weights(wildcards):
    """The weight files of the additional base models a model reads, their scores (feature models) or profiles
    (paired classifier; hashed into its manifest)."""
    model = experiment_model(wildcards.experiment)
    if EXTRA_BASE_MODELS and (
        model in registry.SCORE_READING_FEATURE_MODELS
        or model in registry.PROFILE_READING_MODELS
        or registry.MODELS[model].reads_exon_sites
    ):
        return [f for name in EXTRA_BASE_MODELS for f in base_model_weights(name)]
    return []


def predict_weights():
    """Every base model's weight files predict may load: the primary's and the additional models'."""
    return openspliceai_checkpoints() + [f for name in EXTRA_BASE_MODELS for f in base_model_weights(name)]


def predict_weight_folders():
    """predict's --openspliceai-dir / --pangolin-dir from the config (one OpenSpliceAI at most: primary or additional)."""
    found = openspliceai_settings(config)
    return {
        "openspliceai_dir": found[0]["openspliceai_dir"] if found else "",
        "pangolin_dir": EXTRA_BASE_MODELS.get("pangolin", {}).get("pangolin_dir", ""),
    }


def model_folders(experiments):
    return [f"results/models/{e}" for e in experiments]


def predict_experiments(wildcards):
    return config["predict"][wildcards.name]["experiments"]


def predict_targets():
    return [f"results/predict/{name}.vcf.gz" for name in config.get("predict", {})]


def external_spec(name):
    spec = dict(config["external_test"][name])
    spec.setdefault("label_field", config["variants"]["label_field"])
    spec.setdefault("coordinate_column", config["variants"]["coordinate_column"])
    spec.setdefault("label_map", config["variants"]["label_map"] if spec["source"] == "vcf" else {})
    return spec


def external_table_rows():
    """(rows of the results table each external set gets, {row: why not} for the rows it cannot get)."""
    combined = {name: combined_members(name) for name in [CALIBRATED_BASELINE, *ENSEMBLES]}
    return external_rows(table_rows(), predictable_experiments(), combined)


def external_combined_rows():
    return [row for row in external_table_rows()[0] if row not in predictable_experiments()]


def external_targets():
    return [f"results/external/{name}/summary.tsv" for name in config.get("external_test", {})]


def base_calibrator_inputs(entry):
    """The baseline's calibrator for a model that starts from calibrated SpliceAI, else nothing."""
    return [f"{STUDY}models/{BASELINE}/calibrator.json"] if entry.base_offset else []


def profile_base_models(entry):
    """The base models whose delta profiles a reads_profiles model reads (primary first, then config base_models);
    [] for the others (they read the primary's profile only, from base_profiles.npy)."""
    return [config["base_model"]["name"], *EXTRA_BASE_MODELS] if entry.reads_profiles else []


def extra_profile_inputs(entry):
    """The additional base models' aligned profiles a reads_profiles model reads (config order)."""
    return [f"results/scores/{name}/base_profiles.npy" for name in profile_base_models(entry)[1:]]


def _check_profile_distances():
    """Every additional base model's profile covers the primary's ±D when a model reads them all."""
    reading = [n for n in config["experiments"] if registry.MODELS[experiment_model(n)].reads_profiles]
    try:
        check_profile_distances(config, EXTRA_BASE_MODELS, reading)
    except UserError as error:
        raise UserError(str(error)) from None


_check_profile_distances()
