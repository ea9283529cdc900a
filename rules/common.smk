# Input functions and helpers shared by the rule files.
import re
import sys
from pathlib import Path

WORKFLOW_ROOT = Path(workflow.basedir)
SCRIPTS = WORKFLOW_ROOT / "workflow" / "scripts"
LIBRARY = SCRIPTS / "validsplice"
sys.path.insert(0, str(SCRIPTS))

from validsplice.models.registry import KNOWN_MODELS, UNTRAINED_MODELS  # noqa: E402

BASELINE = "spliceai_raw"


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
    return [str(f.relative_to(WORKFLOW_ROOT)) if f.is_relative_to(WORKFLOW_ROOT) else str(f) for f in files]


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
def _check_experiments():
    for name, spec in config["experiments"].items():
        model = spec.get("model")
        if model not in KNOWN_MODELS:
            raise ValueError(
                f"config experiments: {name!r} names model {model!r}, which has no implementation. "
                f"Known models: {', '.join(KNOWN_MODELS)}."
            )
        if model in UNTRAINED_MODELS and name != model:
            raise ValueError(
                f"config experiments: {name!r} uses the untrained model {model!r}; "
                f"it must be named {model!r} (it is the baseline, added automatically)."
            )


_check_experiments()


def experiment_names():
    """Experiments in config order with the baseline first (it is always evaluated)."""
    names = [n for n in config["experiments"] if n != BASELINE]
    return [BASELINE] + names


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


def checkpoint_inputs(wildcards):
    """The downloaded checkpoint folder an experiment needs (none when a local path is given)."""
    settings = experiment_settings(wildcards.experiment)
    model_id = settings.get("model_id")
    if model_id and settings["checkpoint"] == hyenadna_download_dir(model_id):
        return [settings["checkpoint"]]
    return []


def experiments_of(model):
    return [n for n in experiment_names() if experiment_model(n) == model]


def experiment_pattern(model):
    """Wildcard constraint matching exactly the experiments of one model."""
    names = experiments_of(model)
    return "|".join(re.escape(n) for n in names) if names else "(?!x)x"


def settings_of(wildcards):
    return experiment_settings(wildcards.experiment)


def training_threads():
    return config["training"]["threads"]


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
        *predict_targets(),
        *external_targets(),
    ]


def print_summary_table():
    """Print the results-summary table at the end of a successful run."""
    table = WORKFLOW_ROOT / "results" / "report" / "summary.md"
    table = Path("results/report/summary.md") if not table.exists() else table
    if table.exists():
        print("\nResults summary (results/report/summary.md):\n")
        print(table.read_text())
        print("Full report: snakemake --report results/report.html")


# ---------------------------------------------------------------- predict (VCFs) and external test sets
from validsplice.models.registry import MODEL_BUILDERS  # noqa: E402


def predictable_experiments():
    """Experiments a model folder can carry for `validsplice predict`: networks and the raw base-model score."""
    return [n for n in experiment_names() if experiment_model(n) in MODEL_BUILDERS or n == BASELINE]


def _check_predict_config():
    known = predictable_experiments()
    for name, spec in config.get("predict", {}).items():
        unknown = [e for e in spec["experiments"] if e not in known]
        if unknown:
            raise ValueError(f"config predict: {name!r} names experiment(s) {unknown} that have no model folder; "
                             f"choose among {', '.join(known)}.")


_check_predict_config()


def model_folder_files(experiment):
    """What `validsplice predict` reads from results/models/{experiment}/."""
    files = [f"results/models/{experiment}/model.json", f"results/models/{experiment}/calibrator.json"]
    if experiment != BASELINE:
        files.append(f"results/models/{experiment}/model.pt")
    return files


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
    return spec


def external_targets():
    return [f"results/external/{name}/summary.tsv" for name in config.get("external_test", {})]
