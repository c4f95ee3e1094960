"""Access control: roles, users, tokens stored only as hashes, authentication, audit."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import inspect, select, table, text

from shipyard.entities import Principal
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from shipyard.governance.access import AccessService, expiry_time, hash_token
from shipyard.governance.roles import ROLES, parse_role, role_allows

T0 = datetime(2027, 3, 1, 12, 0, tzinfo=UTC)


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def access(workspace: Any, clock: FakeClock) -> AccessService:
    return AccessService(workspace._platform.db, workspace.audit, "tester", clock=clock)


# roles


@pytest.mark.parametrize(
    ("have", "need", "allowed"),
    [
        ("viewer", "viewer", True),
        ("viewer", "editor", False),
        ("editor", "viewer", True),
        ("editor", "approver", False),
        ("approver", "editor", True),
        ("approver", "admin", False),
        ("admin", "viewer", True),
        ("admin", "admin", True),
    ],
    ids=lambda v: str(v),
)
def test_each_role_includes_the_previous(have: str, need: str, allowed: bool) -> None:
    assert role_allows(have, need) is allowed


def test_roles_are_ordered_and_parsed() -> None:
    assert ROLES == ("viewer", "editor", "approver", "admin")
    assert parse_role(" Admin ") == "admin"
    with pytest.raises(ValidationError, match=r"one of viewer, editor, approver, admin.*'root'"):
        parse_role("root")


# users


def test_users_are_added_listed_and_change_role(access: AccessService) -> None:
    alice = access.add_user("alice", "editor")
    assert (alice.name, alice.role, alice.created_by, alice.disabled) == (
        "alice",
        "editor",
        "tester",
        False,
    )
    access.add_user("bob@example.com", "viewer")
    assert [u.name for u in access.list_users()] == ["alice", "bob@example.com"]
    assert access.set_role("alice", "admin").role == "admin"
    assert access.get_user("alice").role == "admin"
    with pytest.raises(AlreadyExists, match="users set-role"):
        access.add_user("alice", "viewer")
    with pytest.raises(ValidationError, match="user name"):
        access.add_user("-bad name", "viewer")
    with pytest.raises(NotFound, match="'carol'"):
        access.set_role("carol", "viewer")
    with pytest.raises(ValidationError, match="role must be"):
        access.set_role("alice", "owner")


# tokens


def test_token_round_trip(access: AccessService) -> None:
    info, secret = access.create_token("alice", label="ci", role="editor")
    assert secret.startswith("sy_")
    assert len(secret) > 40
    assert (info.user, info.label, info.created_by, info.expires_at) == (
        "alice",
        "ci",
        "tester",
        None,
    )
    assert access.authenticate(secret) == Principal(user="alice", role="editor", token_id=info.id)
    listed = access.list_tokens()
    assert [t.id for t in listed] == [info.id]
    assert secret not in repr(listed)
    assert access.list_tokens("alice") == listed
    assert access.token_status(listed[0]) == "active"


def _dump_every_table(access: AccessService) -> str:
    db = access._db
    with db.read() as conn:
        names = inspect(conn).get_table_names()
        dumped = [repr(conn.execute(select(text("*")).select_from(table(n))).all()) for n in names]
    return "\n".join(dumped)


def test_only_the_hash_of_a_secret_is_stored(access: AccessService, workspace: Any) -> None:
    _, secret = access.create_token("alice", label="laptop", role="viewer")
    access.authenticate(secret)
    dump = _dump_every_table(access)
    assert hash_token(secret) in dump
    assert secret not in dump
    assert secret[3:] not in dump
    if access._db.dialect == "sqlite":  # the raw files too, WAL included
        database = Path(workspace._platform.db.engine.url.database)
        for path in database.parent.glob(database.name + "*"):
            assert secret[3:].encode() not in path.read_bytes()


def _revoked(access: AccessService, clock: FakeClock, secret: str, token_id: str) -> None:
    access.revoke_token(token_id)


def _expired(access: AccessService, clock: FakeClock, secret: str, token_id: str) -> None:
    clock.advance(hours=2)


def _disabled(access: AccessService, clock: FakeClock, secret: str, token_id: str) -> None:
    access.set_disabled("alice", True)


@pytest.mark.parametrize(
    ("spoil", "message"),
    [
        (_revoked, "was revoked at"),
        (_expired, "expired at 2027-03-01T13:00"),
        (_disabled, "user 'alice' .* is disabled"),
    ],
    ids=["revoked", "expired", "disabled-user"],
)
def test_a_spoiled_token_is_refused(
    access: AccessService, clock: FakeClock, spoil: Any, message: str
) -> None:
    info, secret = access.create_token("alice", expires_in="1h", role="editor")
    clock.advance(minutes=59)
    assert access.authenticate(secret).token_id == info.id
    spoil(access, clock, secret, info.id)
    with pytest.raises(Unauthenticated, match=message) as caught:
        access.authenticate(secret)
    assert secret not in str(caught.value)
    assert info.id in str(caught.value)


@pytest.mark.parametrize(
    "secret",
    ["sy_" + "x" * 43, "not-a-shipyard-token", ""],
    ids=["unknown", "foreign", "empty"],
)
def test_an_unknown_token_is_refused(access: AccessService, secret: str) -> None:
    access.create_token("alice", role="viewer")
    with pytest.raises(Unauthenticated) as caught:
        access.authenticate(secret)
    assert caught.value.http_status == 401
    assert not secret or secret not in caught.value.message


def test_enabling_a_user_again_restores_its_tokens(access: AccessService) -> None:
    _, secret = access.create_token("alice", role="viewer")
    access.set_disabled("alice", True)
    with pytest.raises(Conflict, match="users enable alice"):
        access.create_token("alice")
    access.set_disabled("alice", False)
    assert access.authenticate(secret).user == "alice"


def test_set_role_takes_effect_on_the_next_request(access: AccessService) -> None:
    _, secret = access.create_token("alice", role="viewer")
    principal = access.authenticate(secret)
    with pytest.raises(PermissionDenied, match=r"needs role 'editor'.*holds 'viewer'"):
        access.authorize(principal, "editor")
    access.set_role("alice", "approver")
    principal = access.authenticate(secret)
    assert principal.role == "approver"
    access.authorize(principal, "editor")
    access.authorize(principal, "approver")
    with pytest.raises(PermissionDenied) as caught:
        access.authorize(principal, "admin")
    assert caught.value.http_status == 403


def test_last_used_is_written_at_most_once_a_minute(
    access: AccessService, clock: FakeClock
) -> None:
    info, secret = access.create_token("alice", role="viewer")
    assert access.list_tokens()[0].last_used_at is None
    access.authenticate(secret)
    first = access.list_tokens()[0].last_used_at
    assert first is not None
    assert first.startswith("2027-03-01T12:00:00")
    clock.advance(seconds=59)
    access.authenticate(secret)
    assert access.list_tokens()[0].last_used_at == first
    clock.advance(seconds=2)
    access.authenticate(secret)
    assert access.list_tokens()[0].last_used_at.startswith("2027-03-01T12:01:01")


def test_create_token_owner_rules(access: AccessService) -> None:
    access.add_user("alice", "editor")
    with pytest.raises(NotFound, match="--role ROLE"):
        access.create_token("carol")
    with pytest.raises(Conflict, match="users set-role alice admin"):
        access.create_token("alice", role="admin")
    with pytest.raises(ValidationError, match="'soon'"):
        access.create_token("dave", expires_in="soon", role="viewer")
    assert [u.name for u in access.list_users()] == ["alice"]  # dave was not half-made
    info, _ = access.create_token("alice", role="editor", label="  ")
    assert info.label is None
    with pytest.raises(NotFound, match="'nobody'"):
        access.list_tokens("nobody")


def test_revoking_is_final_and_idempotent(access: AccessService, workspace: Any) -> None:
    info, _ = access.create_token("alice", role="viewer")
    revoked = access.revoke_token(info.id)
    assert revoked.revoked_at is not None
    assert access.revoke_token(info.id) == revoked
    assert access.token_status(access.list_tokens()[0]) == "revoked"
    assert [e.action for e in workspace.audit.entries()].count("token.revoke") == 1
    with pytest.raises(NotFound, match="tokens list"):
        access.revoke_token("nope")


@pytest.mark.parametrize(
    ("spec", "expected"),
    [
        ("30d", T0 + timedelta(days=30)),
        ("12h", T0 + timedelta(hours=12)),
        ("90m", T0 + timedelta(minutes=90)),
        ("1w2d", T0 + timedelta(days=9)),
        (" 2W ", T0 + timedelta(weeks=2)),
        ("2027-04-01", datetime(2027, 4, 1, tzinfo=UTC)),
        ("2027-04-01T10:00+02:00", datetime(2027, 4, 1, 8, tzinfo=UTC)),
        (timedelta(seconds=5), T0 + timedelta(seconds=5)),
        (None, None),
    ],
    ids=lambda v: str(v).strip(),
)
def test_expiry_specs(spec: Any, expected: datetime | None) -> None:
    assert expiry_time(spec, T0) == expected


@pytest.mark.parametrize(
    ("spec", "message"),
    [("0d", "in the future"), ("2020-01-01", "in the future"), ("3 days", "duration such as")],
    ids=["zero", "past", "words"],
)
def test_bad_expiry_specs(spec: str, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        expiry_time(spec, T0)


def test_every_write_is_audited_without_the_secret(access: AccessService, workspace: Any) -> None:
    info, secret = access.create_token("alice", label="ci", role="viewer")
    access.authenticate(secret)  # a read (and a last-used stamp): nothing to audit
    access.set_role("alice", "editor")
    access.set_role("alice", "editor")  # no change, no event
    access.set_disabled("alice", True)
    access.set_disabled("alice", False)
    access.revoke_token(info.id)
    events = [e for e in workspace.audit.entries() if e.action != "workspace.init"]
    assert [(e.action, e.entity_id) for e in events] == [
        ("user.add", "alice"),
        ("token.create", info.id),
        ("user.role", "alice"),
        ("user.disable", "alice"),
        ("user.enable", "alice"),
        ("token.revoke", info.id),
    ]
    assert events[1].payload == {"user": "alice", "label": "ci", "expires_at": None}
    assert events[2].payload == {"role": "editor", "previous": "viewer"}
    assert all(e.actor == "tester" for e in events)
    assert secret not in repr(events)
    assert workspace.audit.verify().ok


def test_the_workspace_and_platform_expose_the_service(workspace: Any) -> None:
    assert workspace.access is workspace._platform.access
    _, secret = workspace.access.create_token("ci-bot", role="editor")
    assert workspace.access.authenticate(secret).user == "ci-bot"
