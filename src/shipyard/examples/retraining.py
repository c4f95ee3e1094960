"""The quickstart's pipeline: retrain the credit model on the newest snapshot, step by step.

Run it on its own with ``shipyard pipeline run shipyard.examples.retraining:credit_retraining
-p home=PATH``: ``ref`` defaults to ``credit@latest``, so a new snapshot re-runs every
step and an unchanged one reuses them all.
"""

from __future__ import annotations

from typing import Any

import pandas as pd

import shipyard as sy
from shipyard.examples.credit import TARGET
from shipyard.examples.training import feature_columns, make_model

Split = tuple[pd.DataFrame, pd.DataFrame]


@sy.step
def load(home: str, ref: str) -> pd.DataFrame:
    """The dataset version ``ref`` of the workspace ``home`` as a DataFrame."""
    with sy.connect(home) as ws:
        return ws.data.load(ref)


@sy.step
def split(frame: pd.DataFrame) -> Split:
    """Three quarters to train on, one to test on, stratified by the target."""
    from sklearn.model_selection import train_test_split

    train, test = train_test_split(frame, test_size=0.25, random_state=7, stratify=frame[TARGET])
    return train, test


@sy.step
def train(parts: Split, C: float) -> Any:
    """The quickstart's model, fitted on the training quarters."""
    frame = parts[0]
    numeric, categorical = feature_columns(frame)
    features = numeric + categorical
    return make_model(frame, C).fit(frame[features], frame[TARGET])


@sy.step
def score(model: Any, parts: Split) -> float:
    """Test AUC of ``model``."""
    from sklearn.metrics import roc_auc_score

    test = parts[1]
    numeric, categorical = feature_columns(test)
    scores = model.predict_proba(test[numeric + categorical])[:, 1]
    return float(roc_auc_score(test[TARGET], scores))


@sy.pipeline
def credit_retraining(home: str, ref: str = "credit@latest", C: float = 1.0) -> None:
    """Load, split, train, score."""
    parts = split(load(home, ref))
    score(train(parts, C), parts)
