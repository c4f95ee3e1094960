"""Rows of workspace settings: named JSON values, the one mutable key-value table."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import Column, Connection, String, Table, Text, delete, select

from shipyard.entities import Setting
from shipyard.storage.sql.schema import canonical_json, metadata

settings_table = Table(
    "settings",
    metadata,
    Column("key", String(200), primary_key=True),
    Column("value", Text, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("updated_by", String(200), nullable=False),
)


class SqlSettingsStore:
    """Reads and writes settings rows; callers own the transaction."""

    def get(self, conn: Connection, key: str) -> Setting | None:
        """The setting named ``key``, or None."""
        row = conn.execute(select(settings_table).where(settings_table.c.key == key)).one_or_none()
        return _from_row(row._mapping) if row else None

    def all(self, conn: Connection) -> list[Setting]:
        """Every setting, sorted by key."""
        rows = conn.execute(select(settings_table).order_by(settings_table.c.key)).all()
        return [_from_row(row._mapping) for row in rows]

    def put(self, conn: Connection, setting: Setting) -> None:
        """Insert or replace one setting."""
        conn.execute(delete(settings_table).where(settings_table.c.key == setting.key))
        conn.execute(
            settings_table.insert().values(
                key=setting.key,
                value=canonical_json(setting.value),
                updated_at=setting.updated_at,
                updated_by=setting.updated_by,
            )
        )

    def remove(self, conn: Connection, key: str) -> bool:
        """Delete one setting; True when it existed."""
        result = conn.execute(delete(settings_table).where(settings_table.c.key == key))
        return bool(result.rowcount)


def _from_row(row: Any) -> Setting:
    return Setting(
        key=row["key"],
        value=json.loads(row["value"]),
        updated_at=row["updated_at"],
        updated_by=row["updated_by"],
    )
