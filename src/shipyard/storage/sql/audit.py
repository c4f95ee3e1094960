"""Rows of the audit trail: the events and the one-row chain head.

This module stores and reads; the chain's rules (hashing, verification) live in
``shipyard.governance.audit_chain``. Appending is serialized on the head row: SQLite
write transactions hold the database's write lock already, PostgreSQL takes a row lock
(``SELECT ... FOR UPDATE``), so concurrent writers always extend one unbroken chain.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import Column, Connection, Integer, String, Table, Text, func, select, update

from shipyard.entities import AuditEvent, ChainHead
from shipyard.storage.sql.schema import canonical_json, metadata

GENESIS_HASH = "0" * 64
HEAD_ROW_ID = 1
_PAGE = 2000

audit_events = Table(
    "audit_events",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("occurred_at", String(40), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("action", String(100), nullable=False),
    Column("entity_kind", String(100), nullable=False),
    Column("entity_id", String(300), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
)

audit_head = Table(
    "audit_head",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=False),
    Column("seq", Integer, nullable=False),
    Column("hash", String(64), nullable=False),
)


class SqlAuditStore:
    """Reads and appends audit rows; callers own the transaction."""

    def lock_head(self, conn: Connection) -> ChainHead:
        """The chain head, locked until the transaction ends."""
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ROW_ID)
        row = conn.execute(query.with_for_update()).one_or_none()
        if row is None:
            conn.execute(audit_head.insert().values(id=HEAD_ROW_ID, seq=0, hash=GENESIS_HASH))
            return ChainHead(0, GENESIS_HASH)
        return ChainHead(row.seq, row.hash)

    def head(self, conn: Connection) -> ChainHead:
        """The chain head as last committed (no lock)."""
        query = select(audit_head.c.seq, audit_head.c.hash).where(audit_head.c.id == HEAD_ROW_ID)
        row = conn.execute(query).one_or_none()
        return ChainHead(row.seq, row.hash) if row else ChainHead(0, GENESIS_HASH)

    def append(self, conn: Connection, event: AuditEvent) -> None:
        """Insert ``event`` and make it the head (the caller holds the head lock)."""
        conn.execute(audit_events.insert().values(_to_row(event)))
        conn.execute(
            update(audit_head)
            .where(audit_head.c.id == HEAD_ROW_ID)
            .values(seq=event.seq, hash=event.hash)
        )

    def count(self, conn: Connection) -> int:
        """How many events are stored."""
        return int(conn.execute(select(func.count()).select_from(audit_events)).scalar_one())

    def events(self, conn: Connection, *, after_seq: int = 0) -> Iterator[AuditEvent]:
        """Every event after ``after_seq`` in chain order, read page by page."""
        last = after_seq
        while True:
            query = (
                select(audit_events)
                .where(audit_events.c.seq > last)
                .order_by(audit_events.c.seq)
                .limit(_PAGE)
            )
            rows = conn.execute(query).all()
            for row in rows:
                yield _from_row(row._mapping)
            if len(rows) < _PAGE:
                return
            last = rows[-1].seq

    def latest(self, conn: Connection, limit: int) -> list[AuditEvent]:
        """The ``limit`` newest events, oldest first."""
        query = select(audit_events).order_by(audit_events.c.seq.desc()).limit(limit)
        return [_from_row(row._mapping) for row in reversed(conn.execute(query).all())]


def _to_row(event: AuditEvent) -> dict[str, Any]:
    return {
        "seq": event.seq,
        "occurred_at": event.occurred_at,
        "actor": event.actor,
        "action": event.action,
        "entity_kind": event.entity_kind,
        "entity_id": event.entity_id,
        "payload": canonical_json(event.payload),
        "prev_hash": event.prev_hash,
        "hash": event.hash,
    }


def _from_row(row: Any) -> AuditEvent:
    return AuditEvent(
        seq=row["seq"],
        occurred_at=row["occurred_at"],
        actor=row["actor"],
        action=row["action"],
        entity_kind=row["entity_kind"],
        entity_id=row["entity_id"],
        payload=_load_payload(row["payload"]),
        prev_hash=row["prev_hash"],
        hash=row["hash"],
    )


def _load_payload(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError:
        return {"_unreadable": text}
    return value if isinstance(value, dict) else {"_value": value}
