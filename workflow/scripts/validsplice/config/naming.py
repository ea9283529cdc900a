"""Names used across the stages: the label classes, the baseline experiment and calibrated rows.

Defined once here (the parse-time core: no numpy, torch or sklearn), and imported by the workflow
at parse time (workflow/rules/common.smk) and by every stage that needs them.
"""
from __future__ import annotations

POSITIVE = "Splice-altering"
NEGATIVE = "Normal"
OTHER_CLASSES = ("Low-frequency", "Conflicting")
CLASSES = (POSITIVE, NEGATIVE) + OTHER_CLASSES
# The table's baseline row: the base model's own delta score, nothing trained.
BASELINE = "spliceai_raw"

CALIBRATED_BASELINE = "spliceai_calibrated"


def check_ensembles(ensembles: dict | None, experiments: list[str]) -> dict[str, list[str]]:
    """Validate config ``ensembles`` against the experiment names (raises ValueError at parse time).

    Members are experiments (``spliceai_raw`` and ``spliceai_calibrated`` both mean calibrated
    SpliceAI); an ensemble is not a member of another, and its name is not an experiment's.
    """
    ensembles = dict(ensembles or {})
    allowed = list(experiments) + [CALIBRATED_BASELINE]
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
    """The experiment whose calibrator gives a member's probabilities."""
    return BASELINE if name == CALIBRATED_BASELINE else name


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
        else:
            left_out[row] = "no model folder (validsplice predict cannot apply it)"
    return included, left_out
