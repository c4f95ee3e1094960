"""A registered credit model in a fresh workspace, and a live server for it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pandas as pd
import pytest

from live_server import LiveServer
from shipyard.examples.credit import TARGET, make_credit_table
from shipyard.examples.training import feature_columns, make_model
from shipyard.registry.loaded import LoadedModel
from shipyard.serving.app import ModelServer
from shipyard.workspace import init_workspace, open_local


@pytest.fixture(scope="session")
def credit() -> pd.DataFrame:
    return make_credit_table(600, seed=3)


@pytest.fixture(scope="session")
def features(credit: pd.DataFrame) -> list[str]:
    numeric, categorical = feature_columns(credit)
    return numeric + categorical


@pytest.fixture(scope="session")
def served_home(
    tmp_path_factory: pytest.TempPathFactory, credit: pd.DataFrame, features: list[str]
) -> Path:
    """A workspace holding credit-risk@v1 (a pipeline of scaling, one-hot, logistic
    regression), aliased champion."""
    root = tmp_path_factory.mktemp("serving")
    init_workspace(root)
    model = make_model(credit, C=1.0).fit(credit[features], credit[TARGET])
    with open_local(root) as ws, ws.start_run("serving") as run:
        version = run.log_model(model, name="credit-risk", example=credit[features].head(5))
    with open_local(root) as ws:
        ws.models.promote("credit-risk", version.version, alias="champion")
    return root


@pytest.fixture(scope="session")
def model(served_home: Path) -> LoadedModel:
    with open_local(served_home) as ws:
        return ws.models.load("credit-risk@champion")


@pytest.fixture
def client(model: LoadedModel) -> Iterator[httpx.Client]:
    with LiveServer(ModelServer(model).app()) as url, httpx.Client(base_url=url) as http:
        yield http
