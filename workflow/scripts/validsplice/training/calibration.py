"""Calibration: a model's score -> P(splice-altering), fitted on labelled non-test rows only.

Which rows (``calibrate_experiment``):
- a label-trained experiment: the **validation split only**. The model was fitted on the train rows, so its
  scores there are optimistic; a calibrator fitted on them would be over-confident.
- a raw base-model row (``spliceai_raw``, ``pangolin_raw``: the map behind ``spliceai_calibrated`` /
  ``pangolin_calibrated`` and the offset the label-trained models start from, ``gbm.CalibratedBaseScore``,
  ``models.offset``): **every labelled train + validation row** (``calibration_rows.parquet``:
  train_labelled + val_labelled, neither balanced nor capped). The base model never saw these labels, so its
  scores on train rows are as honest as on validation rows, and a 2-parameter logistic cannot memorise a few
  hundred rows: fitting it on train leaks nothing a test row could profit from. The validation split alone is
  small and, with a grouped split, holds few groups (Vex-seq: 3 to 18 Splice-altering variants per fold's
  validation split, fitted slopes 3 to 29), so the offset every label-trained model starts from was noisy and
  the pooled folds of ``spliceai_calibrated`` mixed five scales. The test split is never read to fit either.

Method: Platt scaling, a two-parameter logistic P = 1 / (1 + exp(-(slope * x + intercept))),
with x the score for delta-scale models and logit(score) for probability-scale models.
Why Platt and not isotonic regression:
- the validation split has hundreds to a few thousand rows; isotonic regression fits a free
  step function to them (one step per block of pooled rows) and over-fits at that size, while
  two parameters are estimated stably;
- a logistic with a non-negative slope is monotone, so calibration never reorders variants:
  ROC-AUC and PR-AUC of the calibrated probability equal the score's (``spliceai_calibrated``
  has the ROC-AUC of ``spliceai_raw``); isotonic steps tie distinct scores and change them;
- the fitted map is two numbers in ``calibrator.json``, exact to re-apply anywhere.
Platt's smoothed targets (N+ + 1) / (N+ + 2) and 1 / (N- + 2) stand in for 1 and 0, so a
validation split the score separates perfectly still gives a finite slope. The slope is
bounded below by 0: a score that ranks validation backwards gives a constant probability
(recorded), never an inverted one.

Prevalence: the validation split is balanced by sampling (``targets.balance_classes``), so a
logistic fitted on it predicts for a 50 % prior (the labelled train + validation rows of a raw row's
calibrator hold the prevalence's own ratio: the shift below is then 0). The intercept is moved by logit(prevalence) -
logit(validation prevalence), the exact prior-shift correction of a logistic model, with the
prevalence of ``prevalence.assumed_prevalence`` (the one definition, shared with the binary
threshold of ``training.select_threshold``): the share of Splice-altering among the
Splice-altering + Normal variants of the labelled training data (train + val with a target,
before balancing). Nothing of the test split, not even its class ratio, reaches the calibrator.
"""
from __future__ import annotations

import json
import logging
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import expit, logit

from ..common.errors import UserError
from ..config.naming import NEGATIVE, POSITIVE
from ..config.prevalence import Prevalence, assumed_prevalence  # noqa: F401  (part of this module's API)

log = logging.getLogger("validsplice.training.calibration")

FORMAT_VERSION = 1
TRANSFORMS = {"delta": "score", "probability": "logit(score)"}
# logit(score) of a probability-scale score is exact on [LOGIT_EPS, 1 - LOGIT_EPS] and continued linearly
# (with the logit's slope there) beyond, down to score 0 and up to 1 (``_bounded_logit``)
LOGIT_EPS = 1e-6
CALIBRATED_COLUMNS = ["variant_id", "label", "split", "score", "p_sa"]


def read_prevalence(path) -> Prevalence:
    try:
        return assumed_prevalence(json.loads(Path(path).read_text()))
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{path}: cannot read the targets summary ({exc}); re-run build_targets.") from None


# ----------------------------------------------------------------- the calibrator
def _bounded_logit(x: np.ndarray) -> np.ndarray:
    """logit(x) on [LOGIT_EPS, 1 - LOGIT_EPS], continued as its tangent line beyond (x in [0, 1]).

    Strictly increasing and finite on [0, 1] (about +-14.8 at 0 and 1), so two distinct scores keep
    distinct calibrated probabilities (clipping at LOGIT_EPS tied every score beyond it, e.g. the
    many classifier outputs above 1 - 1e-6), while a score of exactly 0 or 1 cannot pull the Platt
    fit by an infinite logit. The same transform is used to fit and to apply.
    """
    lo, hi = LOGIT_EPS, 1.0 - LOGIT_EPS
    slope = 1.0 / (LOGIT_EPS * (1.0 - LOGIT_EPS))  # d logit / dx at both ends
    inner = logit(np.clip(x, lo, hi))
    return np.where(x < lo, logit(lo) + (x - lo) * slope, np.where(x > hi, logit(hi) + (x - hi) * slope, inner))


