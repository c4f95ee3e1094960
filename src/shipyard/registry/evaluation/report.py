"""The evaluation report of a model on a labelled table, as plain JSON-able data.

See :func:`shipyard.registry.evaluation.evaluate` for the shape of the result.
"""

from __future__ import annotations

import numbers
import time
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from shipyard.data.tabular import to_json_value
from shipyard.errors import ValidationError
from shipyard.registry.evaluation.fairness import fairness_report
from shipyard.registry.evaluation.importance import permutation_ranking
from shipyard.registry.evaluation.metrics import compute_metrics, infer_task, score_model
from shipyard.registry.evaluation.names import CLASSIFICATION_METRICS, REGRESSION_METRICS, TASKS

__all__ = ["evaluate_frame", "measure_latency", "to_plain"]


def evaluate_frame(
    model: Any,
    frame: pd.DataFrame,
    *,
    target: str,
    sensitive: Sequence[str],
    features: Sequence[str] | None,
    task: str | None,
    importance_repeats: int,
    seed: int,
    max_importance_rows: int,
) -> dict[str, Any]:
    """Metrics, fairness and feature importance of ``model`` on ``frame`` (plain data)."""
    sensitive = _names(sensitive)
    columns = _feature_columns(frame, target, sensitive, features)
    _check_count("importance_repeats", importance_repeats, least=0)
    _check_count("max_importance_rows", max_importance_rows, least=1)
    _check_count("seed", seed, least=0)
    task = task or infer_task(model, frame[target])
    if task not in TASKS:
        raise ValidationError(f"task must be one of {', '.join(TASKS)}, got {task!r} instead")
    X = frame[columns]
    outcomes = score_model(model, X, frame[target], task)
    names = CLASSIFICATION_METRICS if outcomes.classes is not None else REGRESSION_METRICS
    scoring, ranking = permutation_ranking(
        model, X, outcomes, repeats=importance_repeats, seed=seed, max_rows=max_importance_rows
    )
    result: dict[str, Any] = {
        "task": task,
        "rows": len(frame),
        "target": target,
        "features": columns,
        "metrics": compute_metrics(outcomes, names),
        "fairness": {col: fairness_report(outcomes, frame[col], names) for col in sensitive},
        "feature_importance": ranking,
        "importance_scoring": scoring,
    }
    if outcomes.classes is not None:
        result["classes"] = list(outcomes.classes)
        result["average"] = outcomes.average
        if outcomes.binary:
            result["positive_class"] = outcomes.positive
    plain: dict[str, Any] = to_plain(result)
    return plain


def measure_latency(model: Any, X: Any, *, batch: int, repeats: int) -> float:
    """The 95th percentile of ``repeats`` timed ``predict`` calls on ``batch`` rows, in ms."""
    _check_count("batch", batch, least=1)
    _check_count("repeats", repeats, least=1)
    if len(X) == 0:
        raise ValidationError("cannot time predictions on an empty table")
    rows = np.arange(batch) % len(X)
    sample = X.iloc[rows] if hasattr(X, "iloc") else np.asarray(X)[rows]
    model.predict(sample)  # warm-up: lazy initialisation and caches
    seconds = []
    for _ in range(repeats):
        start = time.perf_counter()
        model.predict(sample)
        seconds.append(time.perf_counter() - start)
    return float(np.percentile(seconds, 95) * 1000.0)


def to_plain(value: Any) -> Any:
    """``value`` as JSON: containers walked, numpy scalars unwrapped, NaN/inf as ``None``."""
    if isinstance(value, Mapping):
        return {str(to_plain(key)): to_plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [to_plain(item) for item in value]
    if value is None or value is pd.NA or value is pd.NaT:
        return None
    plain = to_json_value(value)
    if plain is None or isinstance(plain, bool | int | float | str):
        return plain
    return str(plain)


def _names(names: Sequence[str]) -> list[str]:
    return [names] if isinstance(names, str) else list(names)


def _feature_columns(
    frame: pd.DataFrame, target: str, sensitive: list[str], features: Sequence[str] | None
) -> list[str]:
    if target not in frame.columns:
        raise _missing("target column", [target])
    if missing := [name for name in sensitive if name not in frame.columns]:
        raise _missing("sensitive column", missing)
    if features is None:
        columns = [str(c) for c in frame.columns if c != target and c not in sensitive]
    else:
        columns = _names(features)
        if missing := [name for name in columns if name not in frame.columns]:
            raise _missing("feature column", missing)
    if len(set(columns)) < len(columns):
        raise ValidationError(f"features name a column twice: {columns}")
    if target in columns:
        raise ValidationError(f"the target column {target!r} cannot also be a feature")
    if not columns:
        raise ValidationError("there are no feature columns to evaluate the model on")
    if frame.empty:
        raise ValidationError("the frame has no rows: there is nothing to evaluate")
    if gaps := int(frame[target].isna().sum()):
        raise ValidationError(
            f"the target column {target!r} has {gaps} missing values; drop or fill them first",
            details=[{"column": target, "missing": gaps}],
        )
    return columns


def _missing(kind: str, names: list[str]) -> ValidationError:
    verb = "are" if len(names) > 1 else "is"
    plural = "s" if len(names) > 1 else ""
    listed = ", ".join(repr(name) for name in names)
    return ValidationError(
        f"{kind}{plural} {listed} {verb} not in the frame",
        details=[{"column": name} for name in names],
    )


def _check_count(name: str, value: int, *, least: int) -> None:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < least:
        raise ValidationError(
            f"{name} must be an integer of at least {least}, got {value!r} instead",
            details=[{"parameter": name, "value": repr(value)}],
        )
