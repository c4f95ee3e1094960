"""Tabular data: read CSV and Parquet into Arrow tables and infer their schema.

Everything here is pure (no storage, no services); only :func:`read_table` touches the
file system. pyarrow and pandas are imported inside the functions so that importing this
module (for :func:`is_tabular`) stays cheap. Column types are reduced to a small
vocabulary, shared with profiling and validation (see :func:`column_type`):

``int``, ``float``, ``bool``, ``string``, ``category`` (dictionary-encoded), ``datetime``,
``date`` and ``other`` (binary, nested, time, duration, all-null columns).
"""

from __future__ import annotations

import datetime as dt
import decimal
import math
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFound, ValidationError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "COLUMN_TYPES",
    "TABULAR_SUFFIXES",
    "column_type",
    "infer_schema",
    "is_tabular",
    "missing_count",
    "read_table",
    "table_from_dataframe",
    "to_json_value",
]

TABULAR_SUFFIXES = (".csv", ".parquet", ".pq")
COLUMN_TYPES = ("int", "float", "bool", "string", "category", "datetime", "date", "other")
CATEGORY_MAX_DISTINCT = 50  # a string column with at most this many values is categorical...
CATEGORY_MIN_ROWS = 100  # ...when the table is at least this long


def is_tabular(path: str | os.PathLike[str]) -> bool:
    """True when ``path`` names a CSV or Parquet file (judged by its suffix only)."""
    return Path(path).suffix.lower() in TABULAR_SUFFIXES


def read_table(path: str | os.PathLike[str]) -> pa.Table:
    """Read a CSV or Parquet file into an Arrow table.

    Raises :class:`NotFound` for a missing file and :class:`ValidationError` for a file
    that cannot be read as a table (ragged or empty CSV, corrupt Parquet).
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in TABULAR_SUFFIXES:
        raise ValidationError(
            f"{path.name}: file suffix must be one of {', '.join(TABULAR_SUFFIXES)}, got "
            f"{suffix or 'no suffix'!r} instead; rename the file or convert it",
            details=[{"file": str(path), "suffix": suffix}],
        )
    if not path.is_file():
        raise NotFound(
            f"table file {str(path)!r} does not exist or is not a file; check the path",
            details=[{"file": str(path)}],
        )
    if suffix == ".csv":
        return _read_csv(path)
    return _read_parquet(path)


def _unreadable(path: Path, reason: object) -> ValidationError:
    text = " ".join(str(reason).split())  # one line, whatever the reader said
    return ValidationError(
        f"{path.name}: cannot be read as a table: {text}",
        details=[{"file": str(path), "reason": text}],
    )


def _read_parquet(path: Path) -> pa.Table:
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(path)
    except (pa.ArrowException, OSError) as exc:
        raise _unreadable(path, exc) from None


def _read_csv(path: Path) -> pa.Table:
    """Read quickly in parallel; on failure, re-read serially to say which line is wrong."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    try:
        return pacsv.read_csv(path)
    except (pa.ArrowException, OSError) as exc:
        if "Empty CSV file" in str(exc):
            raise ValidationError(
                f"{path.name}: the CSV file is empty; expected a header line and rows",
                details=[{"file": str(path)}],
            ) from None
    return _read_csv_serially(path)


def _read_csv_serially(path: Path) -> pa.Table:
    """The slow pass: it numbers rows, and accepts quoted values that span lines.

    The parallel reader refuses such values, so those files still load here (just more
    slowly). Line numbers count records, the header being line 1.
    """
    import pyarrow as pa
    import pyarrow.csv as pacsv

    bad_rows: list[Any] = []

    def first_bad_row(row: Any) -> str:
        bad_rows.append(row)
        return "error"

    options = pacsv.ParseOptions(newlines_in_values=True, invalid_row_handler=first_bad_row)
    serial = pacsv.ReadOptions(use_threads=False)
    try:
        return pacsv.read_csv(path, read_options=serial, parse_options=options)
    except (pa.ArrowException, OSError) as exc:
        if not bad_rows:
            raise _unreadable(path, exc) from None
    row = bad_rows[0]
    raise ValidationError(
        f"{path.name} line {row.number}: expected {row.expected_columns} columns, got "
        f"{row.actual_columns} instead; fix that line (quote values that hold commas)",
        details=[
            {
                "file": str(path),
                "line": row.number,
                "expected_columns": row.expected_columns,
                "actual_columns": row.actual_columns,
                "text": row.text,
            }
        ],
    )


