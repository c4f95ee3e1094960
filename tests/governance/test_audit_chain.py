"""The audit hash chain: appended in the write's transaction, and tamper-evident."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import Connection, delete, text, update

from shipyard.storage.sql.audit import audit_events

ENTRIES = 6  # workspace.init + five settings


@pytest.fixture
def trail(workspace: Any) -> Any:
    for i in range(ENTRIES - 1):
        workspace.settings.set(f"key{i}", {"i": i})
    return workspace


def _tamper(ws: Any, change: Callable[[Connection], None]) -> None:
    with ws._platform.db.engine.begin() as conn:
        change(conn)


def test_every_write_appends_one_linked_event(trail: Any) -> None:
    events = trail.audit.entries()
    assert [e.seq for e in events] == list(range(1, ENTRIES + 1))
    assert [e.action for e in events] == ["workspace.init"] + ["setting.set"] * (ENTRIES - 1)
    assert all(
        later.prev_hash == earlier.hash for earlier, later in zip(events, events[1:], strict=False)
    )
    assert events[1].actor == "tester"
    assert events[1].payload == {"value": {"i": 0}, "previous": None}
    assert trail.audit.verify().ok
    assert trail.audit.verify().entries == ENTRIES


def test_a_failed_write_leaves_no_event(trail: Any) -> None:
    db = trail._platform.db

    def audited_write_that_fails() -> None:
        with db.write() as conn:
            trail.audit.record(conn, actor="x", action="a", entity_kind="k", entity_id="1")
            raise RuntimeError("the write failed after auditing")

    with pytest.raises(RuntimeError):
        audited_write_that_fails()
    assert trail.audit.count() == ENTRIES
    assert trail.audit.verify().ok


def _change_payload(conn: Connection) -> None:
    conn.execute(update(audit_events).where(audit_events.c.seq == 3).values(payload='{"i":99}'))


def _change_actor(conn: Connection) -> None:
    conn.execute(update(audit_events).where(audit_events.c.seq == 3).values(actor="mallory"))


def _delete_middle(conn: Connection) -> None:
    conn.execute(delete(audit_events).where(audit_events.c.seq == 3))


def _delete_last(conn: Connection) -> None:
    conn.execute(delete(audit_events).where(audit_events.c.seq == ENTRIES))


def _swap(conn: Connection) -> None:
    """Exchange the contents of entries 3 and 4, keeping their sequence numbers."""
    conn.execute(update(audit_events).where(audit_events.c.seq == 3).values(seq=-3))
    conn.execute(update(audit_events).where(audit_events.c.seq == 4).values(seq=3))
    conn.execute(update(audit_events).where(audit_events.c.seq == -3).values(seq=4))


def _insert_forged(conn: Connection) -> None:
    """Shift entries 3.. up by one and slip a forged entry in at 3."""
    conn.execute(text("UPDATE audit_events SET seq = -(seq + 1) WHERE seq >= 3"))
    conn.execute(text("UPDATE audit_events SET seq = -seq WHERE seq < 0"))
    row = conn.execute(audit_events.select().where(audit_events.c.seq == 2)).one()._asdict()
    conn.execute(audit_events.insert().values({**row, "seq": 3, "action": "forged"}))


TAMPERS = [
    (_change_payload, 3),
    (_change_actor, 3),
    (_delete_middle, 4),
    (_delete_last, ENTRIES),
    (_swap, 3),
    (_insert_forged, 3),
]


@pytest.mark.parametrize(
    ("tamper", "bad_seq"),
    TAMPERS,
    ids=["change-payload", "change-actor", "delete-middle", "delete-last", "swap", "insert"],
)
def test_tampering_is_caught_at_the_bad_entry(
    trail: Any, tamper: Callable[[Connection], None], bad_seq: int
) -> None:
    _tamper(trail, tamper)
    verdict = trail.audit.verify()
    assert not verdict.ok
    assert verdict.first_bad_seq == bad_seq
    assert verdict.reason


def test_writes_after_verify_keep_the_chain(trail: Any) -> None:
    trail.settings.unset("key0")
    events = trail.audit.entries(limit=2)
    assert events[-1].action == "setting.unset"
    assert events[-1].payload == {"previous": {"i": 0}}
    assert trail.audit.verify().ok
