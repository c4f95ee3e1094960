"""Connections and transactions for the metadata store.

SQLite is tuned for many processes sharing one workspace: WAL mode (readers never
block the writer), a busy timeout, and one writer path: every write transaction starts
with ``BEGIN IMMEDIATE`` so that it takes the write lock up front and waits for it
(instead of failing with "database is locked" when a read lock cannot be upgraded);
threads of one process queue on a lock before that. PostgreSQL needs none of this;
writers that must be serialized (the audit chain head) lock a row instead.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError

from shipyard.errors import StorageError, UnknownBackend

KNOWN_SCHEMES = ("sqlite", "postgresql+psycopg")
SQLITE_BUSY_TIMEOUT_S = 60.0
_WRITE_OPTION = "shipyard_write"


class Database:
    """An engine plus the read/write transaction discipline of shipyard."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = _create_engine(url)
        self.dialect = self.engine.dialect.name
        self._write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.dialect == "sqlite" else nullcontext()
        )

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction: one consistent snapshot on both backends."""
        with _storage_errors(self.url), self.engine.connect() as conn:
            if self.dialect == "postgresql":
                conn.execution_options(isolation_level="REPEATABLE READ")
            with conn.begin():
                yield conn

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction: committed on success, rolled back on any exception."""
        with (
            self._write_lock,
            _storage_errors(self.url),
            self._connect_for_write() as conn,
            conn.begin(),
        ):
            yield conn

    def _connect_for_write(self) -> Connection:
        return self.engine.connect().execution_options(**{_WRITE_OPTION: True})

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __repr__(self) -> str:
        return f"Database({make_url(self.url).render_as_string(hide_password=True)!r})"


def _create_engine(url: str) -> Engine:
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise UnknownBackend(
            f"metadata store URL {url!r} is not a database URL; "
            f"expected one of the schemes {', '.join(KNOWN_SCHEMES)}"
        ) from exc
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise UnknownBackend(
            f"no metadata store backend for {parsed.drivername!r}; "
            f"known schemes: {', '.join(KNOWN_SCHEMES)}"
        )
    if backend == "sqlite":
        return _sqlite_engine(parsed.render_as_string(hide_password=False))
    return create_engine(parsed.set(drivername="postgresql+psycopg"), pool_pre_ping=True)


def _sqlite_engine(url: str) -> Engine:
    engine = create_engine(
        url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_S, "check_same_thread": False}
    )

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        # Let us emit BEGIN ourselves (the driver's implicit transactions defeat
        # BEGIN IMMEDIATE), then tune the connection for concurrent use.
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(SQLITE_BUSY_TIMEOUT_S * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        writing = conn.get_execution_options().get(_WRITE_OPTION, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if writing else "BEGIN")

    return engine


@contextmanager
def _storage_errors(url: str) -> Iterator[None]:
    """Turn a database that cannot be reached into one clear StorageError."""
    try:
        yield
    except OperationalError as exc:
        where = make_url(url).render_as_string(hide_password=True)
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig else str(exc)
        raise StorageError(f"metadata store {where} failed: {reason}") from exc
