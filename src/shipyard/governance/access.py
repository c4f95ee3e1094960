"""Access control for a shared server: users with roles, and API tokens that name them.

A token is ``sy_`` plus 32 random bytes (URL-safe base64). Only its SHA-256 is stored:
the secret is returned once, by :meth:`AccessService.create_token`, and never written,
logged or audited. A fast hash is enough because the secret is 256 random bits (there
is nothing to guess by brute force), and it keeps authentication one indexed lookup.

A token carries no role of its own: a request acts with the role its user holds at the
time of the request, so ``set_role`` takes effect on the very next call. The service
does not check the caller's role itself: in an embedded workspace the local user holds
every role, and the server calls :meth:`AccessService.authorize` before each request.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Connection

from shipyard.entities import Principal, TokenInfo, User
from shipyard.errors import (
    AlreadyExists,
    Conflict,
    NotFound,
    PermissionDenied,
    Unauthenticated,
    ValidationError,
)
from shipyard.governance.audit import AuditTrail
from shipyard.governance.roles import parse_role, role_allows
from shipyard.storage.sql.access import SqlAccessStore
from shipyard.storage.sql.engine import Database

TOKEN_PREFIX = "sy_"
TOUCH_INTERVAL = timedelta(minutes=1)  # last_used_at is refreshed at most this often
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.@\-]{0,199}")
MAX_LABEL = 200
_DURATION = re.compile(r"(?:\d+[smhdw])+")
_DURATION_PART = re.compile(r"(\d+)([smhdw])")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86_400, "w": 604_800}

Clock = Callable[[], datetime]
Expiry = str | timedelta | datetime | None


def system_clock() -> datetime:
    """The current time, timezone-aware in UTC."""
    return datetime.now(UTC)


def iso(when: datetime) -> str:
    """``when`` as the one stored spelling: ISO-8601 in UTC with microseconds."""
    return _as_utc(when).isoformat(timespec="microseconds")


def hash_token(secret: str) -> str:
    """The hex SHA-256 of a token's secret: what the store keeps instead of the secret."""
    return hashlib.sha256(secret.encode()).hexdigest()


def expiry_time(spec: Expiry, now: datetime) -> datetime | None:
    """When a token made at ``now`` expires: after a duration (``30d``, ``12h``, ``1w2d``,
    a timedelta) or at an ISO date or time (UTC unless it says otherwise); None: never."""
    if spec is None:
        return None
    try:
        if isinstance(spec, timedelta):
            when = now + spec
        elif isinstance(spec, datetime):
            when = _as_utc(spec)
        else:
            when = _parse_expiry(spec, now)
    except OverflowError:
        raise ValidationError(f"token expiry {spec!r} is too far in the future") from None
    if when <= now:
        raise ValidationError(
            f"token expiry must be in the future, got {iso(when)} instead (now is {iso(now)})"
        )
    return when


