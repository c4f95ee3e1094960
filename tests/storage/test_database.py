"""The metadata store: migrations on open, SQLite tuning, clear errors for bad URLs."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from shipyard.errors import StorageError, UnknownBackend
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.migrate import (
    MIGRATIONS_DIR,
    current_revision,
    ensure_schema,
    upgrade,
)
from shipyard.storage.sql.schema_head import SCHEMA_HEAD


def test_schema_head_matches_the_newest_migration() -> None:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    assert ScriptDirectory.from_config(cfg).get_current_head() == SCHEMA_HEAD


def test_migrations_apply_once_and_are_idempotent(store_url: str) -> None:
    db = Database(store_url)
    try:
        with db.read() as conn:
            assert current_revision(conn) is None
        assert upgrade(db) == (None, SCHEMA_HEAD)
        assert upgrade(db) == (SCHEMA_HEAD, SCHEMA_HEAD)
        ensure_schema(db)
        with db.read() as conn:
            assert current_revision(conn) == SCHEMA_HEAD
            head = conn.execute(text("SELECT seq, hash FROM audit_head")).one()
        assert tuple(head) == (0, "0" * 64)
    finally:
        db.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    with db.read() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000
    db.dispose()


def test_write_rolls_back_on_error(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'x.db'}")
    ensure_schema(db)

    def write_that_fails() -> None:
        with db.write() as conn:
            conn.execute(text("INSERT INTO settings VALUES ('k', '1', 't', 'me')"))
            raise ZeroDivisionError

    with pytest.raises(ZeroDivisionError):
        write_that_fails()
    with db.read() as conn:
        assert conn.execute(text("SELECT count(*) FROM settings")).scalar() == 0
    db.dispose()


@pytest.mark.parametrize("url", ["mysql://x@y/z", "nonsense", "oracle+foo://a/b"], ids=str)
def test_unknown_store_urls_name_the_known_schemes(url: str) -> None:
    with pytest.raises(UnknownBackend, match="sqlite"):
        Database(url)


def test_unreachable_postgres_is_a_storage_error() -> None:
    db = Database("postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=2")
    with pytest.raises(StorageError, match="127.0.0.1:1"):
        ensure_schema(db)
