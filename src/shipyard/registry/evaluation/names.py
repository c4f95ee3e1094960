"""The metric names an evaluation reports, and which way each one improves.

This module imports nothing heavy, so the registry can compare metrics without loading
numpy, pandas or scikit-learn.
"""

from __future__ import annotations

from shipyard.errors import ValidationError

__all__ = [
    "CLASSIFICATION_METRICS",
    "FAIRNESS_METRICS",
    "REGRESSION_METRICS",
    "TASKS",
    "higher_is_better",
]

TASKS = ("classification", "regression")
CLASSIFICATION_METRICS: tuple[str, ...] = (
    "accuracy",
    "precision",
    "recall",
    "f1",
    "roc_auc",
    "log_loss",
    "calibration_error",
)
REGRESSION_METRICS: tuple[str, ...] = ("mae", "rmse", "r2")
FAIRNESS_METRICS: tuple[str, ...] = (
    "demographic_parity_difference",
    "demographic_parity_ratio",
    "equalized_odds_difference",
    "equalized_odds_ratio",
)
_LOWER_IS_BETTER = frozenset({"log_loss", "calibration_error", "mae", "rmse"})


def higher_is_better(metric: str) -> bool:
    """Whether a larger value of ``metric`` means a better model.

    Losses, errors and every ``*_difference`` improve downwards; the rest upwards.
    An unknown name is a :class:`~shipyard.errors.ValidationError`.
    """
    known = CLASSIFICATION_METRICS + REGRESSION_METRICS + FAIRNESS_METRICS
    if metric not in known:
        raise ValidationError(
            f"unknown metric {metric!r}; known metrics are {', '.join(known)}",
            details=[{"metric": metric}],
        )
    return metric not in _LOWER_IS_BETTER and not metric.endswith("_difference")