class AccessService:
    """Users, their roles and API tokens; authentication and role checks for the server."""

    def __init__(
        self,
        db: Database,
        audit: AuditTrail,
        actor: str,
        store: SqlAccessStore | None = None,
        clock: Clock = system_clock,
    ) -> None:
        self._db = db
        self._audit = audit
        self._actor = actor
        self._store = store or SqlAccessStore()
        self._clock = clock

    # users

    def add_user(self, name: str, role: str) -> User:
        """Create the user ``name`` holding ``role``; AlreadyExists if the name is taken."""
        user = self._new_user(name, role)
        with self._db.write() as conn:
            if self._store.get_user(conn, user.name) is not None:
                raise AlreadyExists(
                    f"user {name!r} exists already; change its role with "
                    f"`shipyard users set-role {name} ROLE`"
                )
            self._insert_user(conn, user)
        return user

    def get_user(self, name: str) -> User:
        """The user ``name``; NotFound when there is none."""
        with self._db.read() as conn:
            return _require_user(self._store.get_user(conn, name), name)

    def list_users(self) -> list[User]:
        """Every user, sorted by name."""
        with self._db.read() as conn:
            return self._store.all_users(conn)

    def set_role(self, name: str, role: str) -> User:
        """Give ``name`` the role ``role`` (effective on the user's next request)."""
        role = parse_role(role)
        with self._db.write() as conn:
            user = _require_user(self._store.get_user(conn, name), name)
            if user.role == role:
                return user
            self._store.update_user(conn, name, role=role)
            self._record(conn, "user.role", "user", name, {"role": role, "previous": user.role})
        return replace(user, role=role)

    def set_disabled(self, name: str, disabled: bool) -> User:
        """Disable (every token of ``name`` stops working) or enable the user again."""
        with self._db.write() as conn:
            user = _require_user(self._store.get_user(conn, name), name)
            if user.disabled == disabled:
                return user
            self._store.update_user(conn, name, disabled=disabled)
            action = "user.disable" if disabled else "user.enable"
            self._record(conn, action, "user", name, {})
        return replace(user, disabled=disabled)

    # tokens

    def create_token(
        self,
        user: str,
        label: str | None = None,
        expires_in: Expiry = None,
        *,
        role: str | None = None,
    ) -> tuple[TokenInfo, str]:
        """A new token for ``user``: its stored record and the secret (shown only now).

        With ``role``, a missing user is created holding it (in the same transaction);
        an existing user holding another role is a Conflict (use :meth:`set_role`).
        """
        _check_name(user)
        wanted = None if role is None else parse_role(role)
        now = _as_utc(self._clock())
        expires = expiry_time(expires_in, now)
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        info = TokenInfo(
            id=secrets.token_hex(6),
            user=user,
            label=_check_label(label),
            created_at=iso(now),
            created_by=self._actor,
            expires_at=None if expires is None else iso(expires),
        )
        with self._db.write() as conn:
            self._ensure_owner(conn, user, wanted, now)
            self._store.insert_token(conn, info, hash_token(secret))
            payload = {"user": user, "label": info.label, "expires_at": info.expires_at}
            self._record(conn, "token.create", "token", info.id, payload)
        return info, secret

    def list_tokens(self, user: str | None = None) -> list[TokenInfo]:
        """Tokens of ``user`` (everyone's when None), oldest first; never their secrets."""
        with self._db.read() as conn:
            if user is not None:
                _require_user(self._store.get_user(conn, user), user)
            return self._store.tokens(conn, user)

    def revoke_token(self, token_id: str) -> TokenInfo:
        """Revoke the token ``token_id`` for good (revoking it again changes nothing)."""
        with self._db.write() as conn:
            info = self._store.get_token(conn, token_id)
            if info is None:
                raise NotFound(f"no API token {token_id!r}; `shipyard tokens list` shows them")
            if info.revoked_at is not None:
                return info
            at = iso(self._clock())
            self._store.revoke_token(conn, token_id, at)
            payload = {"user": info.user, "label": info.label}
            self._record(conn, "token.revoke", "token", token_id, payload)
        return replace(info, revoked_at=at)

    def token_status(self, info: TokenInfo) -> str:
        """``active``, ``revoked`` or ``expired``, as of now."""
        if info.revoked_at is not None:
            return "revoked"
        if info.expires_at is not None and _parse_iso(info.expires_at) <= _as_utc(self._clock()):
            return "expired"
        return "active"

    # requests

    def authenticate(self, secret: str) -> Principal:
        """Who presents ``secret``; Unauthenticated for an unknown, revoked or expired
        token or a disabled user. A read, plus a write at most once a minute per token."""
        if not isinstance(secret, str) or not secret:
            raise Unauthenticated("no API token given")
        if not secret.startswith(TOKEN_PREFIX):
            raise Unauthenticated(
                f"unknown API token (shipyard tokens start with {TOKEN_PREFIX!r})"
            )
        with self._db.read() as conn:
            found = self._store.lookup(conn, hash_token(secret))
        if found is None:
            raise Unauthenticated(
                "unknown API token: check it was copied whole, or create one with "
                "`shipyard tokens create`"
            )
        info, owner = found
        now = _as_utc(self._clock())
        _check_usable(info, owner, now)
        self._touch(info, now)
        return Principal(user=owner.name, role=owner.role, token_id=info.id)

    def authorize(self, principal: Principal, need_role: str) -> None:
        """PermissionDenied unless ``principal`` holds ``need_role`` or a higher role."""
        need = parse_role(need_role)
        if not role_allows(principal.role, need):
            raise PermissionDenied(
                f"this needs role {need!r} or higher, but user {principal.user!r} holds "
                f"{principal.role!r}; an admin can run "
                f"`shipyard users set-role {principal.user} {need}`"
            )

    # internals

    def _new_user(self, name: str, role: str) -> User:
        _check_name(name)
        created = iso(self._clock())
        return User(name=name, role=parse_role(role), created_at=created, created_by=self._actor)

    def _insert_user(self, conn: Connection, user: User) -> None:
        self._store.insert_user(conn, user)
        self._record(conn, "user.add", "user", user.name, {"role": user.role})

    def _ensure_owner(self, conn: Connection, name: str, role: str | None, now: datetime) -> None:
        owner = self._store.get_user(conn, name)
        if owner is None and role is None:
            raise NotFound(
                f"no user {name!r}: give it a role to create it "
                f"(`shipyard tokens create --user {name} --role ROLE`)"
            )
        if owner is None:
            user = User(name=name, role=str(role), created_at=iso(now), created_by=self._actor)
            self._insert_user(conn, user)
        elif role is not None and owner.role != role:
            raise Conflict(
                f"user {name!r} holds role {owner.role!r}, not {role!r}; change it first with "
                f"`shipyard users set-role {name} {role}`"
            )
        elif owner.disabled:
            raise Conflict(
                f"user {name!r} is disabled; enable it first with `shipyard users enable {name}`"
            )

    def _touch(self, info: TokenInfo, now: datetime) -> None:
        last = info.last_used_at
        if last is not None and now - _parse_iso(last) < TOUCH_INTERVAL:
            return
        with self._db.write() as conn:
            self._store.touch_token(conn, info.id, iso(now), before=iso(now - TOUCH_INTERVAL))

    def _record(
        self, conn: Connection, action: str, kind: str, entity_id: str, payload: dict[str, Any]
    ) -> None:
        self._audit.record(
            conn,
            actor=self._actor,
            action=action,
            entity_kind=kind,
            entity_id=entity_id,
            payload=payload,
        )


