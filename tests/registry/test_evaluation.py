"""Model evaluation: metrics against scikit-learn, fairness against fairlearn, importance."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

import numpy as np
import pandas as pd
import pytest
from fairlearn import metrics as flm
from sklearn import metrics as skm
from sklearn.calibration import calibration_curve
from sklearn.compose import ColumnTransformer, make_column_selector
from sklearn.datasets import make_classification, make_regression
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from shipyard.errors import ValidationError
from shipyard.examples.credit import IDENTIFIERS, SENSITIVE, TARGET, make_credit_table
from shipyard.registry.evaluation import (
    CLASSIFICATION_METRICS,
    FAIRNESS_METRICS,
    REGRESSION_METRICS,
    evaluate,
    higher_is_better,
    latency_p95_ms,
)


def _credit(rows: int, seed: int) -> pd.DataFrame:
    frame = make_credit_table(rows, seed=seed).drop(columns=list(IDENTIFIERS))
    frame["noise"] = np.random.default_rng(seed).normal(size=rows)
    return frame


def _features(frame: pd.DataFrame) -> list[str]:
    return [c for c in frame.columns if c not in (TARGET, *SENSITIVE)]


@pytest.fixture(scope="module")
def credit_model() -> Pipeline:
    train = _credit(4000, seed=7)
    prepare = ColumnTransformer(
        [
            (
                "categories",
                OneHotEncoder(handle_unknown="ignore"),
                make_column_selector(dtype_include="category"),
            ),
            (
                "numbers",
                make_pipeline(SimpleImputer(), StandardScaler()),
                make_column_selector(dtype_exclude="category"),
            ),
        ]
    )
    model = make_pipeline(prepare, LogisticRegression(max_iter=1000))
    return model.fit(train[_features(train)], train[TARGET])


@pytest.fixture(scope="module")
def holdout() -> pd.DataFrame:
    return _credit(3000, seed=11)


@pytest.fixture(scope="module")
def report(credit_model: Pipeline, holdout: pd.DataFrame) -> dict[str, Any]:
    return evaluate(credit_model, holdout, target=TARGET, sensitive=SENSITIVE)


class ProbaWrapper:
    """Not an estimator: only predict, predict_proba and classes_, like a registry wrapper."""

    def __init__(self, model: Any) -> None:
        self._model = model
        self.classes_ = list(model.classes_)
        self.seen_columns: list[str] = []

    def predict(self, X: pd.DataFrame) -> Any:
        self.seen_columns = list(X.columns)
        return self._model.predict(X)

    def predict_proba(self, X: pd.DataFrame) -> Any:
        return self._model.predict_proba(X)


class LabelsOnly:
    """A classifier that only predicts labels: no probabilities, no classes_."""

    def __init__(self, model: Any) -> None:
        self._model = model

    def predict(self, X: pd.DataFrame) -> Any:
        return self._model.predict(X)


class AllNegative:
    """Predicts class 0 for everyone, with constant probabilities."""

    classes_ = (0, 1)

    def predict(self, X: pd.DataFrame) -> Any:
        return np.zeros(len(X), dtype=int)

    def predict_proba(self, X: pd.DataFrame) -> Any:
        return np.tile([0.8, 0.2], (len(X), 1))


def test_classification_metrics_match_sklearn(
    report: dict[str, Any], credit_model: Pipeline, holdout: pd.DataFrame
) -> None:
    X, y = holdout[_features(holdout)], holdout[TARGET]
    predicted, proba = credit_model.predict(X), credit_model.predict_proba(X)[:, 1]
    metrics = report["metrics"]
    assert set(metrics) == set(CLASSIFICATION_METRICS)
    assert all(0.0 <= metrics[name] <= 1.0 for name in CLASSIFICATION_METRICS if name != "log_loss")
    assert metrics["accuracy"] == skm.accuracy_score(y, predicted)
    assert metrics["precision"] == skm.precision_score(y, predicted)
    assert metrics["recall"] == skm.recall_score(y, predicted)
    assert metrics["f1"] == skm.f1_score(y, predicted)
    assert metrics["roc_auc"] == skm.roc_auc_score(y, proba)
    assert metrics["log_loss"] == skm.log_loss(y, credit_model.predict_proba(X))
    assert metrics["roc_auc"] > 0.65
    assert report["task"] == "classification"
    assert (report["classes"], report["positive_class"], report["average"]) == ([0, 1], 1, "binary")
    assert report["rows"] == len(holdout)
    assert report["target"] == TARGET
    assert report["features"] == _features(holdout)


def test_calibration_error_matches_the_reliability_curve(
    report: dict[str, Any], credit_model: Pipeline, holdout: pd.DataFrame
) -> None:
    proba = credit_model.predict_proba(holdout[_features(holdout)])[:, 1]
    truth, mean_proba = calibration_curve(holdout[TARGET], proba, n_bins=10)
    counts, _ = np.histogram(proba, bins=np.linspace(0, 1, 11))
    weights = counts[counts > 0] / len(proba)
    expected = float(np.sum(weights * np.abs(truth - mean_proba)))
    assert report["metrics"]["calibration_error"] == pytest.approx(expected, abs=1e-12)
    assert report["metrics"]["calibration_error"] < 0.1


def test_fairness_by_group_and_parity_match_fairlearn(
    report: dict[str, Any], credit_model: Pipeline, holdout: pd.DataFrame
) -> None:
    fairness = report["fairness"]["sex"]
    by_group = fairness["by_group"]
    assert set(by_group) == {"female", "male"}
    assert sum(group["count"] for group in by_group.values()) == len(holdout)
    predicted = credit_model.predict(holdout[_features(holdout)])
    for sex, group in by_group.items():
        rows = (holdout["sex"] == sex).to_numpy()
        assert group["count"] == rows.sum()
        assert group["accuracy"] == skm.accuracy_score(holdout[TARGET][rows], predicted[rows])
        assert set(CLASSIFICATION_METRICS) <= set(group)
    direct = {
        "demographic_parity_difference": flm.demographic_parity_difference,
        "demographic_parity_ratio": flm.demographic_parity_ratio,
        "equalized_odds_difference": flm.equalized_odds_difference,
        "equalized_odds_ratio": flm.equalized_odds_ratio,
    }
    assert set(direct) == set(FAIRNESS_METRICS)
    for name, function in direct.items():
        value = function(holdout[TARGET], predicted, sensitive_features=holdout["sex"])
        assert fairness[name] == pytest.approx(value, abs=1e-12), name


def test_importance_is_sorted_and_finds_the_signal(report: dict[str, Any]) -> None:
    ranking = report["feature_importance"]
    assert [item["feature"] for item in ranking] != []
    assert {item["feature"] for item in ranking} == set(report["features"])
    means = [item["mean"] for item in ranking]
    assert means == sorted(means, reverse=True)
    place = {item["feature"]: i for i, item in enumerate(ranking)}
    assert place["debt_ratio"] < place["noise"]
    assert place["late_payments_2y"] < place["noise"]
    assert ranking[0]["feature"] in ("debt_ratio", "late_payments_2y")
    assert all(item["std"] >= 0 for item in ranking)
    assert report["importance_scoring"] == "roc_auc"


def test_report_is_strict_json(report: dict[str, Any]) -> None:
    assert json.loads(json.dumps(report, allow_nan=False)) == report


def test_undefined_values_become_none(holdout: pd.DataFrame) -> None:
    result = evaluate(AllNegative(), holdout, target=TARGET, sensitive=["sex"])
    json.dumps(result, allow_nan=False)
    assert result["fairness"]["sex"]["demographic_parity_ratio"] is None
    assert result["fairness"]["sex"]["demographic_parity_difference"] == 0.0
    assert result["metrics"]["precision"] == 0.0
    assert result["metrics"]["roc_auc"] == 0.5


def test_a_wrapper_that_is_not_an_estimator(
    report: dict[str, Any], credit_model: Pipeline, holdout: pd.DataFrame
) -> None:
    wrapper = ProbaWrapper(credit_model)
    result = evaluate(wrapper, holdout, target=TARGET, sensitive=SENSITIVE)
    assert result["metrics"] == report["metrics"]
    assert result["fairness"] == report["fairness"]
    assert wrapper.seen_columns == _features(holdout)


def test_a_model_without_probabilities(credit_model: Pipeline, holdout: pd.DataFrame) -> None:
    result = evaluate(LabelsOnly(credit_model), holdout, target=TARGET, sensitive=SENSITIVE)
    metrics = result["metrics"]
    assert metrics["roc_auc"] is None
    assert metrics["log_loss"] is None
    assert metrics["calibration_error"] is None
    assert metrics["accuracy"] > 0.5
    assert result["task"] == "classification"  # an integer target with two values
    assert result["importance_scoring"] == "accuracy"
    assert result["positive_class"] == 1


def test_regression_metrics_match_sklearn() -> None:
    X, y = make_regression(n_samples=600, n_features=4, n_informative=2, noise=5.0, random_state=1)
    frame = pd.DataFrame(X, columns=["a", "b", "c", "d"]).assign(y=y)
    frame["region"] = np.where(np.arange(600) % 3 == 0, "north", "south")
    frame.loc[:9, "region"] = None
    frame = frame.sample(frac=1.0, random_state=0)  # an index out of order changes nothing
    model = LinearRegression().fit(frame[["a", "b", "c", "d"]], frame["y"])
    result = evaluate(model, frame, target="y", sensitive=["region"])
    y, predicted = frame["y"], model.predict(frame[["a", "b", "c", "d"]])
    assert result["task"] == "regression"
    assert result["metrics"] == {
        "mae": skm.mean_absolute_error(y, predicted),
        "rmse": skm.root_mean_squared_error(y, predicted),
        "r2": skm.r2_score(y, predicted),
    }
    assert set(result["metrics"]) == set(REGRESSION_METRICS)
    fairness = result["fairness"]["region"]
    assert set(fairness["by_group"]) == {"north", "south", "<missing>"}
    assert fairness["by_group"]["<missing>"]["count"] == 10
    assert not set(FAIRNESS_METRICS) & set(fairness)
    assert "parity_skipped" in fairness
    assert result["importance_scoring"] == "neg_rmse"
    assert "classes" not in result
    assert "positive_class" not in result
    assert result["feature_importance"][-1]["mean"] < result["feature_importance"][0]["mean"]


def test_multiclass_with_text_labels() -> None:
    X, y = make_classification(
        n_samples=900, n_features=5, n_informative=3, n_classes=3, random_state=2
    )
    frame = pd.DataFrame(X, columns=list("pqrst")).assign(kind=np.array(["ant", "bee", "cat"])[y])
    frame["site"] = np.where(np.arange(900) % 2 == 0, "x", "y")
    model = LogisticRegression(max_iter=1000).fit(frame[list("pqrst")], frame["kind"])
    result = evaluate(model, frame, target="kind", sensitive=["site"])
    predicted = model.predict(frame[list("pqrst")])
    proba = model.predict_proba(frame[list("pqrst")])
    metrics = result["metrics"]
    assert metrics["f1"] == skm.f1_score(frame["kind"], predicted, average="macro")
    assert metrics["precision"] == skm.precision_score(frame["kind"], predicted, average="macro")
    assert metrics["roc_auc"] == skm.roc_auc_score(frame["kind"], proba, multi_class="ovr")
    assert result["classes"] == ["ant", "bee", "cat"]
    assert result["average"] == "macro"
    assert "positive_class" not in result
    assert "parity_skipped" in result["fairness"]["site"]
    assert 0.0 <= metrics["calibration_error"] <= 1.0


def test_features_and_sensitive_columns(credit_model: Pipeline, holdout: pd.DataFrame) -> None:
    small = holdout.iloc[:400]
    chosen = ["debt_ratio", "late_payments_2y", "sex"]
    model = make_pipeline(
        ColumnTransformer(
            [("sex", OneHotEncoder(), ["sex"])], remainder=StandardScaler(), sparse_threshold=0
        ),
        LogisticRegression(),
    ).fit(small[chosen], small[TARGET])
    result = evaluate(model, small, target=TARGET, sensitive=["sex"], features=chosen)
    assert result["features"] == chosen
    assert {item["feature"] for item in result["feature_importance"]} == set(chosen)
    default = evaluate(credit_model, small, target=TARGET, sensitive="sex", importance_repeats=1)
    assert "sex" not in default["features"]
    assert "sex" in default["fairness"]


def test_importance_sampling_is_seeded(credit_model: Pipeline, holdout: pd.DataFrame) -> None:
    small = holdout.iloc[:600]

    def run(seed: int) -> list[dict[str, Any]]:
        found = evaluate(
            credit_model,
            small,
            target=TARGET,
            importance_repeats=2,
            max_importance_rows=300,
            seed=seed,
        )["feature_importance"]
        assert isinstance(found, list)
        return found

    assert run(3) == run(3)
    assert run(3) != run(4)
    skipped = evaluate(credit_model, small, target=TARGET, importance_repeats=0)
    assert skipped["feature_importance"] == []


@pytest.mark.parametrize(
    ("change", "arguments", "message"),
    [
        (None, {"target": "missing"}, "target column 'missing' is not in the frame"),
        (None, {"sensitive": ["race", "sex", "age_band"]}, "columns 'race', 'age_band' are"),
        (None, {"features": ["age", "salary"]}, "feature column 'salary' is not in the frame"),
        ("empty", {}, "no rows"),
        ("gap", {}, "'default' has 1 missing values"),
        (None, {"task": "ranking"}, "task must be one of"),
        (None, {"features": ["age", TARGET]}, "cannot also be a feature"),
        (None, {"features": ["age", "age"]}, "features name a column twice"),
        (None, {"task": "regression", "target": "sex"}, "regression needs numeric target"),
        (None, {"importance_repeats": -1}, "importance_repeats must be an integer"),
        (None, {"max_importance_rows": 0}, "max_importance_rows must be an integer"),
    ],
)
def test_invalid_input(
    credit_model: Pipeline,
    holdout: pd.DataFrame,
    change: str | None,
    arguments: dict[str, Any],
    message: str,
) -> None:
    frame = holdout.iloc[:50].copy()
    if change == "empty":
        frame = frame.iloc[:0]
    elif change == "gap":
        frame[TARGET] = frame[TARGET].astype(float)
        frame.loc[frame.index[3], TARGET] = np.nan
    call: dict[str, Any] = {"target": TARGET, "sensitive": ["sex"], **arguments}
    with pytest.raises(ValidationError, match=message) as caught:
        evaluate(credit_model, frame, **call)
    assert "\n" not in str(caught.value)


def test_unknown_target_values_are_refused(credit_model: Pipeline, holdout: pd.DataFrame) -> None:
    frame = holdout.iloc[:50].copy()
    frame[TARGET] = frame[TARGET] + 1
    with pytest.raises(ValidationError, match=r"values the model does not know: \['2'\]"):
        evaluate(credit_model, frame, target=TARGET)


def test_latency_p95_ms(credit_model: Pipeline, holdout: pd.DataFrame) -> None:
    features = holdout[_features(holdout)]
    latency = latency_p95_ms(credit_model, features, batch=50, repeats=10)
    assert isinstance(latency, float)
    assert latency > 0.0
    assert latency_p95_ms(credit_model, features.iloc[:7], batch=20, repeats=3) > 0.0
    with pytest.raises(ValidationError, match="batch must be an integer"):
        latency_p95_ms(credit_model, features, batch=0)


def test_higher_is_better() -> None:
    assert higher_is_better("accuracy")
    assert higher_is_better("r2")
    assert higher_is_better("demographic_parity_ratio")
    for name in ("log_loss", "calibration_error", "mae", "rmse", "equalized_odds_difference"):
        assert not higher_is_better(name), name
    with pytest.raises(ValidationError, match="unknown metric 'speed'"):
        higher_is_better("speed")


def test_importing_the_package_stays_light() -> None:
    probe = (
        "import sys, shipyard.registry.evaluation\n"
        "print(sorted(m for m in ('fairlearn', 'shipyard.registry.evaluation.report')"
        " if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
