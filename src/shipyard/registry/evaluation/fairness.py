"""Per-group metrics and parity metrics over one sensitive column, with fairlearn.

Groups are the column's values as text (a missing value is the group ``<missing>``).
Each group gets the task's metrics and its row ``count``, computed by a fairlearn
``MetricFrame`` with the same metric functions as the overall numbers.

Parity metrics (demographic parity and equalized odds, difference and ratio) are
computed for binary classification only, on "prediction is the positive class" versus
"truth is the positive class", with fairlearn's functions (``between_groups``,
equalized odds as the worst of the true- and false-positive-rate gaps). A ratio whose
groups all have a zero rate is undefined (``None``). Multiclass classification and
regression report the per-group metrics alone, with the reason under ``parity_skipped``:
one-vs-rest parity over several classes has no single agreed summary, and regression
has no selection rate.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd
from fairlearn import metrics as flm

from shipyard.registry.evaluation.metrics import Array, Outcomes, compute_metrics

__all__ = ["MISSING_GROUP", "fairness_report"]

MISSING_GROUP = "<missing>"
_PARITY = {
    "demographic_parity_difference": flm.demographic_parity_difference,
    "demographic_parity_ratio": flm.demographic_parity_ratio,
    "equalized_odds_difference": flm.equalized_odds_difference,
    "equalized_odds_ratio": flm.equalized_odds_ratio,
}


def fairness_report(outcomes: Outcomes, column: pd.Series, names: Sequence[str]) -> dict[str, Any]:
    """``{"by_group": {group: {metric: value, "count": n}}, <parity metric>: value, ...}``."""
    groups = group_labels(column)
    report: dict[str, Any] = {"by_group": _by_group(outcomes, groups, names)}
    if outcomes.binary:
        report.update(_parity(outcomes, groups))
    elif outcomes.classes is None:
        report["parity_skipped"] = "parity metrics need a binary classification, not regression"
    else:
        report["parity_skipped"] = (
            f"parity metrics need a binary classification; this one has "
            f"{len(outcomes.classes)} classes"
        )
    return report


def group_labels(column: pd.Series) -> Array:
    """The group of each row as text; missing values are the group ``<missing>``."""
    labels: Array = column.astype(str).to_numpy(dtype=object)
    labels[column.isna().to_numpy()] = MISSING_GROUP
    return labels


def _by_group(outcomes: Outcomes, groups: Array, names: Sequence[str]) -> dict[str, Any]:
    def scores(y_true: Array, y_pred: Array, rows: Array) -> dict[str, Any]:
        return {**compute_metrics(outcomes.subset(rows), names), "count": len(rows)}

    # One metric returning every score: fairlearn copies the arguments of each metric.
    frame = flm.MetricFrame(
        metrics={"scores": scores},
        y_true=outcomes.y,
        y_pred=outcomes.predicted,
        sensitive_features=pd.Series(groups, name="group"),
        sample_params={"scores": {"rows": np.arange(len(groups))}},
    )
    return {str(group): dict(row) for group, row in frame.by_group["scores"].items()}


def _parity(outcomes: Outcomes, groups: Array) -> dict[str, float]:
    """The parity metrics, on the (group, truth, prediction) table weighted by row counts.

    Selection and error rates depend only on those counts, so this equals the row-level
    computation while fairlearn handles a few rows instead of every row.
    """
    cells = (
        pd.DataFrame(
            {
                "group": groups,
                "truth": outcomes.y == outcomes.positive,
                "chosen": outcomes.predicted == outcomes.positive,
            }
        )
        .value_counts()
        .reset_index()
    )
    truth = cells["truth"].to_numpy(dtype=int)
    chosen = cells["chosen"].to_numpy(dtype=int)
    weight = cells["count"].to_numpy(dtype=float)
    return {
        name: float(
            function(truth, chosen, sensitive_features=cells["group"], sample_weight=weight)
        )
        for name, function in _PARITY.items()
    }
