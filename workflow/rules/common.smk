# Config checks (run at parse time, before any rule), input functions and helpers shared by
# the rule files.
import re
import sys
from pathlib import Path

import yaml
from snakemake.utils import validate

WORKFLOW_ROOT = Path(workflow.basedir)  # the workflow/ folder (where the Snakefile is)
SCRIPTS = WORKFLOW_ROOT / "scripts"
LIBRARY = SCRIPTS / "validsplice"
sys.path.insert(0, str(SCRIPTS))  # this checkout's package first (rule scripts do the same)

import validsplice  # noqa: E402
from validsplice.io.sniff import check_source  # noqa: E402
from validsplice.rule_io import UserError  # noqa: E402
from validsplice.workflow_config import (  # noqa: E402
    BUILTIN_ANNOTATIONS,
    check_config_keys,
    check_input_files,
    file_digest,
    require_file,
)
from validsplice.ensemble import CALIBRATED_BASELINE, check_ensembles, member_experiment  # noqa: E402
from validsplice.split import describe_split  # noqa: E402

if not Path(validsplice.__file__).resolve().is_relative_to(LIBRARY.resolve()):
    raise ImportError(
        f"The workflow imported validsplice from {Path(validsplice.__file__).parent}, not from this "
        f"checkout ({LIBRARY}): another copy was loaded before the Snakefile ran. Start snakemake "
        "without it (check PYTHONSTARTUP, sitecustomize and .pth files of the environment)."
    )

BASELINE = "spliceai_raw"
SCHEMA = WORKFLOW_ROOT / "schemas" / "config.schema.yaml"

# ---------------------------------------------------------------- config checks (parse time)
# 1. unknown keys, with the closest valid one (before the schema, whose message is terser);
# 2. the schema: types and ranges, fills in defaults;
# 3. every input file the config names exists, and the variant file is the kind configured.
try:
    check_config_keys(config, yaml.safe_load(SCHEMA.read_text()))
    validate(config, schema=str(SCHEMA))
    check_input_files(config)
    check_source(config["variants"]["path"], config["variants"]["source"])
except UserError as error:
    raise UserError(str(error)) from None  # the message alone, without the library's frames


wildcard_constraints:
    shard=r"\d+",


# ---------------------------------------------------------------- code dependencies
def library_files(*names):
    """Package files a rule depends on (so editing the code reruns the rule).

    Names are paths relative to the package; a folder name stands for its *.py files.
    The shared helpers every script imports are always included.
    """
    paths = ["__init__.py", "rule_io.py", "sequence.py", *names]
    files = []
    for name in paths:
        path = LIBRARY / name
        files.extend(sorted(path.glob("*.py")) if path.is_dir() else [path])
    return [str(f) for f in files]  # absolute: rules work from any working directory


# ---------------------------------------------------------------- reference
def reference_fasta():
    return config["reference"]["fasta"]


def reference_files():
    """The FASTA and its samtools index files (+ .gzi when bgzipped)."""
    fasta = reference_fasta()
    files = [fasta, f"{fasta}.fai"]
    if fasta.endswith(".gz"):
        files.append(f"{fasta}.gzi")
    return files


# ---------------------------------------------------------------- experiments
def experiment_names():
    """Experiments in config order with the baseline first (it is always evaluated)."""
    names = [n for n in config["experiments"] if n != BASELINE]
    return [BASELINE] + names


# ---------------------------------------------------------------- calibrated rows and ensembles
ENSEMBLES = check_ensembles(config.get("ensembles"), experiment_names())


def table_rows():
    """Rows of the results table: experiments, the calibrated baseline, then the ensembles."""
    return experiment_names() + [CALIBRATED_BASELINE] + list(ENSEMBLES)


def combined_members(name):
    """Members of a row made from calibrated probabilities (spliceai_calibrated: the baseline alone)."""
    members = [BASELINE] if name == CALIBRATED_BASELINE else ENSEMBLES[name]
    return [member_experiment(m) for m in members]


def combined_inputs(kind):
    """Input function: one file of each member's experiment folder (calibrator, predictions, ...)."""
    return lambda wildcards: [f"results/models/{m}/{kind}" for m in combined_members(wildcards.experiment)]


def calibrated_of(wildcards):
    """calibrated.parquet of an evaluated row; none for spliceai_raw (its calibrated row is separate)."""
    return [] if wildcards.experiment == BASELINE else [f"results/models/{wildcards.experiment}/calibrated.parquet"]


def calibrated_rows():
    return [n for n in table_rows() if n != BASELINE]


def name_pattern(names):
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def experiment_model(name):
    if name == BASELINE and name not in config["experiments"]:
        return BASELINE
    return config["experiments"][name]["model"]


def experiment_settings(name):
    """Training defaults, then per-model defaults, then the experiment's own overrides."""
    model = experiment_model(name)
    settings = dict(config["training"]["defaults"])
    settings.update(config["training"].get("model_defaults", {}).get(model, {}))
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


def _check_checkpoints():
    """A local checkpoint folder named in the config must exist (downloads are made by a rule)."""
    for name in experiment_names():
        local = local_checkpoint(name)
        if local:
            try:
                require_file(
                    local[1], local[0],
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
    """The OpenSpliceAI .pt files scored with (none for the SpliceAI Keras weights)."""
    if config["base_model"]["name"] != "openspliceai":
        return []
    return sorted(str(f) for f in Path(config["base_model"]["openspliceai_dir"]).glob("*.pt"))


# ---------------------------------------------------------------- base-model shards
def shard_ids():
    return list(range(config["base_model"]["shards"]))


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
    ]


SUMMARY_TABLE = Path("results/report/summary.md")


def _mtime(path):
    return path.stat().st_mtime_ns if path.exists() else None


SUMMARY_TABLE_AT_START = _mtime(SUMMARY_TABLE)


def print_summary_table():
    """Print the results-summary table at the end of a successful run, only when this run
    (re)wrote it: a table left from an earlier run or other inputs never passes for this one's."""
    table = SUMMARY_TABLE
    if table.exists() and _mtime(table) != SUMMARY_TABLE_AT_START:
        print("\nResults summary (results/report/summary.md):\n")
        print(table.read_text())
        print("Full report: snakemake --report results/report.html")
