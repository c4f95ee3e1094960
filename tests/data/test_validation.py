"""Rules: each kind passing and failing, malformed rules files, inferred rules."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.profile import profile_table
from shipyard.data.tabular import infer_schema, table_from_dataframe
from shipyard.data.validation import (
    ColumnRules,
    RuleSet,
    ValidationReport,
    load_rules,
    rules_from_schema,
    validate_table,
)
from shipyard.errors import NotFound, ValidationError
from shipyard.examples.credit import make_credit_table

TABLE = pa.table(
    {
        "age": [34, 17, 52, 101, 40, 12],
        "sex": pa.array(["female", "male", "male", "other", None, "female"]).dictionary_encode(),
        "income": [1000.0, None, 2500.0, float("nan"), 3100.0, 900.0],
        "applicant_id": [1, 2, 3, 2, 5, 1],
        "code": ["a", "b", "c", "d", "e", "f"],
        "signed": [dt.date(2021, 3, 1), dt.date(2019, 12, 31), None, None, None, None],
    }
)


def _rules(**columns: dict[str, Any]) -> RuleSet:
    return RuleSet.from_dict({"columns": columns})


@pytest.mark.parametrize(
    ("column", "rule", "count", "rows", "values"),
    [
        ("age", {"min": 18}, 2, [1, 5], [17, 12]),
        ("age", {"max": 100}, 1, [3], [101]),
        ("sex", {"allowed": ["female", "male"]}, 1, [3], ["other"]),
        ("sex", {"nullable": False}, 1, [4], [None]),
        ("income", {"nullable": False}, 2, [1, 3], [None, None]),
        ("income", {"max_missing": 0.2}, 2, [1, 3], [None, None]),
        ("applicant_id", {"unique": True}, 4, [0, 1, 3, 5], [1, 2, 2, 1]),
        ("code", {"type": "int"}, 6, [0, 1, 2, 3, 4], ["a", "b", "c", "d", "e"]),
        ("signed", {"min": "2020-01-01"}, 1, [1], ["2019-12-31"]),
    ],
    ids=[
        "min",
        "max",
        "allowed",
        "nullable",
        "nullable-nan",
        "max-missing",
        "unique",
        "type",
        "date-min",
    ],
)
def test_each_rule_reports_offending_rows(
    column: str, rule: dict[str, Any], count: int, rows: list[int], values: list[Any]
) -> None:
    report = validate_table(TABLE, _rules(**{column: rule}))

    assert report.ok is False
    [failure] = report.failures
    assert (failure.column, failure.rule, failure.count) == (column, next(iter(rule)), count)
    assert failure.examples == [
        {"row": row, "value": value} for row, value in zip(rows, values, strict=True)
    ]
    assert failure.message.startswith(f"column {column!r} must ")


@pytest.mark.parametrize(
    ("column", "rule"),
    [
        ("age", {"min": 10, "max": 101, "type": "int", "nullable": False}),
        ("age", {"type": "float"}),
        ("sex", {"allowed": ["female", "male", "other"], "type": "string"}),
        ("income", {"max_missing": 0.34, "min": 900, "max": 3100.0}),
        ("code", {"unique": True, "type": "category", "required": True}),
        ("signed", {"type": "date", "min": dt.date(2019, 12, 31), "max": "2021-03-01"}),
        ("absent", {"min": 3}),
    ],
    ids=[
        "int-rules",
        "float-accepts-int",
        "string-accepts-category",
        "float-rules",
        "unique-required",
        "date-bounds",
        "absent-not-required",
    ],
)
def test_rules_that_hold_pass(column: str, rule: dict[str, Any]) -> None:
    report = validate_table(TABLE, _rules(**{column: rule}))

    assert report == ValidationReport(ok=True, failures=[])


def test_required_column_missing_fails() -> None:
    report = validate_table(TABLE, _rules(score={"required": True, "min": 0}))

    [failure] = report.failures
    assert (failure.column, failure.rule, failure.count) == ("score", "required", 6)
    assert "column 'score' is required" in failure.message


def test_bound_on_text_column_fails_instead_of_crashing() -> None:
    report = validate_table(TABLE, _rules(code={"min": 3}))

    [failure] = report.failures
    assert (failure.rule, failure.count) == ("min", 6)
    assert "cannot be compared" in failure.message


def test_report_is_json_with_failures_in_rule_order() -> None:
    rules = _rules(age={"max": 100, "min": 18}, sex={"allowed": ["female"], "nullable": False})

    report = validate_table(TABLE, rules).to_dict()

    assert json.loads(json.dumps(report)) == report
    assert report["ok"] is False
    assert [(item["column"], item["rule"]) for item in report["failures"]] == [
        ("age", "min"),
        ("age", "max"),
        ("sex", "nullable"),
        ("sex", "allowed"),
    ]


def test_examples_stop_at_five() -> None:
    table = pa.table({"x": list(range(100))})

    [failure] = validate_table(table, _rules(x={"max": 10})).failures

    assert failure.count == 89
    assert [example["row"] for example in failure.examples] == [11, 12, 13, 14, 15]


def test_yaml_rules_file_is_read(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(
        "columns:\n"
        "  age: {type: int, required: true, nullable: false, min: 18, max: 100}\n"
        "  sex: {allowed: [female, male]}\n"
        "  applicant_id: {unique: true}\n"
        "  income: {max_missing: 0.05}\n"
        "  signed: {type: date, min: 2020-01-01}\n"
    )

    rules = load_rules(path)

    assert rules.columns == {
        "age": ColumnRules(type="int", required=True, nullable=False, min=18, max=100),
        "sex": ColumnRules(allowed=("female", "male")),
        "applicant_id": ColumnRules(unique=True),
        "income": ColumnRules(max_missing=0.05),
        "signed": ColumnRules(type="date", min=dt.date(2020, 1, 1)),
    }
    stored = json.loads(json.dumps(rules.to_dict()))
    assert stored["columns"]["signed"] == {"type": "date", "min": "2020-01-01"}
    assert RuleSet.from_dict(stored) == rules


@pytest.mark.parametrize(
    ("text", "column", "key", "fragment"),
    [
        ("columns:\n  age: {minimum: 3}\n", "age", "minimum", "did you mean 'min'?"),
        (
            "columns:\n  age: {min: abc}\n",
            "age",
            "min",
            "must be a number or a date (like 2024-01-31), got 'abc' instead",
        ),
        ("columns:\n  age: {type: integer}\n", "age", "type", "must be one of int, float"),
        ("columns:\n  age: {required: 'yes'}\n", "age", "required", "must be true or false"),
        ("columns:\n  age: {max_missing: 2}\n", "age", "max_missing", "a share from 0 to 1"),
        (
            "columns:\n  sex: {allowed: []}\n",
            "sex",
            "allowed",
            "must be a non-empty list of values, got [] instead",
        ),
        ("columns:\n  age: {min: 9, max: 1}\n", "age", "min", "min must not exceed max"),
        ("columns:\n  age: 18\n", "age", None, "must be a mapping of rule: value, got 18"),
        ("columns: [age]\n", None, "columns", "must map column names to rules"),
        ("age: {min: 1}\n", None, None, "one key 'columns', got ['age']"),
        ("", None, None, "got None instead"),
    ],
    ids=[
        "unknown-rule",
        "min-not-number",
        "unknown-type",
        "flag-not-bool",
        "share-above-one",
        "empty-allowed",
        "min-above-max",
        "column-not-mapping",
        "columns-not-mapping",
        "no-columns-key",
        "empty-file",
    ],
)
def test_malformed_rules_name_file_column_and_key(
    tmp_path: Path, text: str, column: str | None, key: str | None, fragment: str
) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text(text)

    with pytest.raises(ValidationError) as caught:
        load_rules(path)

    message = caught.value.message
    assert message.startswith("rules.yaml")
    assert fragment in message
    assert (f"column {column!r}" in message) is (column is not None)
    assert (f"key {key!r}" in message) is (key is not None)
    [detail] = caught.value.details
    assert (detail["file"], detail["column"], detail["key"]) == ("rules.yaml", column, key)


def test_bad_yaml_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("columns:\n  age: {min: 1\n  sex: [a, b\n")

    with pytest.raises(ValidationError, match=r"^rules\.yaml: not valid YAML at line \d+"):
        load_rules(path)


def test_every_problem_is_reported_at_once(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("columns:\n  age: {min: x, typo: 1}\n  sex: {unique: 3}\n")

    with pytest.raises(ValidationError, match=r"\(and 2 more problems\)$") as caught:
        load_rules(path)

    assert [(d["column"], d["key"]) for d in caught.value.details] == [
        ("age", "min"),
        ("age", "typo"),
        ("sex", "unique"),
    ]


def test_missing_rules_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="rules file .*missing.yaml' does not exist"):
        load_rules(tmp_path / "missing.yaml")


@pytest.fixture(scope="module")
def credit() -> pd.DataFrame:
    return make_credit_table(3000, seed=5)


@pytest.fixture(scope="module")
def inferred(credit: pd.DataFrame) -> RuleSet:
    table = table_from_dataframe(credit)
    return rules_from_schema(infer_schema(table), profile_table(table))


def test_inferred_rules_describe_the_version(inferred: RuleSet, credit: pd.DataFrame) -> None:
    columns = inferred.columns

    low, high = int(credit["age"].min()), int(credit["age"].max())
    assert columns["age"] == ColumnRules("int", required=True, nullable=False, min=low, max=high)
    assert columns["sex"].allowed == ("female", "male")
    assert columns["applicant_id"].unique is True
    assert (columns["applicant_id"].min, columns["age"].unique) == (None, False)
    assert columns["income"].nullable is None
    assert columns["income"].max_missing == pytest.approx(credit["income"].isna().mean() + 0.05)
    assert RuleSet.from_dict(json.loads(json.dumps(inferred.to_dict()))) == inferred


def test_inferred_rules_accept_their_own_version(inferred: RuleSet, credit: pd.DataFrame) -> None:
    assert validate_table(table_from_dataframe(credit), inferred).ok


@pytest.mark.parametrize(
    ("breakage", "column", "rule"),
    [
        (lambda df: df.assign(age=df["age"].where(df.index != 7, 150)), "age", "max"),
        (lambda df: df.drop(columns=["housing"]), "housing", "required"),
        (lambda df: df.assign(age=df["age"].astype(str)), "age", "type"),
        (lambda df: df.assign(sex=df["sex"].astype(str).replace("male", "m")), "sex", "allowed"),
        (lambda df: df.assign(sex=df["sex"].astype(str).where(df.index > 0)), "sex", "nullable"),
        (
            lambda df: df.assign(applicant_id=df["applicant_id"].where(df.index != 9, 1)),
            "applicant_id",
            "unique",
        ),
        (
            lambda df: df.assign(income=df["income"].where(df.index % 4 != 0)),
            "income",
            "max_missing",
        ),
    ],
    ids=["out-of-range", "dropped", "retyped", "new-category", "nulls", "duplicate-id", "gaps"],
)
def test_inferred_rules_reject_a_broken_version(
    inferred: RuleSet, credit: pd.DataFrame, breakage: Any, column: str, rule: str
) -> None:
    report = validate_table(table_from_dataframe(breakage(credit)), inferred)

    assert not report.ok
    assert (column, rule) in [(failure.column, failure.rule) for failure in report.failures]
