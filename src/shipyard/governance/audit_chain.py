"""The rules of the audit hash chain: how an entry is hashed and how a chain is checked.

Each entry's hash is BLAKE3 over the canonical JSON of all its other fields, the
previous entry's hash included. Verification walks the entries in order and reports
the first one that does not fit: a changed field (its hash no longer matches), a
deleted or inserted entry (a gap in the sequence or a broken link), a reordering (a
broken link), or a chain that ends before or after the recorded head.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import blake3

from shipyard.entities import AuditEvent, ChainHead, ChainVerdict
from shipyard.storage.sql.audit import GENESIS_HASH
from shipyard.storage.sql.schema import canonical_json

MAX_PAYLOAD_TEXT = 256


def entry_hash(
    *,
    seq: int,
    occurred_at: str,
    actor: str,
    action: str,
    entity_kind: str,
    entity_id: str,
    payload: dict[str, Any],
    prev_hash: str,
) -> str:
    """The hash that seals one entry to everything before it."""
    fields = [seq, occurred_at, actor, action, entity_kind, entity_id, payload, prev_hash]
    return blake3.blake3(canonical_json(fields).encode()).hexdigest()


def recompute(event: AuditEvent) -> str:
    """The hash ``event`` should carry, from its stored fields."""
    return entry_hash(
        seq=event.seq,
        occurred_at=event.occurred_at,
        actor=event.actor,
        action=event.action,
        entity_kind=event.entity_kind,
        entity_id=event.entity_id,
        payload=event.payload,
        prev_hash=event.prev_hash,
    )


def summarize(payload: dict[str, Any] | None) -> dict[str, Any]:
    """A small, JSON-safe summary of a payload: long strings are cut, odd values named."""
    return {str(key): _summarize_value(value) for key, value in (payload or {}).items()}


def _summarize_value(value: Any) -> Any:
    if value is None or isinstance(value, bool | int | float):
        return value
    if isinstance(value, str):
        return value if len(value) <= MAX_PAYLOAD_TEXT else value[:MAX_PAYLOAD_TEXT] + "…"
    if isinstance(value, dict):
        return summarize(value)
    if isinstance(value, list | tuple):
        return [_summarize_value(item) for item in value[:50]]
    return _summarize_value(str(value))


def verify_chain(events: Iterable[AuditEvent], head: ChainHead) -> ChainVerdict:
    """Check every link of the chain, then that it ends exactly at ``head``."""
    expected_seq, prev_hash, count = 1, GENESIS_HASH, 0
    for event in events:
        problem = _check_entry(event, expected_seq, prev_hash)
        if problem:
            return _broken(event.seq, problem, count, event)
        expected_seq, prev_hash, count = event.seq + 1, event.hash, count + 1
    if (count, prev_hash) != (head.seq, head.hash):
        reason = (
            f"the chain ends at entry {count} but the recorded head is entry {head.seq}: "
            "entries were deleted from or added to the end"
        )
        return ChainVerdict(False, count, first_bad_seq=min(count + 1, head.seq), reason=reason)
    return ChainVerdict(True, count)


def _check_entry(event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    if event.seq != expected_seq:
        found = f"expected entry {expected_seq} here, found entry {event.seq}"
        return f"{found}: entries missing or inserted"
    if event.prev_hash != prev_hash:
        return "its link to the previous entry is broken: entries deleted, inserted or reordered"
    if recompute(event) != event.hash:
        return "its content does not match its hash: the entry was changed"
    return None


def _broken(seq: int, reason: str, count: int, event: AuditEvent) -> ChainVerdict:
    details = {"action": event.action, "actor": event.actor, "occurred_at": event.occurred_at}
    return ChainVerdict(False, count, first_bad_seq=seq, reason=reason, details=details)
