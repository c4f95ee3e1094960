"""The compiled twin: a scikit-learn model that predicts through ONNX, proven equal first."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from sklearn.compose import make_column_transformer
from sklearn.datasets import load_breast_cancer, load_diabetes
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.data.manifest import Manifest
from shipyard.errors import IntegrityError, ValidationError
from shipyard.registry.card import card
from shipyard.registry.loaded import LARGE_BATCH
from shipyard.registry.twin import PROBA_TOLERANCE, TWIN_FILE
from shipyard.storage.content import digest_key


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, Any]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, make_pipeline(StandardScaler(), LogisticRegression()).fit(X, y)


def _log(ws: Any, model: Any, example: pd.DataFrame, name: str = "cancer") -> Any:
    with ws.start_run(name) as run:
        return run.log_model(model, name=name, example=example)


def test_a_linear_classifier_gets_a_twin_that_predicts_the_same(
    workspace: Any, cancer: tuple[pd.DataFrame, Any]
) -> None:
    X, model = cancer
    version = _log(workspace, model, X.head(5))
    assert version.details["twin"]["file"] == TWIN_FILE
    assert TWIN_FILE in _file_digests(workspace, version)
    assert "onnxruntime" in version.packages
    loaded = workspace.models.load(version.ref)
    assert loaded.has_twin
    sample = X.sample(500, replace=True, random_state=3)
    np.testing.assert_array_equal(loaded.predict(sample), model.predict(sample))
    np.testing.assert_allclose(
        loaded.predict_proba(sample), model.predict_proba(sample), rtol=PROBA_TOLERANCE, atol=1e-12
    )
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    assert loaded._raw is None  # nothing so far needed the estimator itself
    large = X.sample(LARGE_BATCH, replace=True, random_state=4)  # the estimator is faster
    np.testing.assert_array_equal(loaded.predict_proba(large), model.predict_proba(large))
    assert loaded._raw is not None
    reordered = sample[list(reversed(X.columns))]  # the full check, then the estimator
    np.testing.assert_array_equal(loaded.predict(reordered), model.predict(sample))
    assert type(loaded.raw).__name__ == "Pipeline"


def test_a_regressor_gets_a_twin_within_the_tolerance(workspace: Any) -> None:
    X, y = load_diabetes(return_X_y=True, as_frame=True)
    model = LinearRegression().fit(X, y)
    loaded = workspace.models.load(_log(workspace, model, X.head(8), "diabetes").ref)
    assert loaded.has_twin
    with pytest.raises(ValidationError, match="probabilities"):
        loaded.predict_proba(X.head(2))
    np.testing.assert_allclose(
        loaded.predict(X), model.predict(X), rtol=PROBA_TOLERANCE, atol=1e-12
    )


def test_text_columns_get_no_twin(workspace: Any) -> None:
    frame = pd.DataFrame({"city": ["a", "b", "c", "a"] * 10, "x": np.arange(40.0)})
    target = (frame["x"] > 15).astype(int)
    encode = make_column_transformer((OneHotEncoder(), ["city"]), remainder="passthrough")
    model = make_pipeline(encode, LogisticRegression()).fit(frame, target)
    version = _log(workspace, model, frame.head(5), "cities")
    assert "twin" not in version.details
    loaded = workspace.models.load(version.ref)
    assert not loaded.has_twin
    np.testing.assert_array_equal(loaded.predict(frame), model.predict(frame))


def test_a_tampered_twin_is_refused(workspace: Any, cancer: tuple[pd.DataFrame, Any]) -> None:
    X, model = cancer
    version = _log(workspace, model, X.head(5))
    digest = _file_digests(workspace, version)[TWIN_FILE]
    path = Path(workspace.blobs.backend.local_path(digest_key(digest)))
    path.chmod(0o644)
    path.write_bytes(path.read_bytes()[:-1] + b"\0")
    with pytest.raises(IntegrityError):
        workspace.models.load(version.ref)


def test_a_fresh_process_predicts_without_importing_sklearn(
    workspace: Any, workspace_dir: Path, cancer: tuple[pd.DataFrame, Any], tmp_path: Path
) -> None:
    X, model = cancer
    version = _log(workspace, model, X.head(5))
    rows = tmp_path / "rows.csv"
    X.head(20).to_csv(rows, index=False)
    probe = (
        "import sys, pandas as pd, shipyard as sy\n"
        f"m = sy.connect({str(workspace_dir)!r}).models.load({version.ref!r})\n"
        f"print(list(m.predict(pd.read_csv({str(rows)!r}))))\n"
        "print('sklearn' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    predictions, imported = done.stdout.strip().splitlines()
    assert predictions == str(list(model.predict(X.head(20))))
    assert imported == "False"


def _file_digests(workspace: Any, version: Any) -> dict[str, str]:
    manifest = Manifest.from_bytes(workspace.blobs.get_bytes(version.digest))
    return {entry.path: entry.digest for entry in manifest.entries}


def test_the_model_card_says_whether_a_twin_predicts(
    workspace: Any, cancer: tuple[pd.DataFrame, Any]
) -> None:
    X, model = cancer
    twin = _log(workspace, model, X.head(5))
    assert "compiled ONNX twin" in card(workspace.models, twin.ref)
    assert "compiled ONNX twin" in card(workspace.models, twin.ref, format="html")
    y = X["mean radius"] > 14
    forest = _log(workspace, RandomForestClassifier(n_estimators=5).fit(X, y), X.head(5), "f")
    assert "compiled ONNX twin" not in card(workspace.models, forest.ref)