def _check_usable(info: TokenInfo, owner: User, now: datetime) -> None:
    if info.revoked_at is not None:
        raise Unauthenticated(f"API token {info.id} was revoked at {info.revoked_at}")
    if info.expires_at is not None and _parse_iso(info.expires_at) <= now:
        raise Unauthenticated(f"API token {info.id} expired at {info.expires_at}")
    if owner.disabled:
        raise Unauthenticated(f"user {owner.name!r} (of API token {info.id}) is disabled")


def _require_user(user: User | None, name: str) -> User:
    if user is None:
        raise NotFound(f"no user {name!r}; `shipyard users list` shows them")
    return user


def _check_name(name: str) -> None:
    if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name):
        raise ValidationError(
            "user name must be letters, digits, '.', '_', '@' or '-', starting with a letter "
            f"or digit (at most 200 characters), got {name!r} instead"
        )


def _check_label(label: str | None) -> str | None:
    text = (label or "").strip()
    if len(text) > MAX_LABEL:
        raise ValidationError(
            f"token label must be at most {MAX_LABEL} characters, got {len(text)} instead"
        )
    return text or None


def _parse_expiry(text: str, now: datetime) -> datetime:
    compact = text.strip().lower()
    if _DURATION.fullmatch(compact):
        parts = _DURATION_PART.findall(compact)
        return now + timedelta(seconds=sum(int(n) * _UNIT_SECONDS[u] for n, u in parts))
    try:
        return _parse_iso(text.strip())
    except ValueError:
        raise ValidationError(
            "token expiry must be a duration such as 30d, 12h, 90m or 2w, or an ISO date "
            f"or time such as 2027-01-31 or 2027-01-31T12:00Z, got {text!r} instead"
        ) from None


def _parse_iso(text: str) -> datetime:
    return _as_utc(datetime.fromisoformat(text))


def _as_utc(when: datetime) -> datetime:
    return when.replace(tzinfo=UTC) if when.tzinfo is None else when.astimezone(UTC)
