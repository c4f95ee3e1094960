"""Schema migrations: Alembic scripts are the only way the schema changes.

Opening a store checks the schema revision with one cheap query; Alembic itself is
imported only when an upgrade is due, so commands stay fast. Upgrades run inside one
write transaction (``BEGIN IMMEDIATE`` on SQLite, an advisory lock on PostgreSQL), so
several processes opening an old workspace at once migrate it exactly once.
"""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from shipyard.errors import ConfigError
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.schema_head import SCHEMA_HEAD

MIGRATIONS_DIR = Path(__file__).with_name("migrations")
_PG_MIGRATION_LOCK = 0x5B1F_A2D0


def current_revision(conn: Connection) -> str | None:
    """The schema revision recorded in the store, or None for an empty store."""
    try:
        with conn.begin_nested():
            row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
    except DBAPIError:
        return None
    return row[0] if row else None


def ensure_schema(db: Database) -> None:
    """Upgrade the store to the newest schema if it is behind (cheap when it is not)."""
    with db.read() as conn:
        revision = current_revision(conn)
    if revision != SCHEMA_HEAD:
        upgrade(db)


def upgrade(db: Database, target: str = "head") -> tuple[str | None, str | None]:
    """Apply migrations up to ``target``; returns the revisions before and after."""
    from alembic import command
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    known = {script.revision for script in ScriptDirectory.from_config(config).walk_revisions()}
    with db.write() as conn:
        if db.dialect == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        before = current_revision(conn)
        if before is not None and before not in known:
            raise ConfigError(
                f"the metadata store is at schema revision {before!r}, newer than this "
                "shipyard knows; upgrade shipyard to use this workspace"
            )
        config.attributes["connection"] = conn
        command.upgrade(config, target)
        after = current_revision(conn)
    return before, after
