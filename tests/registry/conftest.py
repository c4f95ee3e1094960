"""Fixtures for registry tests: a workspace on each metadata store, the credit data, a model.

The data and the trained models are built once per session (they are plain objects,
never written to); every workspace is fresh per test, on SQLite and on PostgreSQL
(``store_url`` in the top-level conftest), so each registry test runs on both.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

from shipyard.entities import DatasetVersion, ModelVersion
from shipyard.examples.credit import TARGET, make_credit_table
from shipyard.examples.training import feature_columns, make_model
from shipyard.registry.service import ModelService

CREDIT_ROWS = 2000
HOLDOUT_ROWS = 600  # evaluations run permutation importance: keep gated promotions quick

LogModel = Callable[..., ModelVersion]


@pytest.fixture(scope="session")
def credit_frame() -> pd.DataFrame:
    """The training table: 2000 synthetic loan applicants (income has a few gaps)."""
    return make_credit_table(CREDIT_ROWS, seed=7)


@pytest.fixture(scope="session")
def holdout_frame() -> pd.DataFrame:
    """Labelled applicants the models never saw, for evaluations and gated promotions."""
    return make_credit_table(HOLDOUT_ROWS, seed=11)


@pytest.fixture(scope="session")
def features(credit_frame: pd.DataFrame) -> list[str]:
    """The model's input columns: numeric then categorical (no ids, no target, no sex)."""
    numeric, categorical = feature_columns(credit_frame)
    return numeric + categorical


@pytest.fixture(scope="session")
def X(credit_frame: pd.DataFrame, features: list[str]) -> pd.DataFrame:
    """The training inputs."""
    return credit_frame[features]


@pytest.fixture(scope="session")
def trained(credit_frame: pd.DataFrame, X: pd.DataFrame) -> Any:
    """The quickstart's pipeline (impute, scale, one-hot, logistic regression), fitted."""
    return make_model(credit_frame, C=1.0).fit(X, credit_frame[TARGET])


@pytest.fixture
def ws(workspace: Any) -> Any:
    """A fresh embedded workspace (its user holds "admin"), on SQLite and on PostgreSQL."""
    return workspace


@pytest.fixture
def credit_data(ws: Any, credit_frame: pd.DataFrame) -> DatasetVersion:
    """The training table added to ``ws`` as dataset ``credit``."""
    version: DatasetVersion = ws.data.add("credit", credit_frame)
    return version


@pytest.fixture
def log_model(ws: Any, credit_data: DatasetVersion, trained: Any, X: pd.DataFrame) -> LogModel:
    """``log_model(model=trained, name="credit", **options)``: register a model from a run
    of experiment ``credit-risk`` that read ``credit_data`` (20 example rows)."""

    def log(
        model: Any = None,
        *,
        name: str = "credit",
        example: Any = None,
        **options: Any,
    ) -> ModelVersion:
        with ws.start_run("credit-risk", inputs=[credit_data]) as run:
            version: ModelVersion = run.log_model(
                trained if model is None else model,
                name=name,
                example=X.head(20) if example is None else example,
                **options,
            )
        return version

    return log


@pytest.fixture
def as_role(ws: Any) -> Callable[[str, str], ModelService]:
    """``as_role("erin", "editor")``: the registry of ``ws`` acting as another user."""

    def models(actor: str, role: str) -> ModelService:
        service: ModelService = ws._platform.as_actor(actor, role).models
        return service

    return models
