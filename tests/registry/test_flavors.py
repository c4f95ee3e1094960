"""Saving and loading models in each flavor: the same predictions, and safety kept."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import lightgbm as lgb
import numpy as np
import onnxruntime as ort
import pandas as pd
import pytest
import xgboost as xgb
from skl2onnx import to_onnx
from sklearn.compose import ColumnTransformer
from sklearn.datasets import load_breast_cancer, make_classification, make_regression
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from shipyard.errors import IntegrityError, ValidationError
from shipyard.registry.flavors import SavedModel, detect_flavor, load_model, save_model


def double(X: Any) -> Any:
    """A function of the user's: skops cannot load it safely."""
    return X * 2


class Doubler:
    """A model of the user's own class."""

    def predict(self, X: Any) -> Any:
        return np.asarray(X).sum(axis=1) * 2


@pytest.fixture(scope="module")
def cancer() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True, as_frame=True)
    return X, y.to_numpy()


@pytest.fixture(scope="module")
def three_classes() -> tuple[pd.DataFrame, np.ndarray]:
    X, y = make_classification(300, 6, n_informative=4, n_classes=3, random_state=0)
    names = np.array(["ant", "bee", "cat"])
    return pd.DataFrame(X, columns=[f"f{i}" for i in range(6)]), names[y]


@pytest.fixture(scope="module")
def regression() -> tuple[np.ndarray, np.ndarray]:
    return make_regression(200, 5, noise=0.1, random_state=0)


def roundtrip(model: Any, folder: Path, *, trust: bool = False) -> tuple[SavedModel, Any]:
    """Save ``model``, check only its files were written, and load it from their bytes."""
    saved = save_model(model, folder, trust=trust)
    assert sorted(p.name for p in folder.iterdir()) == sorted(saved.files)
    files = {name: (folder / name).read_bytes() for name in saved.files}
    return saved, load_model(files, saved, trust=trust)


def classifier(*steps: Any) -> Pipeline:
    """``steps``, then scaling and a logistic regression."""
    return make_pipeline(*steps, StandardScaler(), LogisticRegression(max_iter=500))


def assert_same(original: Any, loaded: Any, X: Any, *, proba: bool = True) -> None:
    np.testing.assert_array_equal(loaded.predict(X), original.predict(X))
    if proba:
        np.testing.assert_array_equal(loaded.predict_proba(X), original.predict_proba(X))


# sklearn ---------------------------------------------------------------------------


def test_pipeline_roundtrips_as_safe_sklearn(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = classifier().fit(X, y)
    saved, loaded = roundtrip(model, tmp_path)
    assert (saved.flavor, saved.safe, saved.files) == ("sklearn", True, ("model.skops",))
    assert saved.details == {"format": "skops", "trusted_types": []}
    assert {"scikit-learn", "skops", "numpy", "scipy"} <= saved.packages.keys()
    assert isinstance(loaded, Pipeline)
    assert_same(model, loaded, X)


def test_sklearn_records_trusted_types(tmp_path: Path, three_classes: Any) -> None:
    X, y = three_classes
    model = RandomForestClassifier(n_estimators=5, random_state=0).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path)
    assert saved.details["trusted_types"] == ["sklearn.tree._tree.Tree"]
    assert_same(model, loaded, X)


