"""Rows of the pipeline step cache: a step call's key -> its stored output."""

from __future__ import annotations

from typing import Any, NamedTuple

from sqlalchemy import BigInteger, Column, Connection, String, Table, select

from shipyard.storage.sql.schema import metadata

step_cache_table = Table(
    "step_cache",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("step", String(200), nullable=False),
    Column("digest", String(64), nullable=False),
    Column("format", String(20), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("run_id", String(32), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)


class CachedOutput(NamedTuple):
    """Where the output of a cached step call is stored, and who stored it."""

    key: str
    step: str
    digest: str
    format: str
    size: int
    run_id: str
    created_at: str
    created_by: str  # the actor whose run stored it (pickles are reused by them alone)


class SqlStepCache:
    """Reads and writes step cache rows; callers own the transaction."""

    def get(self, conn: Connection, key: str) -> CachedOutput | None:
        """The cached output of the call ``key``, or None."""
        table = step_cache_table
        row = conn.execute(select(table).where(table.c.key == key)).one_or_none()
        return _from_row(row._mapping) if row else None

    def put(self, conn: Connection, entry: CachedOutput) -> None:
        """Record ``entry``, replacing one of the same key (two runs caching the same call
        at once both succeed: the last one's row stays)."""
        from sqlalchemy.dialects import postgresql, sqlite

        dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
        values = entry._asdict()
        statement: Any = dialect.insert(step_cache_table).values(**values)
        changed = {name: value for name, value in values.items() if name != "key"}
        conn.execute(statement.on_conflict_do_update(index_elements=["key"], set_=changed))


def _from_row(row: Any) -> CachedOutput:
    return CachedOutput(**{name: row[name] for name in CachedOutput._fields})
