"""Reading CSV and Parquet into Arrow, converting DataFrames, inferring schemas."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from shipyard.data.tabular import infer_schema, is_tabular, read_table, table_from_dataframe
from shipyard.errors import NotFound, ValidationError
from shipyard.examples.credit import make_credit_table


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("data.csv", True),
        ("DATA.PARQUET", True),
        ("part-0.pq", True),
        ("notes.txt", False),
        ("csv", False),
        ("archive.csv.gz", False),
    ],
    ids=["csv", "parquet-upper", "pq", "text", "no-suffix", "compressed"],
)
def test_is_tabular_judges_by_suffix(name: str, expected: bool) -> None:
    assert is_tabular(name) is expected
    assert is_tabular(Path("some/dir") / name) is expected


@pytest.mark.parametrize("suffix", [".csv", ".parquet", ".pq"], ids=["csv", "parquet", "pq"])
def test_read_table_reads_what_pandas_wrote(tmp_path: Path, suffix: str) -> None:
    df = make_credit_table(500, seed=3)
    path = tmp_path / f"credit{suffix}"
    if suffix == ".csv":
        df.to_csv(path, index=False)
    else:
        df.to_parquet(path, index=False)

    table = read_table(path)

    assert table.num_rows == 500
    assert table.column_names == list(df.columns)
    assert table.column("age").to_pylist() == df["age"].tolist()
    assert table.column("sex").to_pylist() == df["sex"].astype(str).tolist()
    assert table.column("income").null_count == int(df["income"].isna().sum())


@pytest.mark.parametrize(
    ("body", "line", "got"),
    [
        ("a,b,c\n1,2,3\n4,5,6\n7,8,9,10\n8,9,10\n", 4, 4),
        ("a,b,c\n1,2,3\n4,5\n", 3, 2),
        ("a,b,c\n" + "1,2,3\n" * 5000 + "1,2,3,4\n", 5002, 4),
    ],
    ids=["extra-field", "missing-field", "deep-in-file"],
)
def test_ragged_csv_names_the_file_and_line(tmp_path: Path, body: str, line: int, got: int) -> None:
    path = tmp_path / "data.csv"
    path.write_text(body)

    with pytest.raises(ValidationError) as caught:
        read_table(path)

    assert caught.value.message.startswith(
        f"data.csv line {line}: expected 3 columns, got {got} instead"
    )
    assert caught.value.details[0]["line"] == line


def test_csv_with_quoted_newlines_still_reads(tmp_path: Path) -> None:
    path = tmp_path / "notes.csv"
    path.write_text('id,note\n1,"first\nsecond"\n2,plain\n')

    table = read_table(path)

    assert table.column("note").to_pylist() == ["first\nsecond", "plain"]


@pytest.mark.parametrize("body", ["", "\n\n"], ids=["zero-bytes", "blank-lines"])
def test_empty_csv_is_rejected(tmp_path: Path, body: str) -> None:
    path = tmp_path / "empty.csv"
    path.write_text(body)

    with pytest.raises(ValidationError, match=r"^empty\.csv: the CSV file is empty"):
        read_table(path)


def test_header_only_csv_is_an_empty_table(tmp_path: Path) -> None:
    path = tmp_path / "header.csv"
    path.write_text("a,b\n")

    table = read_table(path)

    assert (table.num_rows, table.column_names) == (0, ["a", "b"])


def test_corrupt_parquet_gives_a_one_line_reason(tmp_path: Path) -> None:
    path = tmp_path / "broken.parquet"
    path.write_bytes(b"this is not parquet at all\n" * 3)

    with pytest.raises(ValidationError) as caught:
        read_table(path)

    assert caught.value.message.startswith("broken.parquet: cannot be read as a table: ")
    assert "\n" not in caught.value.message


def test_missing_file_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="does not exist"):
        read_table(tmp_path / "nowhere.csv")


def test_unknown_suffix_is_rejected(tmp_path: Path) -> None:
    path = tmp_path / "data.xlsx"
    path.write_bytes(b"x")

    with pytest.raises(
        ValidationError, match=r"must be one of \.csv, \.parquet, \.pq, got '\.xlsx'"
    ):
        read_table(path)


def test_dataframe_keeps_categoricals_as_dictionaries() -> None:
    table = table_from_dataframe(make_credit_table(200))

    assert pa.types.is_dictionary(table.schema.field("sex").type)
    assert pa.types.is_integer(table.schema.field("age").type)
    assert "__index_level_0__" not in table.column_names


@pytest.mark.parametrize(
    ("index_name", "expected"),
    [(None, ["x"]), ("key", ["x", "key"])],
    ids=["unnamed-dropped", "named-kept"],
)
def test_dataframe_index_kept_only_when_named(index_name: str | None, expected: list[str]) -> None:
    df = pd.DataFrame({"x": [1, 2, 3]}, index=pd.Index([10, 20, 30], name=index_name))

    assert table_from_dataframe(df).column_names == expected


def test_dataframe_with_mixed_object_column_is_rejected() -> None:
    df = pd.DataFrame({"mixed": pd.Series([1, "a", None], dtype=object)})

    with pytest.raises(ValidationError, match="DataFrame cannot be stored as a table"):
        table_from_dataframe(df)


def _typed_table() -> pa.Table:
    return pa.table(
        {
            "i": pa.array([3, None, -2], pa.int32()),
            "f": [1.5, 2.5, float("nan")],
            "b": [True, False, True],
            "s": ["x", "y", None],
            "c": pa.array(["lo", "hi", "lo"]).dictionary_encode(),
            "t": pa.array([dt.datetime(2024, 1, 2, 3, 4), None, dt.datetime(2023, 5, 6)]),
            "d": [dt.date(2024, 2, 29), dt.date(2020, 1, 1), dt.date(2022, 6, 1)],
            "raw": [b"\x00", b"\x01", b"\x02"],
        }
    )


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("i", {"type": "int", "arrow_type": "int32", "nullable": True, "min": -2, "max": 3}),
        ("f", {"type": "float", "nullable": True, "min": 1.5, "max": 2.5}),
        ("b", {"type": "bool", "nullable": False, "min": None, "max": None}),
        ("s", {"type": "string", "nullable": True, "categories": None, "min": None}),
        ("c", {"type": "category", "nullable": False, "categories": ["hi", "lo"]}),
        (
            "t",
            {"type": "datetime", "nullable": True, "min": "2023-05-06T00:00:00"}
            | {"max": "2024-01-02T03:04:00"},
        ),
        ("d", {"type": "date", "nullable": False, "min": "2020-01-01", "max": "2024-02-29"}),
        ("raw", {"type": "other", "arrow_type": "binary", "min": None, "categories": None}),
    ],
    ids=["int", "float-nan-is-missing", "bool", "string", "category", "datetime", "date", "other"],
)
def test_infer_schema_per_type(name: str, expected: dict[str, Any]) -> None:
    schema = infer_schema(_typed_table())

    column = next(column for column in schema["columns"] if column["name"] == name)
    assert {key: column[key] for key in expected} == expected
    assert schema["rows"] == 3


@pytest.mark.parametrize(
    ("values", "categories"),
    [
        (["b", "a", "c", None] * 25, ["a", "b", "c"]),
        (["b", "a", "c"] * 33, None),
        ([f"v{i % 51}" for i in range(200)], None),
        ([f"v{i % 50:02d}" for i in range(200)], [f"v{i:02d}" for i in range(50)]),
    ],
    ids=["few-values-100-rows", "only-99-rows", "51-distinct", "50-distinct"],
)
def test_string_categories_need_few_values_and_enough_rows(
    values: list[str | None], categories: list[str] | None
) -> None:
    schema = infer_schema(pa.table({"s": values}))

    assert schema["columns"][0]["categories"] == categories


def test_pandas_categories_include_unused_ones() -> None:
    df = pd.DataFrame({"level": pd.Categorical(["low", "low"], categories=["low", "mid", "high"])})

    schema = infer_schema(table_from_dataframe(df))

    assert schema["columns"][0]["categories"] == ["high", "low", "mid"]


def test_schema_of_credit_table_is_strict_json() -> None:
    df = make_credit_table(1000, seed=11)
    schema = infer_schema(table_from_dataframe(df))

    by_name = {
        column["name"]: column
        for column in json.loads(json.dumps(schema, allow_nan=False))["columns"]
    }
    assert by_name["income"]["nullable"] is True
    assert by_name["age"]["nullable"] is False
    assert by_name["income"]["min"] == pytest.approx(np.nanmin(df["income"]))
    assert by_name["employment"]["categories"] == sorted(df["employment"].cat.categories)
