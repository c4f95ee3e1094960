"""A loaded model: numeric input goes to the estimator as one array, only when provably same."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression

from shipyard.errors import SignatureMismatch


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, LogisticRegression(max_iter=5000).fit(X, y)


def _logged(ws: Any, model: Any, X: pd.DataFrame) -> Any:
    with ws.start_run("cancer") as run:
        version = run.log_model(model, name="cancer", example=X.head(5))
    return ws.models.load(version.ref)


def test_numeric_input_takes_the_array_path_and_predicts_the_same(
    workspace: Any, cancer: tuple[pd.DataFrame, Any]
) -> None:
    X, _ = cancer
    model = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, X["mean radius"] > 14)
    loaded = _logged(workspace, model, X)
    assert not loaded.has_twin  # its ONNX graph computes in single precision: no twin
    assert loaded._array is not None  # the array shortcut proved itself on the example
    sample = X.sample(500, replace=True, random_state=1)
    np.testing.assert_array_equal(loaded.predict(sample), model.predict(sample))
    np.testing.assert_array_equal(loaded.predict_proba(sample), model.predict_proba(sample))
    reordered = sample[list(reversed(X.columns))]  # the full check reorders it
    np.testing.assert_array_equal(loaded.predict(reordered), model.predict(sample))


def test_the_array_path_never_skips_the_checks(
    workspace: Any, cancer: tuple[pd.DataFrame, Any]
) -> None:
    X, model = cancer
    loaded = _logged(workspace, model, X)
    broken = X.head(3).copy()
    broken.iloc[1, 4] = np.nan
    with pytest.raises(SignatureMismatch, match=repr(X.columns[4])):
        loaded.predict(broken)
    broken.iloc[1, 4] = np.inf
    with pytest.raises(SignatureMismatch, match="infinite"):
        loaded.predict_proba(broken)
    with pytest.raises(SignatureMismatch, match="missing column"):
        loaded.predict(X.drop(columns=[X.columns[0]]).head(2))


def test_a_model_that_needs_column_names_keeps_the_dataframe(
    workspace: Any, credit_frame: pd.DataFrame, X: pd.DataFrame, trained: Any
) -> None:
    loaded = _logged(workspace, trained, X)
    assert loaded._array is None  # categorical columns: names matter to the pipeline
    rows = X.dropna().head(50)
    np.testing.assert_array_equal(loaded.predict(rows), trained.predict(rows))


def test_a_forest_fitted_on_a_frame_takes_the_array_path(
    workspace: Any, cancer: tuple[pd.DataFrame, Any]
) -> None:
    X, _ = cancer
    forest = RandomForestClassifier(n_estimators=10, random_state=0).fit(X, X.iloc[:, 0] > 14)
    loaded = _logged(workspace, forest, X)
    assert loaded._array is not None
    np.testing.assert_array_equal(loaded.predict(X), forest.predict(X))


@pytest.mark.parametrize(
    ("value", "finite"), [(0.5, True), (1e200, True), (np.nan, False), (np.inf, False)]
)
def test_all_finite_is_exact_even_when_the_fast_sum_overflows(value: float, finite: bool) -> None:
    from shipyard.registry.signature import all_finite

    values = np.ones((50, 7))
    values[17, 3] = value
    assert all_finite(values) is finite
    assert all_finite(np.asfortranarray(values)) is finite
    assert all_finite(values[:, ::2]) is (finite or 3 % 2 == 1)
