"""shipyard.autolog(): scikit-learn fits recorded without changing the training code."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import shipyard
from shipyard.examples.credit import make_credit_table

FEATURES = ["age", "income", "debt_ratio", "late_payments_2y"]


@pytest.fixture
def autologging() -> Iterator[None]:
    shipyard.autolog()
    yield
    shipyard.autolog(disable=True)


@pytest.fixture
def credit(workspace: Any, tmp_path: Path) -> Any:
    frame = make_credit_table(400, seed=5).dropna()
    return workspace.data.add("credit", frame)


def test_a_fit_inside_a_run_logs_params_score_and_the_dataset(
    workspace: Any, credit: Any, autologging: None
) -> None:
    frame = workspace.data.load(credit.ref)
    X, y = frame[FEATURES], frame["default"]  # a selection still knows its dataset
    with workspace.start_run("credit") as run:
        model = LogisticRegression(C=0.5, max_iter=500).fit(X, y)
    stored = workspace.runs.get(run.id)
    assert stored.params["C"] == "0.5"
    assert stored.params["estimator"] == "LogisticRegression"
    assert stored.metrics["training_score"] == pytest.approx(model.score(X, y))
    assert stored.inputs == [credit.ref]


def test_a_pipeline_is_logged_once_not_per_step(
    workspace: Any, credit: Any, autologging: None
) -> None:
    frame = workspace.data.load(credit.ref)
    with workspace.start_run("credit") as run:
        make_pipeline(StandardScaler(), LogisticRegression()).fit(frame[FEATURES], frame["default"])
    params = workspace.runs.get(run.id).params
    assert params["estimator"] == "Pipeline"
    assert "with_mean" not in params  # the scaler's own params were not logged


def test_a_fit_outside_a_run_gets_its_own(
    workspace: Any,
    workspace_dir: Path,
    credit: Any,
    autologging: None,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(workspace_dir)
    frame = workspace.data.load(credit.ref)
    LogisticRegression(max_iter=2000).fit(frame[FEATURES], frame["default"])
    runs = workspace.runs.search(experiment="autolog")
    assert [(r.name, r.status, r.inputs) for r in runs] == [
        ("LogisticRegression", "finished", [credit.ref])
    ]


def test_disable_restores_plain_fits(workspace: Any, workspace_dir: Path, credit: Any) -> None:
    shipyard.autolog()
    shipyard.autolog(disable=True)
    frame = workspace.data.load(credit.ref)
    with workspace.start_run("credit") as run:
        LogisticRegression(max_iter=2000).fit(frame[FEATURES], frame["default"])
    assert workspace.runs.get(run.id).params == {}


def test_the_fitted_model_is_registered_with_its_lineage(
    workspace: Any, credit: Any, autologging: None
) -> None:
    frame = workspace.data.load(credit.ref)
    X, y = frame[FEATURES], frame["default"]
    with workspace.start_run("credit") as run:
        model = LogisticRegression(max_iter=500).fit(X, y)
    ref = workspace.runs.get(run.id).tags["shipyard.autolog.model"]
    assert ref == "LogisticRegression@v1"
    loaded = workspace.models.load(ref)
    assert (loaded.predict(X) == model.predict(X)).all()
    lineage = workspace.models.lineage(ref)
    assert lineage["run"]["id"] == run.id
    assert [d["ref"] for d in lineage["datasets"]] == [credit.ref]


def test_a_model_that_cannot_be_saved_safely_becomes_a_tag(
    workspace: Any, credit: Any, autologging: None
) -> None:
    from sklearn.preprocessing import FunctionTransformer

    frame = workspace.data.load(credit.ref)
    with workspace.start_run("credit") as run:
        make_pipeline(FunctionTransformer(_double), LogisticRegression(max_iter=2000)).fit(
            frame[FEATURES], frame["default"]
        )
    tag = workspace.runs.get(run.id).tags["shipyard.autolog.model"]
    assert tag.startswith("not registered:")
    assert "trust=True" in tag
    assert workspace.models.list() == []


def _double(values: Any) -> Any:
    return values * 2
