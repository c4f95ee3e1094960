"""A model's predictions on a labelled table, and the standard metrics computed on them.

:func:`score_model` asks the model once for labels (and probabilities when it has
``predict_proba``) and keeps them in an :class:`Outcomes`; every metric is a function of
an ``Outcomes`` (or of a subset of its rows, for the per-group fairness report), so the
overall and the per-group numbers come from the same code.

Classification: binary metrics take the positive class to be ``classes[1]`` (the second
of the model's ``classes_``, or of the sorted labels when the model has none);
multiclass precision, recall and F1 are macro averages over the labels present in the
rows (true or predicted, as scikit-learn does) and ``roc_auc`` is one-vs-rest macro.
Precision/recall/F1 count 0/0 as 0. ``roc_auc`` is ``None`` without
probabilities or when the rows lack a class; ``log_loss`` and ``calibration_error``
are ``None`` without probabilities.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from sklearn import metrics as skm

from shipyard.errors import ValidationError

__all__ = [
    "CALIBRATION_BINS",
    "MAX_INTEGER_CLASSES",
    "METRIC_FUNCTIONS",
    "Outcomes",
    "compute_metrics",
    "expected_calibration_error",
    "infer_task",
    "score_model",
]

CALIBRATION_BINS = 10
MAX_INTEGER_CLASSES = 20  # an integer target with at most this many values is a class label

Array = NDArray[Any]
Metric = Callable[["Outcomes"], float | None]


@dataclass(frozen=True)
class Outcomes:
    """True values, predictions, and for classifiers the classes and probabilities."""

    y: Array
    predicted: Array
    classes: Array | None = None  # None for regression
    proba: Array | None = None  # one column per class, in ``classes`` order

    @property
    def binary(self) -> bool:
        """Whether this is a two-class classification."""
        return self.classes is not None and len(self.classes) == 2

    @property
    def positive(self) -> Any:
        """The positive class of a binary classification: ``classes[1]``."""
        if self.classes is None or not self.binary:
            return None
        return self.classes[1]

    @property
    def average(self) -> str:
        """How precision, recall and F1 combine classes: ``binary`` or ``macro``."""
        return "binary" if self.binary else "macro"

    def subset(self, rows: Array) -> Outcomes:
        """The outcomes of the given row positions only."""
        proba = None if self.proba is None else self.proba[rows]
        return Outcomes(self.y[rows], self.predicted[rows], self.classes, proba)


def infer_task(model: Any, target: pd.Series) -> str:
    """``classification`` for probabilistic models and label-like targets, else ``regression``."""
    if hasattr(model, "predict_proba") or getattr(model, "classes_", None) is not None:
        return "classification"
    dtype = target.dtype
    if pd.api.types.is_bool_dtype(dtype):
        return "classification"
    if pd.api.types.is_float_dtype(dtype):
        return "regression"
    if pd.api.types.is_integer_dtype(dtype):
        few = target.nunique() <= MAX_INTEGER_CLASSES
        return "classification" if few else "regression"
    return "classification"


def score_model(model: Any, X: pd.DataFrame, target: pd.Series, task: str) -> Outcomes:
    """Predict ``X`` once and gather what the metrics need."""
    predicted = np.asarray(model.predict(X))
    if predicted.ndim != 1 or len(predicted) != len(X):
        raise ValidationError(
            f"model.predict returned shape {predicted.shape} for {len(X)} rows; "
            "expected one prediction per row"
        )
    if task == "regression":
        return Outcomes(_numbers(target.to_numpy(), "target"), _numbers(predicted, "predictions"))
    y = target.to_numpy()
    classes = _classes(model, y, predicted)
    return Outcomes(y, predicted, classes, _probabilities(model, X, len(classes)))


def _numbers(values: Array, what: str) -> Array:
    try:
        numbers = values.astype(float)
    except (TypeError, ValueError):
        raise ValidationError(f"regression needs numeric {what}, got {values.dtype}") from None
    if not np.isfinite(numbers).all():
        raise ValidationError(f"the {what} contain NaN or infinity")
    return numbers


def _classes(model: Any, y: Array, predicted: Array) -> Array:
    known = getattr(model, "classes_", None)
    if known is None:
        classes = np.unique(np.concatenate([y, predicted]))
    else:
        classes = np.asarray(known)
        unknown = pd.unique(y[~np.isin(y, classes)])
        if len(unknown):
            raise ValidationError(
                f"the target has values the model does not know: {sorted(map(str, unknown))} "
                f"(model classes: {[str(c) for c in classes]})"
            )
    if len(classes) < 2:
        raise ValidationError(
            f"classification needs at least two classes, found {[str(c) for c in classes]}; "
            "give the model a classes_ attribute"
        )
    return classes


def _probabilities(model: Any, X: pd.DataFrame, n_classes: int) -> Array | None:
    if not hasattr(model, "predict_proba"):
        return None
    proba = np.asarray(model.predict_proba(X))
    if proba.shape != (len(X), n_classes):
        raise ValidationError(
            f"model.predict_proba returned shape {proba.shape}; "
            f"expected ({len(X)}, {n_classes}), one column per class"
        )
    if not np.issubdtype(proba.dtype, np.floating):
        proba = proba.astype(float)
    if not np.isfinite(proba).all():
        raise ValidationError("the model's probabilities contain NaN or infinity")
    return proba


def compute_metrics(outcomes: Outcomes, names: Sequence[str]) -> dict[str, float | None]:
    """The named metrics of ``outcomes``: ``{name: value}`` (``None`` when undefined)."""
    return {name: METRIC_FUNCTIONS[name](outcomes) for name in names}


def expected_calibration_error(
    confidence: Array, outcome: Array, bins: int = CALIBRATION_BINS
) -> float:
    """ECE: the row-weighted mean gap between outcome rate and confidence per equal-width bin."""
    which = np.clip((confidence * bins).astype(int), 0, bins - 1)
    gaps = np.bincount(which, weights=outcome - confidence, minlength=bins)
    return float(np.abs(gaps).sum() / len(confidence))


def _accuracy(o: Outcomes) -> float:
    return float(skm.accuracy_score(o.y, o.predicted))


def _set_wise(score: Callable[..., Any]) -> Metric:
    def metric(o: Outcomes) -> float:
        return float(
            score(
                o.y,
                o.predicted,
                pos_label=o.positive if o.binary else 1,
                average=o.average,
                zero_division=0.0,
            )
        )

    return metric


def _roc_auc(o: Outcomes) -> float | None:
    if o.proba is None or o.classes is None or len(np.unique(o.y)) < 2:
        return None
    if o.binary:
        return float(skm.roc_auc_score(o.y == o.positive, o.proba[:, 1]))
    if not np.isin(o.classes, o.y).all():
        return None
    return float(skm.roc_auc_score(o.y, o.proba, multi_class="ovr", labels=o.classes))


def _log_loss(o: Outcomes) -> float | None:
    if o.proba is None:
        return None
    return float(skm.log_loss(o.y, o.proba, labels=o.classes))


def _calibration_error(o: Outcomes) -> float | None:
    if o.proba is None or o.classes is None:
        return None
    if o.binary:
        return expected_calibration_error(o.proba[:, 1], (o.y == o.positive).astype(float))
    top = o.proba.argmax(axis=1)
    hit = (o.classes[top] == o.y).astype(float)
    return expected_calibration_error(o.proba.max(axis=1), hit)


def _r2(o: Outcomes) -> float | None:
    return float(skm.r2_score(o.y, o.predicted)) if len(o.y) >= 2 else None


METRIC_FUNCTIONS: dict[str, Metric] = {
    "accuracy": _accuracy,
    "precision": _set_wise(skm.precision_score),
    "recall": _set_wise(skm.recall_score),
    "f1": _set_wise(skm.f1_score),
    "roc_auc": _roc_auc,
    "log_loss": _log_loss,
    "calibration_error": _calibration_error,
    "mae": lambda o: float(skm.mean_absolute_error(o.y, o.predicted)),
    "rmse": lambda o: float(skm.root_mean_squared_error(o.y, o.predicted)),
    "r2": _r2,
}
