"""Profiles of tabular data, computed once when a version is added, and their diffs.

A profile holds, per column, counts, missing values, distinct values, and by type:
numeric columns (``int``, ``float``) get mean, sample standard deviation (ddof=1),
min, max, quantiles (linear interpolation, as numpy's default) and a histogram of
``bins`` equal-width bins over the finite values; ``string``, ``category`` and ``bool``
columns get their ``top`` most frequent values (ties broken by value); ``datetime`` and
``date`` columns get min and max as ISO text. NaN counts as missing. The result is plain
JSON with no NaN or infinity (those become ``None``).

:func:`diff_profiles` compares two versions' schemas and profiles and reports only
what moved (see its docstring for the thresholds).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.types as pat

from shipyard.data.tabular import column_type, to_json_value
from shipyard.errors import ValidationError

__all__ = ["QUANTILES", "diff_profiles", "profile_table"]

QUANTILES = {
    "p01": 0.01,
    "p05": 0.05,
    "p25": 0.25,
    "p50": 0.5,
    "p75": 0.75,
    "p95": 0.95,
    "p99": 0.99,
}
MEAN_SHIFT_STDS = 0.1  # a mean moved when it shifted by more than this many old stds
MISSING_RATE_DELTA = 0.01  # absolute change of the missing rate worth reporting
DISTINCT_CHANGE = 0.1  # relative change of the distinct count worth reporting


def profile_table(table: pa.Table, *, bins: int = 20, top: int = 10) -> dict[str, Any]:
    """Profile every column of ``table``: ``{"rows", "columns": {name: {stat: value}}}``."""
    for name, value, least in (("bins", bins, 1), ("top", top, 0)):
        if isinstance(value, bool) or not isinstance(value, int) or value < least:
            raise ValidationError(
                f"{name} must be an integer of at least {least}, got {value!r} instead",
                details=[{"parameter": name, "value": repr(value)}],
            )
    rows = table.num_rows
    columns = {
        name: _profile_column(table.column(name), rows, bins, top) for name in table.column_names
    }
    return {"rows": rows, "columns": columns}


def _profile_column(column: pa.ChunkedArray, rows: int, bins: int, top: int) -> dict[str, Any]:
    kind = column_type(column.type)
    if kind == "float":
        column = _as_float(column)
    missing = int(column.null_count)
    stats: dict[str, Any] = {
        "type": kind,
        "count": rows - missing,
        "missing": missing,
        "missing_rate": missing / rows if rows else 0.0,
        "distinct": _distinct(column, kind),
    }
    if kind in ("int", "float"):
        stats.update(_numeric_stats(column, bins))
    elif kind in ("datetime", "date"):
        low_high = pc.min_max(column)
        stats.update(min=to_json_value(low_high["min"]), max=to_json_value(low_high["max"]))
    elif kind in ("string", "category", "bool"):
        stats["top"] = _top_values(column, top)
    return stats


def _as_float(column: pa.ChunkedArray) -> pa.ChunkedArray:
    """Decimals as float64, and NaN as null so that it counts as missing."""
    if pat.is_decimal(column.type):
        column = column.cast(pa.float64())
    return pc.if_else(pc.is_nan(column), pa.scalar(None, column.type), column)


def _distinct(column: pa.ChunkedArray, kind: str) -> int | None:
    if kind == "category":  # count_distinct has no dictionary kernel
        unique = pc.unique(column)
        return int(len(unique) - unique.null_count)
    try:
        return int(pc.count_distinct(column, mode="only_valid").as_py())
    except pa.ArrowNotImplementedError:  # nested and other exotic types
        return None


def _numeric_stats(column: pa.ChunkedArray, bins: int) -> dict[str, Any]:
    histogram = _histogram(column, bins)
    if column.null_count == len(column):  # no values at all
        quantiles: dict[str, Any] = dict.fromkeys(QUANTILES)
        empty = {"mean": None, "std": None, "min": None, "max": None, "quantiles": quantiles}
        return {**empty, "histogram": histogram}
    low_high = pc.min_max(column)
    cuts = pc.quantile(column, q=list(QUANTILES.values()), interpolation="linear")
    return {
        "mean": to_json_value(pc.mean(column)),
        "std": to_json_value(pc.stddev(column, ddof=1)),
        "min": to_json_value(low_high["min"]),
        "max": to_json_value(low_high["max"]),
        "quantiles": {key: to_json_value(cut) for key, cut in zip(QUANTILES, cuts, strict=True)},
        "histogram": histogram,
    }


def _histogram(column: pa.ChunkedArray, bins: int) -> dict[str, Any]:
    """Equal-width bins from the smallest to the largest finite value."""
    values = column.drop_null().to_numpy().astype(np.float64, copy=False)
    values = values[np.isfinite(values)]
    if not len(values):
        return {"edges": [], "counts": []}
    low, high = float(values.min()), float(values.max())
    if low == high:  # one value: one bin holding everything
        return {"edges": [low, high], "counts": [len(values)]}
    counts, edges = np.histogram(values, bins=bins, range=(low, high))
    return {"edges": [float(edge) for edge in edges], "counts": [int(n) for n in counts]}


def _top_values(column: pa.ChunkedArray, top: int) -> list[dict[str, Any]]:
    """The ``top`` most frequent non-null values, most frequent first, ties by value."""
    if top == 0:
        return []
    counted = pc.value_counts(column)
    values, counts = counted.field("values"), counted.field("counts")
    present = pc.is_valid(values)
    values, counts = values.filter(present), counts.filter(present)
    if pat.is_dictionary(values.type):
        values = values.cast(values.type.value_type)
    table = pa.table({"value": values, "count": counts})
    if table.num_rows > top:
        table = _most_frequent(table, top)
    order = pc.sort_indices(table, sort_keys=[("count", "descending"), ("value", "ascending")])
    return [
        {"value": to_json_value(row["value"]), "count": row["count"]}
        for row in table.take(order).to_pylist()
    ]


def _most_frequent(table: pa.Table, top: int) -> pa.Table:
    """The ``top`` rows by count in linear time: all above the cut, then the smallest tied."""
    best = pc.select_k_unstable(table, k=top, sort_keys=[("count", "descending")])
    cut = pc.min(table["count"].take(best))
    above = table.filter(pc.greater(table["count"], cut))
    tied = table.filter(pc.equal(table["count"], cut))
    keep = pc.select_k_unstable(tied, k=top - above.num_rows, sort_keys=[("value", "ascending")])
    return pa.concat_tables([above, tied.take(keep)])


def diff_profiles(
    old_schema: dict[str, Any],
    old_profile: dict[str, Any],
    new_schema: dict[str, Any],
    new_profile: dict[str, Any],
) -> dict[str, Any]:
    """What changed between two versions' schemas and profiles.

    Reports row counts, added/removed columns and type changes, and per shared column
    only the statistics that moved: the mean by more than 0.1 old standard deviations,
    the missing rate by more than 0.01, min or max at all, categories that appeared or
    vanished, the most frequent value, the distinct count by more than 10%. Columns keep
    the new schema's order (removed ones the old schema's); stats a fixed order. An
    empty schema or profile (a version that is no table) counts as no columns, no rows.
    """
    old_types = {column["name"]: column for column in old_schema.get("columns", [])}
    new_types = {column["name"]: column for column in new_schema.get("columns", [])}
    old_rows, new_rows = int(old_profile.get("rows", 0)), int(new_profile.get("rows", 0))
    old_stats, new_stats = old_profile.get("columns", {}), new_profile.get("columns", {})
    columns = []
    for name in new_types:
        if name not in old_types:
            continue
        changes = _column_changes(
            old_types[name],
            old_stats.get(name, {}),
            new_types[name],
            new_stats.get(name, {}),
        )
        if changes:
            columns.append({"column": name, "changes": changes})
    return {
        "rows": {"old": old_rows, "new": new_rows, "delta": new_rows - old_rows},
        "schema": _schema_changes(old_types, new_types),
        "columns": columns,
    }


def _schema_changes(
    old_types: dict[str, dict[str, Any]], new_types: dict[str, dict[str, Any]]
) -> dict[str, Any]:
    return {
        "added": [name for name in new_types if name not in old_types],
        "removed": [name for name in old_types if name not in new_types],
        "type_changed": [
            {"column": name, "old": old_types[name]["type"], "new": column["type"]}
            for name, column in new_types.items()
            if name in old_types and old_types[name]["type"] != column["type"]
        ],
    }


def _column_changes(
    old_schema: dict[str, Any],
    old: dict[str, Any],
    new_schema: dict[str, Any],
    new: dict[str, Any],
) -> list[dict[str, Any]]:
    return [
        *_mean_change(old, new),
        *_missing_change(old, new),
        *_range_changes(old, new),
        *_category_change(old_schema.get("categories"), new_schema.get("categories")),
        *_top_change(old.get("top"), new.get("top")),
        *_distinct_change(old.get("distinct"), new.get("distinct")),
    ]


def _mean_change(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    before, after = old.get("mean"), new.get("mean")
    if before is None or after is None:
        return []
    threshold = MEAN_SHIFT_STDS * (old.get("std") or 0.0)
    if after == before or abs(after - before) <= threshold:
        return []
    delta = after - before
    return [{"stat": "mean", "old": before, "new": after, "delta": delta, "threshold": threshold}]


def _missing_change(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    before, after = old.get("missing_rate"), new.get("missing_rate")
    if before is None or after is None or abs(after - before) <= MISSING_RATE_DELTA:
        return []
    return [{"stat": "missing_rate", "old": before, "new": after, "delta": after - before}]


def _range_changes(old: dict[str, Any], new: dict[str, Any]) -> list[dict[str, Any]]:
    return [
        {"stat": stat, "old": old.get(stat), "new": new.get(stat)}
        for stat in ("min", "max")
        if (stat in old or stat in new) and old.get(stat) != new.get(stat)
    ]


def _category_change(before: list[Any] | None, after: list[Any] | None) -> list[dict[str, Any]]:
    """Categories that appeared or vanished; silent when either side has none listed."""
    if before is None or after is None:
        return []
    added = [value for value in after if value not in before]
    removed = [value for value in before if value not in after]
    if not added and not removed:
        return []
    return [{"stat": "categories", "old": before, "new": after, "added": added, "removed": removed}]


def _top_change(before: list[Any] | None, after: list[Any] | None) -> list[dict[str, Any]]:
    old_value = before[0]["value"] if before else None
    new_value = after[0]["value"] if after else None
    if old_value == new_value:
        return []
    return [{"stat": "top", "old": old_value, "new": new_value}]


def _distinct_change(before: int | None, after: int | None) -> list[dict[str, Any]]:
    if before is None or after is None or before == after:
        return []
    if before and abs(after - before) <= DISTINCT_CHANGE * before:
        return []
    return [{"stat": "distinct", "old": before, "new": after, "delta": after - before}]
