"""Permutation feature importance for any object with ``predict``.

The score whose drop measures importance: ``roc_auc`` for a binary classifier with
probabilities (when the sampled rows hold both classes), ``accuracy`` for other
classifiers, and ``neg_rmse`` (negative root mean squared error) for regression. The
scorers call only ``predict`` / ``predict_proba``, so registry wrappers work as well
as scikit-learn estimators.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from sklearn import metrics as skm
from sklearn.inspection import permutation_importance

from shipyard.registry.evaluation.metrics import Array, Outcomes

__all__ = ["importance_scoring", "permutation_ranking"]

Scorer = Callable[[Any, pd.DataFrame, Array], float]


def importance_scoring(outcomes: Outcomes, y: Array) -> tuple[str, Scorer]:
    """The name and scorer used to rank features for these outcomes and sampled truth."""
    if outcomes.classes is None:
        return "neg_rmse", _neg_rmse
    if outcomes.binary and outcomes.proba is not None and len(np.unique(y)) == 2:
        return "roc_auc", _roc_auc_scorer(outcomes.positive)
    return "accuracy", _accuracy


def permutation_ranking(
    model: Any,
    X: pd.DataFrame,
    outcomes: Outcomes,
    *,
    repeats: int,
    seed: int,
    max_rows: int,
) -> tuple[str, list[dict[str, Any]]]:
    """Rank the features of ``X``: ``[{"feature", "mean", "std"}]``, largest mean first."""
    y = outcomes.y
    if len(X) > max_rows:
        rows = np.sort(np.random.default_rng(seed).choice(len(X), size=max_rows, replace=False))
        X, y = X.iloc[rows], y[rows]
    name, scorer = importance_scoring(outcomes, y)
    if repeats == 0:
        return name, []
    found = permutation_importance(
        _Fitted(model), X, y, scoring=scorer, n_repeats=repeats, random_state=seed
    )
    ranking = sorted(
        zip(X.columns, found.importances_mean, found.importances_std, strict=True),
        key=lambda item: (-item[1], str(item[0])),
    )
    return name, [
        {"feature": str(feature), "mean": float(mean), "std": float(std)}
        for feature, mean, std in ranking
    ]


class _Fitted:
    """A trained model as scikit-learn's parameter checks want it: ``fit`` is never called."""

    def __init__(self, model: Any) -> None:
        self.model = model

    def fit(self, X: pd.DataFrame, y: Array) -> _Fitted:
        raise TypeError("evaluation never refits a model")

    def predict(self, X: pd.DataFrame) -> Any:
        return self.model.predict(X)

    def predict_proba(self, X: pd.DataFrame) -> Any:
        return self.model.predict_proba(X)


def _neg_rmse(model: Any, X: pd.DataFrame, y: Array) -> float:
    predicted = np.asarray(model.predict(X), dtype=float)
    return -float(skm.root_mean_squared_error(y, predicted))


def _accuracy(model: Any, X: pd.DataFrame, y: Array) -> float:
    return float(skm.accuracy_score(y, np.asarray(model.predict(X))))


def _roc_auc_scorer(positive: Any) -> Scorer:
    def roc_auc(model: Any, X: pd.DataFrame, y: Array) -> float:
        proba = np.asarray(model.predict_proba(X))
        return float(skm.roc_auc_score(y == positive, proba[:, 1]))

    return roc_auc