def test_user_function_is_refused_without_trust(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = classifier(FunctionTransformer(double)).fit(X, y)
    with pytest.raises(ValidationError, match=r"cannot be saved safely.*trust=True") as error:
        save_model(model, tmp_path)
    assert "test_flavors.double" in error.value.message
    assert "\n" not in error.value.message
    assert list(tmp_path.iterdir()) == []


def test_user_function_is_cloudpickled_with_trust(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = classifier(FunctionTransformer(double)).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path, trust=True)
    assert (saved.flavor, saved.safe, saved.files) == ("cloudpickle", False, ("model.pkl",))
    assert "test_flavors.double" in saved.details["reason"]
    assert {"cloudpickle", "scikit-learn"} <= saved.packages.keys()
    assert_same(model, loaded, X)


def test_lambda_is_refused_without_trust(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = classifier(FunctionTransformer(lambda v: v))
    with pytest.raises(ValidationError, match="<lambda>"):
        save_model(model.fit(X, y), tmp_path)


def test_sklearn_load_refuses_unsafe_recorded_types(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    saved = save_model(classifier().fit(X, y), tmp_path)
    forged = SavedModel("sklearn", saved.files, True, {"trusted_types": ["os.system"]}, {})
    files = {"model.skops": (tmp_path / "model.skops").read_bytes()}
    with pytest.raises(ValidationError, match="not safe to load"):
        load_model(files, forged)


def test_sklearn_load_refuses_types_not_recorded(tmp_path: Path, three_classes: Any) -> None:
    X, y = three_classes
    saved = save_model(RandomForestClassifier(n_estimators=2).fit(X, y), tmp_path)
    forged = SavedModel("sklearn", saved.files, True, {"trusted_types": []}, {})
    with pytest.raises(IntegrityError, match="not recorded"):
        load_model({"model.skops": (tmp_path / "model.skops").read_bytes()}, forged)


# lightgbm --------------------------------------------------------------------------


def test_lightgbm_binary_classifier(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path)
    assert (saved.flavor, saved.safe, saved.files) == ("lightgbm", True, ("model.txt",))
    assert saved.details["objective"] == "binary"
    assert {"lightgbm", "numpy"} <= saved.packages.keys()
    assert_same(model, loaded, X)
    np.testing.assert_array_equal(loaded.classes_, model.classes_)
    np.testing.assert_array_equal(loaded.feature_names_in_, model.feature_names_in_)
    assert loaded.booster.feature_name() == model.booster_.feature_name()


def test_lightgbm_multiclass_with_string_labels(tmp_path: Path, three_classes: Any) -> None:
    X, y = three_classes
    model = lgb.LGBMClassifier(n_estimators=20, verbose=-1).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path)
    assert saved.details["classes"] == ["ant", "bee", "cat"]
    assert_same(model, loaded, X)
    assert loaded.predict(X).dtype == model.predict(X).dtype


def test_lightgbm_regressor_and_booster(tmp_path: Path, regression: Any) -> None:
    X, y = regression
    model = lgb.LGBMRegressor(n_estimators=20, verbose=-1).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path / "estimator")
    assert not hasattr(loaded, "predict_proba")
    assert_same(model, loaded, X, proba=False)
    params = {"objective": "regression", "verbose": -1}
    booster = lgb.train(params, lgb.Dataset(X, y), num_boost_round=10)
    saved, loaded = roundtrip(booster, tmp_path / "booster")
    assert saved.details["kind"] == "booster"
    assert isinstance(loaded, lgb.Booster)
    assert_same(booster, loaded, X, proba=False)


def test_pipeline_around_lightgbm_needs_trust(tmp_path: Path, cancer: Any) -> None:
    X, y = cancer
    model = make_pipeline(StandardScaler(), lgb.LGBMClassifier(n_estimators=5, verbose=-1))
    with pytest.raises(ValidationError, match="lightgbm.sklearn.LGBMClassifier"):
        save_model(model.fit(X, y), tmp_path)
    saved, loaded = roundtrip(model, tmp_path, trust=True)
    assert saved.flavor == "cloudpickle"
    assert {"cloudpickle", "scikit-learn", "lightgbm"} <= saved.packages.keys()
    assert_same(model, loaded, X)


# xgboost ---------------------------------------------------------------------------


def test_xgboost_classifiers(tmp_path: Path, cancer: Any, regression: Any) -> None:
    X, y = cancer
    model = xgb.XGBClassifier(n_estimators=10, max_depth=3).fit(X, y)
    saved, loaded = roundtrip(model, tmp_path / "binary")
    assert (saved.flavor, saved.safe, saved.files) == ("xgboost", True, ("model.ubj",))
    assert {"xgboost", "numpy", "scikit-learn"} <= saved.packages.keys()
    assert type(loaded) is xgb.XGBClassifier
    assert_same(model, loaded, X)
    X3, y3 = make_classification(200, 5, n_informative=3, n_classes=3, random_state=0)
    model = xgb.XGBClassifier(n_estimators=10).fit(X3, y3)
    saved, loaded = roundtrip(model, tmp_path / "multiclass")
    assert saved.details["objective"] == "multi:softprob"
    assert_same(model, loaded, X3)


def test_xgboost_regressor_and_booster(tmp_path: Path, regression: Any) -> None:
    X, y = regression
    model = xgb.XGBRegressor(n_estimators=10).fit(X, y)
    _, loaded = roundtrip(model, tmp_path / "estimator")
    assert_same(model, loaded, X, proba=False)
    booster = xgb.train({"max_depth": 3}, xgb.DMatrix(X, y), num_boost_round=5)
    saved, loaded = roundtrip(booster, tmp_path / "booster")
    assert saved.details["estimator"] == "Booster"
    np.testing.assert_array_equal(loaded.predict(xgb.DMatrix(X)), booster.predict(xgb.DMatrix(X)))


# onnx ------------------------------------------------------------------------------


def run_onnx(proto: Any, feed: dict[str, Any]) -> list[Any]:
    """The outputs of ``proto`` run directly by onnxruntime."""
    session = ort.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
    return list(session.run(None, feed))


@pytest.mark.parametrize("zipmap", [True, False])
def test_onnx_classifier(tmp_path: Path, cancer: Any, zipmap: bool) -> None:
    X, y = cancer
    X32 = X.to_numpy(dtype=np.float32)
    sk = classifier().fit(X32, y)
    proto = to_onnx(sk, X32[:1], options={"zipmap": zipmap})
    saved, loaded = roundtrip(proto, tmp_path)
    assert (saved.flavor, saved.safe, saved.files) == ("onnx", True, ("model.onnx",))
    assert {"onnxruntime", "numpy"} <= saved.packages.keys()
    labels, probabilities = run_onnx(proto, {"X": X32})
    if zipmap:
        probabilities = np.array([[row[0], row[1]] for row in probabilities], dtype=np.float32)
    np.testing.assert_array_equal(loaded.predict(X), labels)
    np.testing.assert_array_equal(loaded.predict_proba(X32), probabilities)
    np.testing.assert_array_equal(loaded.predict(X), sk.predict(X32))
    np.testing.assert_allclose(loaded.predict_proba(X), sk.predict_proba(X32), atol=1e-5)


def test_onnx_regressor_from_bytes(tmp_path: Path, regression: Any) -> None:
    X, y = regression
    X32 = X.astype(np.float32)
    data = to_onnx(LinearRegression().fit(X32, y), X32[:1]).SerializeToString()
    assert detect_flavor(data) == "onnx"
    saved, loaded = roundtrip(data, tmp_path)
    assert saved.flavor == "onnx"
    assert not hasattr(loaded, "predict_proba")
    session = ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    np.testing.assert_array_equal(loaded.predict(X), session.run(None, {"X": X32})[0].ravel())


def test_onnx_with_named_inputs(tmp_path: Path, regression: Any) -> None:
    X, y = regression
    frame = pd.DataFrame(X[:, :2].astype(np.float32), columns=["a", "b"])
    sk = Pipeline(
        [
            ("scale", ColumnTransformer([("num", StandardScaler(), ["a", "b"])])),
            ("fit", LinearRegression()),
        ]
    ).fit(frame, y)
    proto = to_onnx(sk, frame[:1])
    _, loaded = roundtrip(proto, tmp_path)
    assert loaded.input_names == ["a", "b"]
    feed = {name: frame[[name]].to_numpy() for name in ["a", "b"]}
    expected = run_onnx(proto, feed)[0].ravel()
    np.testing.assert_array_equal(loaded.predict(frame[["b", "a"]]), expected)
    np.testing.assert_array_equal(loaded.predict(frame.to_numpy()), expected)
    with pytest.raises(ValidationError, match="lacks the columns b"):
        loaded.predict(frame[["a"]])


# cloudpickle and refusals ----------------------------------------------------------


def test_own_class_needs_trust_to_save_and_load(tmp_path: Path) -> None:
    X = np.arange(6.0).reshape(3, 2)
    with pytest.raises(ValidationError, match="cannot be saved safely"):
        save_model(Doubler(), tmp_path)
    saved, loaded = roundtrip(Doubler(), tmp_path, trust=True)
    assert (saved.flavor, saved.safe) == ("cloudpickle", False)
    assert saved.details["class"] == "test_flavors.Doubler"
    np.testing.assert_array_equal(loaded.predict(X), Doubler().predict(X))
    files = {"model.pkl": (tmp_path / "model.pkl").read_bytes()}
    with pytest.raises(ValidationError, match=r"unsafe format.*trust=True"):
        load_model(files, saved)


@pytest.mark.parametrize("trust", [False, True])
def test_object_without_predict_is_refused(tmp_path: Path, trust: bool) -> None:
    with pytest.raises(ValidationError, match="no predict method"):
        save_model({"weights": [1, 2]}, tmp_path, trust=trust)


def test_detect_flavor(cancer: Any) -> None:
    X, y = cancer
    assert detect_flavor(LogisticRegression()) == "sklearn"
    assert detect_flavor(lgb.LGBMRegressor()) == "lightgbm"
    assert detect_flavor(xgb.XGBRegressor()) == "xgboost"
    assert detect_flavor(Doubler()) is None
    assert detect_flavor(b"not a model") is None


def test_load_refuses_unknown_flavor_and_missing_file() -> None:
    with pytest.raises(ValidationError, match="unknown model flavor 'pickle'"):
        load_model({}, SavedModel("pickle", (), False, {}, {}))
    with pytest.raises(IntegrityError, match="lacks its file model.skops"):
        load_model({}, SavedModel("sklearn", ("model.skops",), True, {"trusted_types": []}, {}))


def test_sklearn_path_imports_no_other_model_library(tmp_path: Path) -> None:
    script = f"""
import sys
from pathlib import Path
from sklearn.linear_model import LinearRegression
from shipyard.registry.flavors import load_model, save_model
folder = Path({str(tmp_path)!r})
saved = save_model(LinearRegression().fit([[0.0], [1.0]], [0.0, 1.0]), folder)
load_model({{"model.skops": (folder / "model.skops").read_bytes()}}, saved)
print(sorted(m for m in ("lightgbm", "xgboost", "onnxruntime", "onnx") if m in sys.modules))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
