"""The narrow metadata interfaces that services depend on, one per aggregate.

Each method takes the caller's open transaction (``tx``, a SQLAlchemy Connection for the
SQL backend) so that a service can write several aggregates and the audit event in one
transaction. The SQL implementations live in ``storage/sql/<aggregate>.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Protocol

from shipyard.entities import AuditEvent, ChainHead, Setting


class AuditStore(Protocol):
    """Rows of the audit trail and its one-row chain head."""

    def lock_head(self, tx: Any) -> ChainHead:
        """The chain head, locked until ``tx`` ends (serializes appends)."""

    def head(self, tx: Any) -> ChainHead:
        """The committed chain head, without locking."""

    def append(self, tx: Any, event: AuditEvent) -> None:
        """Store ``event`` and make it the head."""

    def count(self, tx: Any) -> int:
        """How many events are stored."""

    def events(self, tx: Any, *, after_seq: int = 0) -> Iterator[AuditEvent]:
        """Events after ``after_seq`` in chain order."""

    def latest(self, tx: Any, limit: int) -> list[AuditEvent]:
        """The ``limit`` newest events, oldest first."""


class SettingsStore(Protocol):
    """Rows of workspace settings."""

    def get(self, tx: Any, key: str) -> Setting | None:
        """One setting, or None."""

    def all(self, tx: Any) -> list[Setting]:
        """Every setting, sorted by key."""

    def put(self, tx: Any, setting: Setting) -> None:
        """Insert or replace one setting."""

    def remove(self, tx: Any, key: str) -> bool:
        """Delete one setting; True when it existed."""
