"""Validation rules for tabular data: declared in YAML or inferred from a version.

A rules file maps column names to rules::

    columns:
      age: {type: int, required: true, nullable: false, min: 18, max: 100}
      sex: {allowed: [female, male]}
      applicant_id: {unique: true}
      income: {max_missing: 0.05}
      signed_on: {type: date, min: 2020-01-01}

Every rule is optional:

``type``
    one of ``int``, ``float``, ``bool``, ``string``, ``category``, ``datetime``, ``date``,
    ``other``. It checks the kind of data, not its storage: ``float`` accepts integer
    columns, and ``string`` and ``category`` accept each other (a categorical written to
    CSV reads back as strings).
``required``
    ``true``: the column must be present. Rules of an absent column that is not required
    are skipped.
``nullable``
    ``false``: no missing values (null, or NaN in a float column).
``min``, ``max``
    inclusive bounds: numbers, or dates and datetimes (a YAML date, or ISO text such as
    ``"2024-01-31T12:00:00"``) for date and datetime columns.
``allowed``
    a non-empty list of the values allowed; missing values are left to ``nullable``.
``unique``
    ``true``: no value appears twice (missing values aside).
``max_missing``
    the highest share of missing values allowed, from 0 to 1.

:func:`load_rules` checks a whole file before anything runs and reports every problem;
:func:`shipyard.data.validation.validate_table` runs them.
"""

from __future__ import annotations

import datetime as dt
import difflib
import math
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from shipyard.data.tabular import COLUMN_TYPES, to_json_value
from shipyard.errors import NotFound, ValidationError

__all__ = ["ColumnRules", "RuleSet", "load_rules", "rules_from_schema"]

Scalar = str | int | float | bool | dt.date  # dt.datetime is a dt.date too
MISSING_MARGIN = 0.05  # inferred max_missing: the rate seen plus this


@dataclass(frozen=True, slots=True)
class ColumnRules:
    """The rules of one column; a rule left at its default is not checked."""

    type: str | None = None
    required: bool = False
    nullable: bool | None = None
    min: int | float | dt.date | None = None
    max: int | float | dt.date | None = None
    allowed: tuple[Scalar, ...] | None = None
    unique: bool = False
    max_missing: float | None = None

    def to_dict(self) -> dict[str, Any]:
        """The rules that are set, as JSON (dates as ISO text)."""
        return {
            rule.name: _json_rule(getattr(self, rule.name))
            for rule in fields(self)
            if getattr(self, rule.name) is not rule.default
        }


def _json_rule(value: Any) -> Any:
    if isinstance(value, tuple):
        return [to_json_value(item) for item in value]
    return to_json_value(value)