def table_from_dataframe(df: pd.DataFrame) -> pa.Table:
    """Convert a pandas DataFrame to Arrow, keeping categoricals as dictionary columns.

    Column names become strings. A named index is kept as columns; an unnamed one only
    numbers the rows and is dropped.
    """
    import pyarrow as pa

    if not all(isinstance(name, str) for name in df.columns):
        df = df.rename(columns=str)
    keep_index = any(name is not None for name in df.index.names)
    try:
        return pa.Table.from_pandas(df, preserve_index=keep_index)
    except (pa.ArrowException, TypeError, ValueError) as exc:
        reason = " ".join(str(exc).split())
        raise ValidationError(
            f"DataFrame cannot be stored as a table: {reason}; give each column one type "
            f"(for example with df[column].astype(str))",
            details=[{"reason": reason}],
        ) from None


def column_type(data_type: pa.DataType) -> str:
    """Reduce an Arrow type to one of :data:`COLUMN_TYPES`."""
    import pyarrow.types as pat

    if pat.is_dictionary(data_type):
        return "category"
    checks = (
        ("bool", pat.is_boolean),
        ("int", pat.is_integer),
        ("float", lambda t: pat.is_floating(t) or pat.is_decimal(t)),
        ("string", lambda t: pat.is_string(t) or pat.is_large_string(t) or pat.is_string_view(t)),
        ("datetime", pat.is_timestamp),
        ("date", pat.is_date),
    )
    for name, check in checks:
        if check(data_type):
            return name
    return "other"


def to_json_value(value: Any) -> Any:
    """Turn a scalar from Arrow or numpy into JSON: NaN/inf become None, dates ISO text."""
    if hasattr(value, "as_py"):
        value = value.as_py()
    if hasattr(value, "item") and not isinstance(value, str | bytes):
        value = value.item()  # numpy scalars
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, decimal.Decimal):
        return to_json_value(float(value))
    if isinstance(value, dt.date | dt.time):
        return value.isoformat()
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, bytes):
        return value.hex()
    if value is None or isinstance(value, bool | int | str):
        return value
    return str(value)


def infer_schema(table: pa.Table) -> dict[str, Any]:
    """The JSON-able schema of ``table``: per column its type, nullability, categories, range.

    ``{"columns": [{"name", "type", "arrow_type", "nullable", "categories", "min", "max"}],
    "rows": int}``. ``categories`` is the sorted list of values of a dictionary column, or
    of a string column with at most 50 distinct values in a table of at least 100 rows.
    ``min``/``max`` are set for numeric, datetime and date columns.
    """
    columns = [
        _column_schema(name, table.column(name), table.num_rows) for name in table.column_names
    ]
    return {"columns": columns, "rows": table.num_rows}


def _column_schema(name: str, column: pa.ChunkedArray, rows: int) -> dict[str, Any]:
    kind = column_type(column.type)
    low, high = _min_max(column, kind)
    return {
        "name": name,
        "type": kind,
        "arrow_type": str(column.type),
        "nullable": missing_count(column) > 0,
        "categories": _categories(column, kind, rows),
        "min": low,
        "max": high,
    }


def missing_count(column: pa.ChunkedArray) -> int:
    """Nulls, plus NaN in float columns (pandas writes missing floats as NaN)."""
    import pyarrow.compute as pc
    import pyarrow.types as pat

    missing = int(column.null_count)
    if pat.is_floating(column.type):
        missing += int(pc.sum(pc.is_nan(column)).as_py() or 0)
    return missing


def _min_max(column: pa.ChunkedArray, kind: str) -> tuple[Any, Any]:
    import pyarrow.compute as pc

    if kind not in ("int", "float", "datetime", "date"):
        return None, None
    result = pc.min_max(column)
    return to_json_value(result["min"]), to_json_value(result["max"])


def _categories(column: pa.ChunkedArray, kind: str, rows: int) -> list[Any] | None:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "category":
        dictionaries = [chunk.dictionary for chunk in column.chunks]
        values = pc.unique(pa.chunked_array(dictionaries, type=column.type.value_type))
    elif kind == "string" and rows >= CATEGORY_MIN_ROWS:
        values = pc.unique(column)
        if len(values) - values.null_count > CATEGORY_MAX_DISTINCT:
            return None
    else:
        return None
    found = [to_json_value(value) for value in values if value.is_valid]
    return sorted(found, key=lambda item: (str(type(item)), item))
