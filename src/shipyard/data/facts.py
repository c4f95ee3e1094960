"""What shipyard learns about a tabular version when it is added, and how it loads it back.

A version holding exactly one CSV or Parquet file (or a DataFrame, stored as Parquet)
is tabular: its inferred schema, its profile and its personal-data findings are
computed once, at add time, and stored with the version. Validation rules given to the
add run on the same table and refuse the version when they fail.
"""

from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any

from shipyard.data.manifest import LocalFile, scan
from shipyard.entities import DatasetVersion, FileEntry
from shipyard.errors import ValidationError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from shipyard.data.rules import RuleSet
    from shipyard.data.validation import ValidationReport
    from shipyard.storage.content import ContentStore

TABLE_SUFFIXES = (".csv", ".parquet", ".pq")


@dataclass(frozen=True)
class TableFacts:
    """Schema, profile and personal-data findings of a tabular version (None: not a table)."""

    path: str | None = None
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    pii: list[dict[str, Any]] = field(default_factory=list)


NO_FACTS = TableFacts()


def is_table_file(path: str | os.PathLike[str]) -> bool:
    """True for files shipyard reads as tables (by suffix)."""
    return str(path).lower().endswith(TABLE_SUFFIXES)


def analyze(files: list[LocalFile], rules: RuleSet | str | Path | None) -> TableFacts:
    """Read the single table file, profile it, scan it, and enforce ``rules`` if given."""
    from shipyard.data.pii import scan_pii
    from shipyard.data.profile import profile_table
    from shipyard.data.tabular import infer_schema, read_table

    (local,) = files
    table = read_table(local.path)
    if rules is not None:
        enforce(table, rules, what=local.rel)
    after = os.stat(local.path)
    if (after.st_size, after.st_mtime_ns) != (local.size, local.mtime_ns):
        raise ValidationError(
            f"{local.path!r} changed while it was being read; nothing was recorded"
        )
    return TableFacts(
        path=local.rel,
        schema=infer_schema(table),
        profile=profile_table(table),
        pii=scan_pii(table),
    )


def analyze_stored(
    blobs: ContentStore, entry: FileEntry, rules: RuleSet | str | Path | None
) -> TableFacts:
    """:func:`analyze` for a table file already in the blob store, read from a temporary copy."""
    with tempfile.TemporaryDirectory(prefix="shipyard-table-") as folder:
        copy = Path(folder) / PurePosixPath(entry.path).name
        blobs.get_file(entry.digest, copy)
        local = scan(copy)[1][0]
        return analyze([local._replace(rel=entry.path)], rules)


def enforce(table: pa.Table, rules: RuleSet | str | Path, *, what: str) -> ValidationReport:
    """Validate ``table``; raise ValidationError listing every failed rule."""
    report = check(table, rules)
    if not report.ok:
        first = report.failures[0]
        raise ValidationError(
            f"{what} fails validation: {len(report.failures)} rule(s) broken, first: "
            f"column {first.column!r} {first.rule}: {first.message}; nothing was recorded",
            details=[failure_dict for failure_dict in report.to_dict()["failures"]],
        )
    return report


def check(table: pa.Table, rules: RuleSet | str | Path) -> ValidationReport:
    """Validate ``table`` against ``rules`` (a RuleSet or the path of a YAML file)."""
    from shipyard.data.rules import load_rules
    from shipyard.data.validation import validate_table

    ruleset = load_rules(rules) if isinstance(rules, str | Path) else rules
    return validate_table(table, ruleset)


def write_frame(frame: pd.DataFrame, path: Path) -> Path:
    """Store a DataFrame as Parquet at ``path`` (the form a DataFrame is versioned in)."""
    import pandas as pd

    from shipyard.data.tabular import table_from_dataframe

    if not isinstance(frame, pd.DataFrame):
        raise ValidationError(
            f"data to add must be a path or a pandas DataFrame, got {type(frame).__name__} instead"
        )
    import pyarrow.parquet as pq

    pq.write_table(table_from_dataframe(frame), path)
    return path


def load_table(blobs: ContentStore, version: DatasetVersion, digest: str) -> pa.Table:
    """The verified table of a tabular version, as a pyarrow Table."""
    import pyarrow as pa

    data = pa.py_buffer(blobs.get_bytes(digest))
    return read_stored_table(pa.BufferReader(data), str(version.table_path))


def read_stored_table(source: Any, table_path: str) -> pa.Table:
    """Read the table file of a version (a local path or a pyarrow reader over its bytes),
    as CSV or Parquet by the suffix of its path in the version."""
    import pyarrow.csv as pacsv
    import pyarrow.parquet as pq

    if table_path.lower().endswith(".csv"):
        return pacsv.read_csv(source)
    return pq.read_table(source)


def compare(old: DatasetVersion, new: DatasetVersion) -> dict[str, Any]:
    """Rows, schema and the per-column statistics that moved between two tabular versions."""
    from shipyard.data.profile import diff_profiles

    return diff_profiles(old.schema or {}, old.profile or {}, new.schema or {}, new.profile or {})
