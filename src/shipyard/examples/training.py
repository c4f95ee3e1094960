"""The quickstart's model: a scikit-learn pipeline on the credit table, tracked as runs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from shipyard.examples.credit import IDENTIFIERS, SENSITIVE, TARGET

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.entities import DatasetVersion, ModelVersion
    from shipyard.tracking.active import ActiveRun
    from shipyard.workspace import Workspace

EXPERIMENT = "credit-risk"
MODEL_NAME = "credit-risk"
HOLDOUT = "credit-holdout"
SWEEP = (0.01, 0.1, 1.0)  # the regularization strengths the quickstart tries


def feature_columns(frame: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Numeric and categorical features: everything but the target, ids and the sensitive column."""
    excluded = {TARGET, *IDENTIFIERS, *SENSITIVE}
    features = [c for c in frame.columns if c not in excluded]
    numeric = [c for c in features if frame[c].dtype.kind in "if"]
    return numeric, [c for c in features if c not in numeric]


def make_model(frame: pd.DataFrame, C: float) -> Any:
    """Impute, scale and one-hot encode, then a logistic regression."""
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric, categorical = feature_columns(frame)
    prepare = ColumnTransformer(
        [
            ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), numeric),
            ("categorical", OneHotEncoder(handle_unknown="ignore"), categorical),
        ]
    )
    return make_pipeline(prepare, LogisticRegression(C=C, max_iter=1000))


@dataclass(frozen=True)
class SweepResult:
    """One trained candidate: its run, its regularization, its test AUC, its model version."""

    run_id: str
    C: float
    auc: float
    model: ModelVersion


def train_sweep(ws: Workspace, data: DatasetVersion) -> tuple[list[SweepResult], DatasetVersion]:
    """One tracked run per value of C, each logging its model; the held-out quarter of
    the rows is versioned as ``credit-holdout`` for evaluating and gating the models."""
    from sklearn.model_selection import train_test_split

    frame = ws.data.load(data.ref)
    train, test = train_test_split(frame, test_size=0.25, random_state=7, stratify=frame[TARGET])
    holdout = ws.data.add(HOLDOUT, test, message=f"held-out quarter of {data.ref}")
    numeric, categorical = feature_columns(frame)
    features = numeric + categorical
    results = []
    for C in SWEEP:
        with ws.start_run(EXPERIMENT, name=f"logreg-C{C:g}", inputs=[data]) as run:
            run.log_params({"model": "logistic_regression", "C": C, "test_size": 0.25})
            model = make_model(train, C).fit(train[features], train[TARGET])
            auc = _log_scores(run, model, test[features], test[TARGET])
            version = run.log_model(
                model,
                name=MODEL_NAME,
                example=train[features].head(5),
                description="Credit default risk of a loan applicant (demo data).",
            )
        results.append(SweepResult(run.id, C, auc, version))
    return results, holdout


def _log_scores(run: ActiveRun, model: Any, X: pd.DataFrame, y: pd.Series) -> float:
    from sklearn.metrics import accuracy_score, log_loss, roc_auc_score

    scores = model.predict_proba(X)[:, 1]
    auc = float(roc_auc_score(y, scores))
    run.log_metrics(
        {
            "auc": auc,
            "accuracy": float(accuracy_score(y, scores >= 0.5)),
            "log_loss": float(log_loss(y, scores)),
        }
    )
    return auc