@dataclass(frozen=True, slots=True)
class RuleSet:
    """Rules for a table, by column name (checked in this order)."""

    columns: dict[str, ColumnRules] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON to store with a version; :meth:`from_dict` reads it back."""
        return {"columns": {name: rules.to_dict() for name, rules in self.columns.items()}}

    @classmethod
    def from_dict(cls, data: Any, *, source: str = "rules") -> RuleSet:
        """Check and build rules from parsed YAML or JSON; every problem in one error."""
        problems: list[dict[str, Any]] = []
        columns = _parse_rule_set(data, source, problems)
        if problems:
            more = f" (and {len(problems) - 1} more problems)" if len(problems) > 1 else ""
            raise ValidationError(problems[0]["message"] + more, details=problems)
        return cls(columns)


# ---- reading rules ---------------------------------------------------------------------


def load_rules(path: str | os.PathLike[str]) -> RuleSet:
    """Read and check a YAML rules file (format in this module's docstring)."""
    import yaml

    path = Path(path)
    if not path.is_file():
        raise NotFound(
            f"rules file {str(path)!r} does not exist; check the path or write one "
            f"(format: columns: {{NAME: {{RULE: VALUE}}}})",
            details=[{"file": str(path)}],
        )
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise ValidationError(
            f"{path.name}: cannot be read: {exc}", details=[{"file": str(path)}]
        ) from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(exc, "problem", None) or str(exc)
        raise ValidationError(
            f"{path.name}: not valid YAML{where}: {reason}; fix the syntax there",
            details=[{"file": str(path), "line": mark.line + 1 if mark else None}],
        ) from None
    return RuleSet.from_dict(data, source=path.name)


def _problem(
    problems: list[dict[str, Any]], source: str, column: str | None, key: str | None, text: str
) -> None:
    where = "".join(
        [f", column {column!r}" if column is not None else "", f", key {key!r}" if key else ""]
    )
    message = f"{source}{where}: {text}"
    problems.append({"file": source, "column": column, "key": key, "message": message})


def _parse_rule_set(
    data: Any, source: str, problems: list[dict[str, Any]]
) -> dict[str, ColumnRules]:
    if not isinstance(data, Mapping) or set(data) - {"columns"}:
        got = sorted(map(str, data)) if isinstance(data, Mapping) else repr(data)
        text = f"must be a mapping with the one key 'columns', got {got} instead"
        _problem(problems, source, None, None, text)
        return {}
    columns = data.get("columns") or {}
    if not isinstance(columns, Mapping):
        text = f"must map column names to rules, got {columns!r} instead"
        _problem(problems, source, None, "columns", text)
        return {}
    parsed = {}
    for name, spec in columns.items():
        rules = _parse_column(spec, source, str(name), problems)
        if rules is not None:
            parsed[str(name)] = rules
    return parsed


def _parse_column(
    spec: Any, source: str, column: str, problems: list[dict[str, Any]]
) -> ColumnRules | None:
    if not isinstance(spec, Mapping):
        text = f"must be a mapping of rule: value, got {spec!r} instead"
        _problem(problems, source, column, None, text)
        return None
    values: dict[str, Any] = {}
    for key, raw in spec.items():
        parser = _PARSERS.get(str(key))
        if parser is None:
            close = difflib.get_close_matches(str(key), _PARSERS, n=1)
            hint = f"did you mean {close[0]!r}? " if close else ""
            text = f"unknown rule; {hint}known rules: {', '.join(_PARSERS)}"
            _problem(problems, source, column, str(key), text)
            continue
        expected, parse = parser
        try:
            values[str(key)] = parse(raw)
        except (TypeError, ValueError):
            _problem(problems, source, column, str(key), f"must be {expected}, got {raw!r} instead")
    low, high = values.get("min"), values.get("max")
    if low is not None and high is not None and _comparable(low, high) and low > high:
        text = f"min must not exceed max, got min {low!r} and max {high!r} instead"
        _problem(problems, source, column, "min", text)
    return ColumnRules(**values)


def _comparable(low: Any, high: Any) -> bool:
    numbers = (int, float)
    if isinstance(low, numbers) and isinstance(high, numbers):
        return True
    return type(low) is type(high)


def _flag(raw: Any) -> bool:
    if not isinstance(raw, bool):
        raise TypeError
    return raw


def _type_name(raw: Any) -> str:
    if raw not in COLUMN_TYPES:
        raise ValueError
    return str(raw)


def _bound(raw: Any) -> int | float | dt.date:
    if isinstance(raw, bool):
        raise TypeError
    if isinstance(raw, int | dt.date) or (isinstance(raw, float) and math.isfinite(raw)):
        return raw
    if isinstance(raw, str):
        text = raw.strip()
        return dt.date.fromisoformat(text) if len(text) == 10 else dt.datetime.fromisoformat(text)
    raise TypeError


def _allowed(raw: Any) -> tuple[Scalar, ...]:
    if not isinstance(raw, list | tuple) or not raw:
        raise TypeError
    if not all(isinstance(item, str | int | float | dt.date) for item in raw):
        raise TypeError
    return tuple(raw)


def _share(raw: Any) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise ValueError
    return float(raw)


_PARSERS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "type": (f"one of {', '.join(COLUMN_TYPES)}", _type_name),
    "required": ("true or false", _flag),
    "nullable": ("true or false", _flag),
    "min": ("a number or a date (like 2024-01-31)", _bound),
    "max": ("a number or a date (like 2024-01-31)", _bound),
    "allowed": ("a non-empty list of values", _allowed),
    "unique": ("true or false", _flag),
    "max_missing": ("a share from 0 to 1 (like 0.05)", _share),
}


# ---- inferring rules -------------------------------------------------------------------


def rules_from_schema(
    schema: dict[str, Any], profile: dict[str, Any], *, missing_margin: float = MISSING_MARGIN
) -> RuleSet:
    """Rules that the version described by ``schema`` and ``profile`` passes.

    Every column is required with its type; one without missing values must stay so, one
    with some may have up to the rate seen plus ``missing_margin``; categories become
    ``allowed``, and the range seen becomes ``min``/``max``, except for identifiers:
    integer or string columns whose values are all distinct (in at least 100 rows, or
    under a name like "id" or "customer_id") are ``unique`` instead.
    """
    rows = int(schema["rows"])
    columns = {}
    for column in schema["columns"]:
        name, kind = column["name"], column["type"]
        stats = profile.get("columns", {}).get(name, {})
        values: dict[str, Any] = {"type": None if kind == "other" else kind, "required": True}
        if column["nullable"]:
            rate = float(stats.get("missing_rate", 1.0))
            values["max_missing"] = min(1.0, rate + missing_margin)
        else:
            values["nullable"] = False
        if column.get("categories") is not None:
            values["allowed"] = tuple(column["categories"])
        values["unique"] = kind in ("int", "string") and _all_distinct(name, stats, rows)
        if kind in ("int", "float", "datetime", "date") and not values["unique"]:
            for key in ("min", "max"):  # an identifier's range is no rule
                if column.get(key) is not None:
                    values[key] = _bound(column[key])
        columns[name] = ColumnRules(**values)
    return RuleSet(columns)


def _all_distinct(name: str, stats: dict[str, Any], rows: int) -> bool:
    looks_like_id = rows >= 100 or name.lower() == "id" or name.lower().endswith("_id")
    return looks_like_id and rows >= 2 and stats.get("distinct") == stats.get("count") == rows
