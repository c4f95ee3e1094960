"""Checking a table against validation rules, as vectorized Arrow compute.

The rules themselves (their YAML form, reading and inferring them) live in
:mod:`shipyard.data.rules`; a failure names the column, the rule, how many rows break
it and a few of them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from shipyard.data.rules import ColumnRules, RuleSet, Scalar, load_rules, rules_from_schema
from shipyard.data.tabular import column_type, to_json_value

__all__ = [
    "ColumnRules",
    "Failure",
    "RuleSet",
    "ValidationReport",
    "load_rules",
    "rules_from_schema",
    "validate_table",
]

MAX_EXAMPLES = 5
_COMPATIBLE = {"float": {"float", "int"}, "string": {"string", "category"}}
_COMPATIBLE["category"] = _COMPATIBLE["string"]


@dataclass(frozen=True, slots=True)
class Failure:
    """One broken rule: which column and rule, how many rows, and the first few of them."""

    column: str
    rule: str
    message: str
    count: int
    examples: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        """JSON: ``{"column", "rule", "message", "count", "examples": [{"row", "value"}]}``."""
        return asdict(self)


@dataclass(frozen=True, slots=True)
class ValidationReport:
    """The outcome of :func:`validate_table`: ``ok`` when no rule failed."""

    ok: bool
    failures: list[Failure]

    def to_dict(self) -> dict[str, Any]:
        """JSON: ``{"ok", "failures": [...]}``."""
        return asdict(self)


# ---- checking a table ------------------------------------------------------------------


def validate_table(table: pa.Table, rules: RuleSet) -> ValidationReport:
    """Check ``table`` against ``rules``; each failure counts and shows offending rows."""
    failures: list[Failure] = []
    for name, column_rules in rules.columns.items():
        if name in table.column_names:
            failures.extend(_check_column(name, table.column(name), column_rules))
        elif column_rules.required:
            message = (
                f"column {name!r} is required, got a table without it instead (columns: "
                f"{', '.join(table.column_names) or 'none'})"
            )
            failures.append(Failure(name, "required", message, table.num_rows))
    return ValidationReport(ok=not failures, failures=failures)


def _check_column(name: str, column: pa.ChunkedArray, rules: ColumnRules) -> list[Failure]:
    type_failure = _check_type(name, column, rules.type)
    checks: list[Failure | None] = [
        type_failure,
        _check_nullable(name, column, rules.nullable),
        _check_max_missing(name, column, rules.max_missing),
    ]
    if type_failure is None:
        checks += [
            _check_bound(name, column, "min", rules.min),
            _check_bound(name, column, "max", rules.max),
            _check_allowed(name, column, rules.allowed),
        ]
    checks.append(_check_unique(name, column, rules.unique))
    return [failure for failure in checks if failure is not None]


def _rows_failing(
    name: str, rule: str, column: pa.ChunkedArray, mask: Any, expect: str, got: str = ""
) -> Failure | None:
    """A failure for the rows where ``mask`` holds, with the first few as examples."""
    mask = pc.fill_null(mask, False)
    count = int(pc.sum(mask).as_py() or 0)
    if not count:
        return None
    rows = pc.indices_nonzero(mask)[:MAX_EXAMPLES]
    values = column.take(rows).to_pylist()
    examples = [
        {"row": int(row), "value": to_json_value(value)}
        for row, value in zip(rows.to_pylist(), values, strict=True)
    ]
    got = got or f"{count} offending row{'s' if count != 1 else ''}"
    message = (
        f"column {name!r} must {expect}, got {got} instead (first at row {examples[0]['row']})"
    )
    return Failure(name, rule, message, count, examples)


def _missing(column: pa.ChunkedArray) -> Any:
    return pc.is_null(column, nan_is_null=True)


def _check_type(name: str, column: pa.ChunkedArray, wanted: str | None) -> Failure | None:
    actual = column_type(column.type)
    if wanted is None or actual in _COMPATIBLE.get(wanted, {wanted}):
        return None
    present = pc.invert(_missing(column))
    got = f"{actual} values (arrow type {column.type})"
    return _rows_failing(name, "type", column, present, f"be of type {wanted}", got)


def _check_nullable(name: str, column: pa.ChunkedArray, nullable: bool | None) -> Failure | None:
    if nullable is not False:
        return None
    return _rows_failing(name, "nullable", column, _missing(column), "have no missing values")


def _check_max_missing(name: str, column: pa.ChunkedArray, limit: float | None) -> Failure | None:
    if limit is None or len(column) == 0:
        return None
    mask = _missing(column)
    rate = int(pc.sum(mask).as_py() or 0) / len(column)
    if rate <= limit:
        return None
    expect = f"have at most {limit:.2%} missing values"
    return _rows_failing(name, "max_missing", column, mask, expect, f"{rate:.2%}")


def _check_bound(name: str, column: pa.ChunkedArray, rule: str, bound: Any) -> Failure | None:
    if bound is None:
        return None
    if pat.is_timestamp(column.type) and column.type.unit == "ns":
        column = column.cast(pa.timestamp("us", column.type.tz), safe=False)  # bounds are µs
    compare, expect = (pc.less, "at least") if rule == "min" else (pc.greater, "at most")
    shown = to_json_value(bound)
    try:
        mask = compare(column, _bound_scalar(bound, column.type))
    except (pa.ArrowException, TypeError, ValueError):
        present = pc.invert(_missing(column))
        got = f"{column_type(column.type)} values, which cannot be compared with {shown!r}"
        return _rows_failing(name, rule, column, present, f"be {expect} {shown!r}", got)
    return _rows_failing(name, rule, column, mask, f"be {expect} {shown!r}")


def _bound_scalar(bound: Any, data_type: pa.DataType) -> Any:
    if pat.is_timestamp(data_type):
        if not isinstance(bound, dt.datetime):
            bound = dt.datetime.combine(bound, dt.time())
        return pa.scalar(bound, type=data_type)
    if pat.is_date(data_type):
        return pa.scalar(bound.date() if isinstance(bound, dt.datetime) else bound, data_type)
    if isinstance(bound, dt.date) or column_type(data_type) not in ("int", "float"):
        raise TypeError(f"cannot compare {data_type} with {bound!r}")
    return pa.scalar(bound)


def _check_allowed(
    name: str, column: pa.ChunkedArray, allowed: tuple[Scalar, ...] | None
) -> Failure | None:
    if allowed is None:
        return None
    value_type = column.type.value_type if pat.is_dictionary(column.type) else column.type
    values: list[Any] = list(allowed)
    if column_type(value_type) == "string":
        values = [str(value) for value in values]
    try:
        value_set = pa.array(values, type=value_type)
    except (pa.ArrowException, TypeError, ValueError):
        value_set = None  # no allowed value fits this column's type: all values are outside
    mask = pc.invert(_missing(column))
    if value_set is not None:
        mask = pc.and_(mask, pc.invert(pc.is_in(column, value_set=value_set)))
    shown = ", ".join(repr(value) for value in values[:10]) + (" ..." if len(values) > 10 else "")
    return _rows_failing(name, "allowed", column, mask, f"hold only [{shown}]")


def _check_unique(name: str, column: pa.ChunkedArray, unique: bool) -> Failure | None:
    if not unique:
        return None
    counted = pc.value_counts(column)
    values, counts = counted.field("values"), counted.field("counts")
    repeated = values.filter(pc.and_(pc.greater(counts, 1), pc.is_valid(values)))
    if len(repeated) == 0:
        return None
    if pat.is_dictionary(repeated.type):
        repeated = repeated.cast(repeated.type.value_type)
    mask = pc.is_in(column, value_set=repeated)
    got = f"{len(repeated)} repeated value{'s' if len(repeated) != 1 else ''}"
    return _rows_failing(name, "unique", column, mask, "hold unique values", got)
