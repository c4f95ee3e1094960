"""Evaluate a model on a labelled table: standard metrics, per-group fairness, importance.

:func:`evaluate` returns plain JSON-able data (NaN and infinity become ``None``)::

    {"task": "classification" | "regression", "rows": n, "target": name,
     "features": [name, ...],
     "metrics": {metric: value},            # CLASSIFICATION_METRICS or REGRESSION_METRICS
     "fairness": {column: {"by_group": {group: {metric: value, "count": n}},
                           <FAIRNESS_METRICS>: value      # binary classification only
                           | "parity_skipped": reason}},  # multiclass and regression
     "feature_importance": [{"feature", "mean", "std"}],  # largest mean first
     "importance_scoring": "roc_auc" | "accuracy" | "neg_rmse",
     # classification only:
     "classes": [...], "average": "binary" | "macro", "positive_class": c (binary)}

The model needs only ``predict``; classifiers may add ``predict_proba`` (columns in
``classes_`` order) and ``classes_``. Metric details live in
:mod:`~shipyard.registry.evaluation.metrics`, fairness in
:mod:`~shipyard.registry.evaluation.fairness`, importance in
:mod:`~shipyard.registry.evaluation.importance`. Importing this package stays light:
numpy, pandas, scikit-learn and fairlearn load on the first evaluation.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from shipyard.registry.evaluation.names import (
    CLASSIFICATION_METRICS,
    FAIRNESS_METRICS,
    REGRESSION_METRICS,
    higher_is_better,
)

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CLASSIFICATION_METRICS",
    "FAIRNESS_METRICS",
    "REGRESSION_METRICS",
    "evaluate",
    "higher_is_better",
    "latency_p95_ms",
]


def evaluate(
    model: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    sensitive: Sequence[str] = (),
    features: Sequence[str] | None = None,
    task: str | None = None,
    importance_repeats: int = 5,
    seed: int = 0,
    max_importance_rows: int = 5000,
) -> dict[str, Any]:
    """Evaluate ``model`` on ``frame`` against the ``target`` column (see the module doc).

    ``features`` defaults to every column but the target and the ``sensitive`` ones; a
    sensitive column is a feature only when listed in ``features``. ``task`` is inferred
    when ``None``: a model with ``predict_proba`` or ``classes_``, or a bool, text,
    categorical or integer target with at most 20 values, means classification.
    Permutation importance uses ``importance_repeats`` shuffles (0 skips it) of at most
    ``max_importance_rows`` rows sampled with ``seed``. Bad input is a
    :class:`~shipyard.errors.ValidationError`.
    """
    from shipyard.registry.evaluation.report import evaluate_frame

    return evaluate_frame(
        model,
        frame,
        target=target,
        sensitive=sensitive,
        features=features,
        task=task,
        importance_repeats=importance_repeats,
        seed=seed,
        max_importance_rows=max_importance_rows,
    )


def latency_p95_ms(model: Any, X: Any, *, batch: int = 100, repeats: int = 30) -> float:
    """p95 wall time of one ``model.predict`` on ``batch`` rows of ``X``, in milliseconds.

    Rows are reused cyclically when ``X`` has fewer than ``batch``; one untimed call
    warms up first, then ``repeats`` calls are timed.
    """
    from shipyard.registry.evaluation.report import measure_latency

    return measure_latency(model, X, batch=batch, repeats=repeats)
