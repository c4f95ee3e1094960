"""Workspace settings: named JSON values that later features read (defaults, policies).

Settings are the one explicit key-value pointer of a workspace; every change is audited
with its previous value, so the trail can replay how a setting evolved.
"""

from __future__ import annotations

import json
import re
from typing import Any

from shipyard.entities import Setting
from shipyard.errors import NotFound, ValidationError
from shipyard.governance.audit import AuditTrail, utc_now
from shipyard.storage.interfaces import SettingsStore
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.settings import SqlSettingsStore

KEY_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,199}")


class SettingsService:
    """Get, set, list and unset workspace settings; every write is audited."""

    def __init__(
        self, db: Database, audit: AuditTrail, actor: str, store: SettingsStore | None = None
    ) -> None:
        self._db = db
        self._audit = audit
        self._actor = actor
        self._store: SettingsStore = store or SqlSettingsStore()

    def get(self, key: str) -> Setting:
        """The setting ``key``; NotFound when it was never set."""
        _check_key(key)
        with self._db.read() as conn:
            setting = self._store.get(conn, key)
        if setting is None:
            raise NotFound(f"no setting named {key!r}; `shipyard settings list` shows them")
        return setting

    def list(self) -> list[Setting]:
        """Every setting, sorted by key."""
        with self._db.read() as conn:
            return self._store.all(conn)

    def set(self, key: str, value: Any) -> Setting:
        """Set ``key`` to the JSON-compatible ``value``."""
        _check_key(key)
        _check_json(key, value)
        setting = Setting(key=key, value=value, updated_at=utc_now(), updated_by=self._actor)
        with self._db.write() as conn:
            previous = self._store.get(conn, key)
            self._store.put(conn, setting)
            self._audit.record(
                conn,
                actor=self._actor,
                action="setting.set",
                entity_kind="setting",
                entity_id=key,
                payload={"value": value, "previous": previous.value if previous else None},
            )
        return setting

    def unset(self, key: str) -> None:
        """Remove ``key``; NotFound when it was not set."""
        _check_key(key)
        with self._db.write() as conn:
            previous = self._store.get(conn, key)
            if previous is None or not self._store.remove(conn, key):
                raise NotFound(f"no setting named {key!r}; nothing to unset")
            self._audit.record(
                conn,
                actor=self._actor,
                action="setting.unset",
                entity_kind="setting",
                entity_id=key,
                payload={"previous": previous.value},
            )


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not KEY_PATTERN.fullmatch(key):
        raise ValidationError(
            "setting key must be letters, digits, '.', '_' or '-' (at most 200 characters), "
            f"got {key!r} instead"
        )


def _check_json(key: str, value: Any) -> None:
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"setting {key!r} must be a JSON value (string, number, bool, list, object), "
            f"got {type(value).__name__} instead: {exc}"
        ) from exc
