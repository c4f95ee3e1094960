"""Drift tests on generated data: the right test per column kind and size, right verdicts."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shipyard.errors import ValidationError
from shipyard.monitoring.drift import drift_report


def population(n: int, seed: int, *, age_mean: float = 40.0, grades: list[float] | None = None):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "age": rng.normal(age_mean, 10.0, n),
            "income": rng.lognormal(10.0, 0.5, n),
            "grade": rng.choice(list("ABCD"), n, p=grades or [0.4, 0.3, 0.2, 0.1]),
            "default": rng.integers(0, 2, n),  # numbers with two values: categorical
        }
    )


def verdicts(report) -> dict[str, tuple[str, str, bool]]:
    return {c.column: (c.kind, c.test, c.drifted) for c in report.columns}


@pytest.mark.parametrize(
    ("n", "numeric_test", "categorical_test"),
    [
        (5000, "wasserstein", "jensenshannon"),
        (400, "ks", "chi2"),
    ],
)
def test_the_same_population_does_not_drift(
    n: int, numeric_test: str, categorical_test: str
) -> None:
    report = drift_report(population(n, 1), population(n, 2))
    assert verdicts(report) == {
        "age": ("numeric", numeric_test, False),
        "income": ("numeric", numeric_test, False),
        "grade": ("categorical", categorical_test, False),
        "default": ("categorical", categorical_test, False),
    }
    assert (report.drift_share, report.dataset_drift) == (0.0, False)


@pytest.mark.parametrize("n", [5000, 400])
def test_a_moved_mean_and_moved_proportions_drift(n: int) -> None:
    moved = population(n, 2, age_mean=48.0, grades=[0.1, 0.2, 0.3, 0.4])
    report = drift_report(population(n, 1), moved)
    drifted = {c.column for c in report.columns if c.drifted}
    assert drifted == {"age", "grade"}
    assert report.drift_share == 0.5
    assert report.dataset_drift is True  # half the columns, at the default share of 0.5
    assert drift_report(population(n, 1), moved, drift_share=0.75).dataset_drift is False


def test_statistics_and_thresholds_are_reported() -> None:
    report = drift_report(population(300, 1), population(300, 3, age_mean=60.0))
    age = next(c for c in report.columns if c.column == "age")
    assert (age.test, age.threshold, age.drifted) == ("ks", 0.05, True)
    assert 0 <= age.statistic < 1e-6  # a p-value
    large = drift_report(population(3000, 1), population(3000, 3, age_mean=60.0))
    age = next(c for c in large.columns if c.column == "age")
    assert (age.test, age.threshold) == ("wasserstein", 0.1)
    assert age.statistic == pytest.approx(2.0, rel=0.1)  # 20 years over a spread of 10
    doc = large.to_dict()
    assert set(doc) >= {"drift_share", "dataset_drift", "columns"}
    assert set(doc["columns"][0]) == {"column", "kind", "test", "statistic", "threshold", "drifted"}


def test_missing_values_constant_columns_and_column_choice() -> None:
    ref = pd.DataFrame({"x": [1.0, np.nan] * 10 + list(range(10)), "same": [3.0] * 30})
    cur = ref.copy()
    cur["gone"] = np.nan
    ref["gone"] = np.nan
    report = drift_report(ref, cur)
    assert {c.column: c.drifted for c in report.columns} == {"x": False, "same": False}
    assert report.skipped == [{"column": "gone", "reason": "no values in the reference"}]
    shifted = cur.assign(same=7.0)
    assert verdicts(drift_report(ref, shifted, columns=["same"])) == {
        "same": ("categorical", "chi2", True)
    }
    with pytest.raises(ValidationError, match="not in both tables: nope"):
        drift_report(ref, cur, columns=["nope"])
    with pytest.raises(ValidationError, match="share no column"):
        drift_report(ref, pd.DataFrame({"other": [1]}))
    with pytest.raises(ValidationError, match="no column has values"):
        drift_report(ref[["gone"]], cur[["gone"]])
    with pytest.raises(ValidationError, match="drift share"):
        drift_report(ref, cur, drift_share=0)


def test_a_constant_numeric_column_that_moves_drifts() -> None:
    values = np.linspace(0, 1, 2000)
    ref = pd.DataFrame({"v": values, "c": np.full(2000, 5.0) + (values > 2)})
    cur = pd.DataFrame({"v": values, "c": np.full(2000, 6.0)})
    found = verdicts(drift_report(ref, cur))
    assert found["v"] == ("numeric", "wasserstein", False)
    assert found["c"][2] is True


def test_an_int_column_and_its_float_twin_do_not_drift() -> None:
    ints = pd.DataFrame({"k": [1, 2, 3] * 100})
    floats = pd.DataFrame({"k": [1.0, 2.0, 3.0] * 100 + [np.nan]})  # a gap makes it float
    assert verdicts(drift_report(ints, floats)) == {"k": ("categorical", "chi2", False)}
