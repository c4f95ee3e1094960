"""Profiles checked against numpy/pandas, and diffs between profiles."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.profile import diff_profiles, profile_table
from shipyard.data.tabular import infer_schema, table_from_dataframe
from shipyard.errors import ValidationError
from shipyard.examples.credit import make_credit_table

QUANTILES = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return make_credit_table(5000, seed=21)


@pytest.fixture(scope="module")
def credit_profile(credit: pd.DataFrame) -> dict[str, Any]:
    return profile_table(table_from_dataframe(credit), bins=12, top=3)


@pytest.mark.parametrize("name", ["income", "age", "debt_ratio", "late_payments_2y"], ids=str)
def test_numeric_stats_match_numpy(
    credit: pd.DataFrame, credit_profile: dict[str, Any], name: str
) -> None:
    series = credit[name]
    values = series.dropna().to_numpy(dtype=float)
    stats = credit_profile["columns"][name]

    assert stats["count"] == series.notna().sum()
    assert stats["missing"] == series.isna().sum()
    assert stats["missing_rate"] == pytest.approx(series.isna().mean())
    assert stats["distinct"] == series.nunique()
    assert stats["mean"] == pytest.approx(values.mean())
    assert stats["std"] == pytest.approx(values.std(ddof=1))
    assert (stats["min"], stats["max"]) == (values.min(), values.max())
    for key, q in QUANTILES.items():
        assert stats["quantiles"][key] == pytest.approx(np.quantile(values, q)), key
    counts, edges = np.histogram(values, bins=12, range=(values.min(), values.max()))
    assert stats["histogram"]["counts"] == counts.tolist()
    assert stats["histogram"]["edges"] == pytest.approx(edges.tolist())
    assert sum(stats["histogram"]["counts"]) == stats["count"]


@pytest.mark.parametrize("name", ["sex", "employment", "purpose"], ids=str)
def test_top_values_match_pandas(
    credit: pd.DataFrame, credit_profile: dict[str, Any], name: str
) -> None:
    expected = credit[name].astype(str).value_counts().head(3)
    stats = credit_profile["columns"][name]

    assert stats["type"] == "category"
    assert stats["top"] == [
        {"value": value, "count": int(count)} for value, count in expected.items()
    ]
    assert stats["distinct"] == credit[name].nunique()
    assert "mean" not in stats


@pytest.mark.parametrize("top", [1, 2, 3, 5], ids=lambda top: f"top{top}")
def test_top_ties_break_by_value(top: int) -> None:
    values = ["d"] * 5 + ["c", "b", "e", "a"] * 2 + ["z"]
    table = pa.table({"s": values * 3})

    result = profile_table(table, top=top)["columns"]["s"]["top"]

    expected = [("d", 15), ("a", 6), ("b", 6), ("c", 6), ("e", 6)][:top]
    assert [(item["value"], item["count"]) for item in result] == expected


def test_top_of_bools_and_strings_skips_missing() -> None:
    table = pa.table({"flag": [True, None, True, False], "s": [None, None, None, "x"]})

    columns = profile_table(table)["columns"]

    assert columns["flag"]["top"] == [{"value": True, "count": 2}, {"value": False, "count": 1}]
    assert columns["s"]["top"] == [{"value": "x", "count": 1}]
    assert (columns["s"]["missing"], columns["s"]["missing_rate"]) == (3, 0.75)


@pytest.mark.parametrize(
    "table",
    [
        pa.table({"x": pa.array([None, None], pa.float64())}),
        pa.table({"x": [float("nan"), float("inf"), 1.0]}),
        pa.table({"x": [7, 7, 7]}),
        pa.table({"x": pa.array([], pa.int64())}),
        pa.table({"x": [1.0]}),
    ],
    ids=["all-null", "nan-and-inf", "constant", "empty", "one-row"],
)
def test_profiles_are_strict_json(table: pa.Table) -> None:
    profile = profile_table(table)

    text = json.dumps(profile, allow_nan=False)
    assert json.loads(text) == profile


def test_constant_column_has_one_bin() -> None:
    stats = profile_table(pa.table({"x": [7, 7, 7]}))["columns"]["x"]

    assert stats["histogram"] == {"edges": [7.0, 7.0], "counts": [3]}
    assert stats["std"] == 0.0


@pytest.mark.parametrize(
    ("options", "match"),
    [({"bins": 0}, "bins must be"), ({"top": -1}, "top must be"), ({"bins": 2.5}, "got 2.5")],
    ids=["zero-bins", "negative-top", "float-bins"],
)
def test_bad_options_are_rejected(options: dict[str, Any], match: str) -> None:
    with pytest.raises(ValidationError, match=match):
        profile_table(pa.table({"x": [1]}), **options)


def _facts(df: pd.DataFrame) -> tuple[dict[str, Any], dict[str, Any]]:
    table = table_from_dataframe(df)
    return infer_schema(table), profile_table(table)


def _diff(old: pd.DataFrame, new: pd.DataFrame) -> dict[str, Any]:
    return diff_profiles(*_facts(old), *_facts(new))


def _changes(diff: dict[str, Any], column: str) -> dict[str, dict[str, Any]]:
    entry = next((item for item in diff["columns"] if item["column"] == column), None)
    return {change["stat"]: change for change in entry["changes"]} if entry else {}


def test_identical_inputs_report_nothing(credit: pd.DataFrame) -> None:
    diff = _diff(credit, credit.copy())

    assert diff == {
        "rows": {"old": 5000, "new": 5000, "delta": 0},
        "schema": {"added": [], "removed": [], "type_changed": []},
        "columns": [],
    }


def test_schema_changes_are_listed(credit: pd.DataFrame) -> None:
    new = credit.drop(columns=["housing"]).assign(
        score=1.0, age=credit["age"].astype(float), sex=credit["sex"].astype(str)
    )

    diff = _diff(credit, new.head(4000))

    assert diff["rows"] == {"old": 5000, "new": 4000, "delta": -1000}
    assert diff["schema"]["added"] == ["score"]
    assert diff["schema"]["removed"] == ["housing"]
    assert diff["schema"]["type_changed"] == [
        {"column": "age", "old": "int", "new": "float"},
        {"column": "sex", "old": "category", "new": "string"},
    ]
    assert all(item["column"] != "housing" for item in diff["columns"])


@pytest.mark.parametrize(
    ("shift", "reported"),
    [(0.0, False), (0.05, False), (0.2, True), (-0.5, True)],
    ids=["none", "small", "shifted", "shifted-down"],
)
def test_mean_shift_is_reported_beyond_a_tenth_of_a_std(
    credit: pd.DataFrame, shift: float, reported: bool
) -> None:
    std = credit["debt_ratio"].std()
    new = credit.assign(debt_ratio=credit["debt_ratio"] + shift * std)

    change = _changes(_diff(credit, new), "debt_ratio").get("mean")

    assert (change is not None) is reported
    if change:
        assert change["old"] == pytest.approx(credit["debt_ratio"].mean())
        assert change["delta"] == pytest.approx(shift * std)


def test_missing_rate_and_range_changes_are_reported(credit: pd.DataFrame) -> None:
    income = credit["income"].copy()
    income.iloc[:250] = np.nan
    new = credit.assign(income=income, age=credit["age"].clip(upper=60))

    diff = _diff(credit, new)

    missing = _changes(diff, "income")["missing_rate"]
    assert missing["new"] == pytest.approx(income.isna().mean())
    assert missing["delta"] > 0.01
    assert _changes(diff, "age")["max"] == {"stat": "max", "old": 75, "new": 60}
    assert "min" not in _changes(diff, "age")


def test_category_top_and_distinct_changes_are_reported(credit: pd.DataFrame) -> None:
    purpose = credit["purpose"].astype(str).where(credit["purpose"] != "education", "travel")
    purpose = purpose.where(np.arange(len(purpose)) % 4 != 0, "travel")
    new = credit.assign(purpose=pd.Categorical(purpose))

    changes = _changes(_diff(credit, new), "purpose")

    assert changes["categories"]["added"] == ["travel"]
    assert changes["categories"]["removed"] == ["education"]
    assert changes["top"]["new"] == "travel"
    assert "distinct" not in changes  # five values before and after


def test_distinct_count_change_beyond_ten_percent(credit: pd.DataFrame) -> None:
    new = credit.assign(open_accounts=credit["open_accounts"].clip(upper=4))

    changes = _changes(_diff(credit, new), "open_accounts")

    assert changes["distinct"]["old"] == credit["open_accounts"].nunique()
    assert changes["distinct"]["new"] == 5


def test_diff_against_no_table_lists_every_column_as_added(credit: pd.DataFrame) -> None:
    schema, profile = _facts(credit)

    diff = diff_profiles({}, {}, schema, profile)

    assert diff["schema"]["added"] == list(credit.columns)
    assert diff["rows"]["delta"] == 5000