def _features(scores, transform: str) -> np.ndarray:
    x = np.asarray(scores, dtype=np.float64)
    if transform == "logit(score)":
        return _bounded_logit(x)
    return x


def _platt_fit(x: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(slope >= 0, intercept) maximising the likelihood of Platt's smoothed targets."""
    n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
    t = np.where(y == 1, (n_pos + 1.0) / (n_pos + 2.0), 1.0 / (n_neg + 2.0))
    centre, spread = float(x.mean()), float(x.std())
    if spread == 0.0:  # a constant score carries no information: the smoothed base rate
        return 0.0, float(logit(t.mean()))
    z = (x - centre) / spread  # standardised for a well-conditioned optimisation

    def loss(params):
        a, b = params
        m = a * z + b
        # cross-entropy with soft targets, in a numerically stable form
        value = np.sum(np.logaddexp(0.0, m) - t * m)
        residual = expit(m) - t
        return value, np.array([np.sum(residual * z), np.sum(residual)])

    res = minimize(loss, x0=np.array([1.0, 0.0]), jac=True, method="L-BFGS-B",
                   bounds=[(0.0, None), (None, None)])
    a, b = (float(v) for v in res.x)
    return a / spread, b - a * centre / spread


@dataclass
class Calibrator:
    """Platt scaling fitted on validation (``fitted_on``; ``validation`` describes the rows it was fitted on),
    with the intercept moved to ``prevalence``."""

    slope: float
    intercept: float
    input: str = "score"
    prevalence: float = 0.5
    prevalence_source: str = ""
    intercept_at_validation_prevalence: float = 0.0
    validation: dict = field(default_factory=dict)
    method: str = "platt"
    fitted_on: str = "validation split"
    note: str = ""

    @classmethod
    def fit(cls, scores, labels, prevalence: float | None = None, *, score_scale: str = "delta",
            prevalence_source: str = "") -> "Calibrator":
        """Fit on validation scores and labels (1 / True / "Splice-altering" = positive).

        ``prevalence`` None keeps the validation split's own class ratio.
        """
        if score_scale not in TRANSFORMS:
            raise ValueError(f"score_scale must be one of {list(TRANSFORMS)}, got {score_scale!r}")
        labels = np.asarray(labels)
        y = (labels == POSITIVE) if labels.dtype.kind in "OUS" else labels.astype(bool)
        y = y.astype(np.int8)
        scores = np.asarray(scores, dtype=np.float64)
        if scores.shape != y.shape:
            raise ValueError(f"{scores.size} scores but {y.size} labels")
        finite = np.isfinite(scores)
        x, y = _features(scores[finite], TRANSFORMS[score_scale]), y[finite]
        n_pos, n_neg = int(y.sum()), int(y.size - y.sum())
        if not n_pos or not n_neg:
            raise UserError(f"calibration needs Splice-altering and Normal validation variants with a score "
                            f"(have {n_pos} and {n_neg}); check the validation split in results/targets/summary.json.")
        slope, intercept = _platt_fit(x, y)
        p_val = n_pos / (n_pos + n_neg)
        if prevalence is None:
            prevalence, prevalence_source = p_val, prevalence_source or "validation split's own ratio"
        if not 0.0 < float(prevalence) < 1.0:
            raise ValueError(f"prevalence must lie strictly between 0 and 1, got {prevalence}")
        shift = float(logit(prevalence) - logit(p_val))
        note = "" if slope > 0 else "slope 0: the score does not rank validation; P(SA) is constant"
        if note:
            log.warning("calibration: %s", note)
        return cls(slope=slope, intercept=intercept + shift, input=TRANSFORMS[score_scale],
                   prevalence=float(prevalence), prevalence_source=prevalence_source,
                   intercept_at_validation_prevalence=intercept,
                   validation={"n": int(y.size), "per_class": {POSITIVE: n_pos, NEGATIVE: n_neg},
                               "prevalence": p_val, "excluded_no_score": int((~finite).sum())},
                   note=note)

    def apply(self, scores) -> np.ndarray:
        """P(splice-altering) for each score (NaN stays NaN)."""
        x = _features(scores, self.input)
        return expit(self.slope * x + self.intercept)

    def to_dict(self) -> dict:
        return {"format_version": FORMAT_VERSION,
                "formula": f"P(splice-altering) = 1 / (1 + exp(-(slope * {self.input} + intercept)))",
                **asdict(self)}

    @classmethod
    def from_dict(cls, data: dict, where: str = "calibrator") -> "Calibrator":
        missing = [k for k in ("slope", "intercept", "input") if k not in data]
        if missing:
            raise UserError(f"{where}: calibrator lacks key(s) {', '.join(missing)}; re-run calibrate_model.")
        if data["input"] not in TRANSFORMS.values():
            raise UserError(f"{where}: calibrator input {data['input']!r} unknown; expected one of "
                            f"{list(TRANSFORMS.values())}. Re-run calibrate_model.")
        known = set(cls.__dataclass_fields__)
        return cls(**{k: v for k, v in data.items() if k in known})

    def save(self, path, **extra) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps({**extra, **self.to_dict()}, indent=2) + "\n")

    @classmethod
    def load(cls, path) -> "Calibrator":
        try:
            data = json.loads(Path(path).read_text())
        except (OSError, json.JSONDecodeError) as exc:
            raise UserError(f"{path}: cannot read the calibrator ({exc}); re-run calibrate_model.") from None
        return cls.from_dict(data, where=str(path))


