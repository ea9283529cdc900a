"""Names used across the stages: the label classes, the baseline experiment and calibrated rows.

Defined once here (the parse-time core: no numpy, torch or sklearn), and imported by the workflow
at parse time (workflow/rules/common.smk) and by every stage that needs them.
"""
from __future__ import annotations

POSITIVE = "Splice-altering"
NEGATIVE = "Normal"
OTHER_CLASSES = ("Low-frequency", "Conflicting")
CLASSES = (POSITIVE, NEGATIVE) + OTHER_CLASSES
# The base models the workflow scores with (config base_model: the primary; base_models: the others).
BASE_MODEL_NAMES = ("spliceai", "openspliceai", "pangolin")
# The primary (config base_model) may be these only: its delta profiles are SpliceAI's (acceptor, donor)
# tracks, what the delta targets and the delta models read; Pangolin's gain / loss tracks are not.
PRIMARY_BASE_MODEL_NAMES = ("spliceai", "openspliceai")
RAW_SUFFIX = "_raw"
CALIBRATED_SUFFIX = "_calibrated"


def raw_row(base_model: str) -> str:
    """The table row of a base model's raw score (``pangolin_raw``); the primary's is always BASELINE."""
    return f"{base_model}{RAW_SUFFIX}"


def calibrated_row(base_model: str) -> str:
    """The table row of a base model's score through its calibrator (``pangolin_calibrated``)."""
    return f"{base_model}{CALIBRATED_SUFFIX}"


# The table's baseline row: the primary base model's own delta score, nothing trained. Named spliceai_raw
# whichever of SpliceAI / OpenSpliceAI the primary is (OpenSpliceAI is a SpliceAI retrained: same score);
# every Δ column of the table is relative to this row.
BASELINE = raw_row("spliceai")

CALIBRATED_BASELINE = calibrated_row("spliceai")
# Pangolin's columns in its scores.parquet (scoring.shards.score_pangolin_shard): the largest gain and
# the largest loss (as a positive number) over the window, their positions relative to the variant
# (Pangolin does not tell acceptor from donor, so these replace SpliceAI's four DS / DP)
PANGOLIN_DS = ("DS_GAIN", "DS_LOSS")
PANGOLIN_DP = ("DP_GAIN", "DP_LOSS")


def is_raw_row(name: str) -> bool:
    """A raw base-model row (spliceai_raw, pangolin_raw, openspliceai_raw): a delta score, not a probability."""
    return name.endswith(RAW_SUFFIX) and name[:-len(RAW_SUFFIX)] in BASE_MODEL_NAMES


def calibrated_of_raw(name: str) -> str:
    """The calibrated row of a raw base-model row (pangolin_raw -> pangolin_calibrated)."""
    return calibrated_row(name[:-len(RAW_SUFFIX)])


def base_model_rows(extra_base_models) -> tuple[list[str], list[str]]:
    """(raw rows, calibrated rows) of the primary then each additional base model, in config order."""
    extra = list(extra_base_models or [])
    return [BASELINE, *map(raw_row, extra)], [CALIBRATED_BASELINE, *map(calibrated_row, extra)]


def check_ensembles(ensembles: dict | None, experiments: list[str],
                    calibrated_rows: list[str] | None = None) -> dict[str, list[str]]:
    """Validate config ``ensembles`` against the experiment names (raises ValueError at parse time).

    Members are experiments (``spliceai_raw`` and ``spliceai_calibrated`` both mean calibrated
    SpliceAI; likewise ``pangolin_raw`` / ``pangolin_calibrated`` of an additional base model, given in
    ``calibrated_rows``); an ensemble is not a member of another, and its name is not an experiment's.
    """
    ensembles = dict(ensembles or {})
    allowed = list(experiments) + list(calibrated_rows or [CALIBRATED_BASELINE])
    for name, members in ensembles.items():
        if name in allowed:
            raise ValueError(f"config ensembles: {name!r} is already an experiment name; rename the ensemble.")
        if not isinstance(members, (list, tuple)) or len({member_experiment(m) for m in members}) < 2:
            raise ValueError(f"config ensembles: {name!r} needs a list of at least two different experiments, "
                             f"got {members!r}.")
        unknown = [m for m in members if m not in allowed]
        if unknown:
            nested = [m for m in unknown if m in ensembles]
            hint = (f" ({', '.join(map(repr, nested))} is an ensemble; list its experiments instead)" if nested else "")
            raise ValueError(f"config ensembles: {name!r} lists unknown experiment(s) "
                             f"{', '.join(map(repr, unknown))}{hint}. Known: {', '.join(allowed)}.")
    return ensembles


def member_experiment(name: str) -> str:
    """The experiment whose calibrator gives a member's probabilities (``pangolin_calibrated``: pangolin_raw)."""
    if name.endswith(CALIBRATED_SUFFIX) and name[:-len(CALIBRATED_SUFFIX)] in BASE_MODEL_NAMES:
        return raw_row(name[:-len(CALIBRATED_SUFFIX)])
    return name


def external_rows(rows: list[str], experiments_with_folder: list[str], combined: dict[str, list[str]]) \
        -> tuple[list[str], dict[str, str]]:
    """(rows of the results table an external test set gets, {row: why not} for the others).

    A row is included when it is an experiment with a model folder, or a combined row
    (``spliceai_calibrated``, an ensemble: ``combined`` maps it to its member experiments) all of whose
    members have one; the others are named with the reason, never left out silently."""
    included, left_out = [], {}
    for row in rows:
        if row in experiments_with_folder:
            included.append(row)
        elif row in combined:
            missing = [m for m in combined[row] if m not in experiments_with_folder]
            if missing:
                left_out[row] = f"member(s) {', '.join(missing)} have no model folder to apply"
            else:
                included.append(row)
        elif is_raw_row(row) and row != BASELINE:
            left_out[row] = ("an additional base model's raw score has no model folder (a raw-score folder applies "
                             "the primary base model's score, spliceai_raw, only)")
        else:
            left_out[row] = "no model folder (validsplice predict cannot apply it)"
    return included, left_out
