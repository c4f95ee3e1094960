"""The audit trail service: record writes in their own transaction, list and verify.

Every service that writes calls :meth:`AuditTrail.record` with the connection of its
write transaction, so the event is committed if and only if the write is. Appending
locks the chain head first, which serializes concurrent writers into one chain.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from shipyard.entities import AuditEvent, ChainVerdict
from shipyard.governance.audit_chain import entry_hash, summarize, verify_chain
from shipyard.storage.interfaces import AuditStore
from shipyard.storage.sql.audit import SqlAuditStore
from shipyard.storage.sql.engine import Database


def utc_now() -> str:
    """The current time as an ISO-8601 UTC string with microseconds (what is hashed)."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


class AuditTrail:
    """Appends to, lists and verifies the hash-chained audit trail."""

    def __init__(
        self,
        db: Database,
        store: AuditStore | None = None,
        clock: Callable[[], str] = utc_now,
    ) -> None:
        self._db = db
        self._store: AuditStore = store or SqlAuditStore()
        self._clock = clock

    def record(
        self,
        conn: Connection,
        *,
        actor: str,
        action: str,
        entity_kind: str,
        entity_id: str,
        payload: dict[str, Any] | None = None,
    ) -> AuditEvent:
        """Append one event inside the caller's write transaction ``conn``."""
        head = self._store.lock_head(conn)
        fields: dict[str, Any] = {
            "seq": head.seq + 1,
            "occurred_at": self._clock(),
            "actor": actor,
            "action": action,
            "entity_kind": entity_kind,
            "entity_id": str(entity_id),
            "payload": summarize(payload),
            "prev_hash": head.hash,
        }
        event = AuditEvent(**fields, hash=entry_hash(**fields))
        self._store.append(conn, event)
        return event

    def entries(self, limit: int | None = None) -> list[AuditEvent]:
        """The newest ``limit`` events (all when None), oldest first."""
        with self._db.read() as conn:
            if limit is None:
                return list(self._store.events(conn))
            return self._store.latest(conn, limit)

    def count(self) -> int:
        """How many events the trail holds."""
        with self._db.read() as conn:
            return self._store.count(conn)

    def verify(self) -> ChainVerdict:
        """Check the whole chain in one consistent snapshot."""
        with self._db.read() as conn:
            head = self._store.head(conn)
            return verify_chain(self._store.events(conn), head)