# ----------------------------------------------------------------- rule entry point
def read_table(path, what: str) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:
        raise UserError(f"{path}: cannot read the {what} ({exc}); re-run the rule that writes it.") from None
    missing = [c for c in ("variant_id", "label", "score") if c not in table.columns]
    if missing:
        raise UserError(f"{path}: {what} lack column(s) {', '.join(missing)}; re-run the model's rule "
                        "(docs/DESIGN.md, Predictions).")
    return table


def calibrated_table(predictions: pd.DataFrame, p_sa) -> pd.DataFrame:
    split = predictions["split"] if "split" in predictions else "test"
    return pd.DataFrame({"variant_id": predictions["variant_id"].to_numpy(), "label": predictions["label"].to_numpy(),
                         "split": split, "score": predictions["score"].to_numpy(dtype=float),
                         "p_sa": np.asarray(p_sa, dtype=float)})[CALIBRATED_COLUMNS]


FITTED_ON_VALIDATION = "validation split"
FITTED_ON_LABELLED = "train + validation (every labelled non-test row; the base model never saw the labels)"


def calibrate_experiment(*, val_predictions, predictions, training, target_summary, calibrator_path,
                         calibrated_path, experiment: str, calibration_rows=None) -> Calibrator:
    """Fit the calibrator on ``val_predictions`` (or, for a raw base-model row, on ``calibration_rows``: every
    labelled train + validation row, module docstring) and apply it to the test ``predictions``.

    The test table is read only after the calibrator is fitted and only to apply it.
    """
    if calibration_rows is None:
        val, fitted_on = read_table(val_predictions, "validation predictions"), FITTED_ON_VALIDATION
    else:
        val, fitted_on = read_table(calibration_rows, "calibration rows"), FITTED_ON_LABELLED
        if "split" in val and (val["split"] == "test").any():
            raise UserError(f"{calibration_rows}: {int((val['split'] == 'test').sum())} test row(s) among the rows a "
                            "calibrator is fitted on; re-run baseline_predictions (it lists train_labelled and "
                            "val_labelled rows only).")
    val = val[val["label"].isin((POSITIVE, NEGATIVE))]
    try:
        scale = json.loads(Path(training).read_text()).get("score_scale") or "delta"
    except (OSError, json.JSONDecodeError) as exc:
        raise UserError(f"{training}: cannot read the training summary ({exc}); re-run the training rule.") from None
    prevalence = read_prevalence(target_summary)
    calibrator = Calibrator.fit(val["score"], val["label"], prevalence.value, score_scale=scale,
                                prevalence_source=prevalence.source)
    calibrator.fitted_on = fitted_on
    calibrator.save(calibrator_path, experiment=experiment, score_scale=scale)
    log.info("%s: Platt on %s, slope %.4g, intercept %.4g (prevalence %.3f: %s); fitted on %s %s",
             experiment, calibrator.input, calibrator.slope, calibrator.intercept, calibrator.prevalence,
             calibrator.prevalence_source, fitted_on, calibrator.validation["per_class"])
    test = read_table(predictions, "predictions")
    table = calibrated_table(test, calibrator.apply(test["score"]))
    Path(calibrated_path).parent.mkdir(parents=True, exist_ok=True)
    table.to_parquet(calibrated_path, index=False)
    log.info("%s: wrote %s (%d test rows)", experiment, calibrated_path, len(table))
    return calibrator


def describe(calibrator: Calibrator) -> str:
    """One line for logs and notes."""
    return (f"Platt on {calibrator.input} (slope {calibrator.slope:.3g}), fitted on {fitted_on_short(calibrator)} "
            f"({calibrator.validation.get('n', '?')} variants), prevalence {calibrator.prevalence:.3f}"
            + ("" if math.isfinite(calibrator.slope) and calibrator.slope > 0 else f"; {calibrator.note}"))


def fitted_on_short(calibrator: Calibrator) -> str:
    """'validation' or 'train + validation', for notes."""
    return "train + validation" if calibrator.fitted_on == FITTED_ON_LABELLED else "validation"
