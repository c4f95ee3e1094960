"""Rows of access control: users and their API tokens (hashes only, never secrets).

Times are ISO-8601 UTC strings of one fixed format, so they compare as text: that is
what lets ``touch_token`` skip a token used less than a minute ago in one UPDATE.
"""

from __future__ import annotations

from dataclasses import asdict, fields
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    String,
    Table,
    false,
    or_,
    select,
    update,
)

from shipyard.entities import TokenInfo, User
from shipyard.storage.sql.schema import metadata

users = Table(
    "users",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("role", String(20), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("disabled", Boolean, nullable=False, server_default=false()),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("user", String(200), ForeignKey("users.name"), nullable=False),
    Column("token_hash", String(64), nullable=False),  # hex digest of the secret
    Column("label", String(200), nullable=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("expires_at", String(40), nullable=True),
    Column("revoked_at", String(40), nullable=True),
    Column("last_used_at", String(40), nullable=True),
    Index("ix_api_tokens_token_hash", "token_hash", unique=True),
    Index("ix_api_tokens_user", "user"),
)

_USER_FIELDS = tuple(f.name for f in fields(User))
_TOKEN_FIELDS = tuple(f.name for f in fields(TokenInfo))
_TOKEN_INFO_COLUMNS = [api_tokens.c[name] for name in _TOKEN_FIELDS]


class SqlAccessStore:
    """Reads and writes user and token rows; callers own the transaction."""

    def get_user(self, conn: Connection, name: str) -> User | None:
        """The user ``name``, or None."""
        row = conn.execute(select(users).where(users.c.name == name)).one_or_none()
        return _user(row._mapping) if row else None

    def all_users(self, conn: Connection) -> list[User]:
        """Every user, sorted by name."""
        rows = conn.execute(select(users).order_by(users.c.name)).all()
        return [_user(row._mapping) for row in rows]

    def insert_user(self, conn: Connection, user: User) -> None:
        """Store a new user."""
        conn.execute(users.insert().values(**asdict(user)))

    def update_user(self, conn: Connection, name: str, **values: Any) -> None:
        """Change columns (``role``, ``disabled``) of the user ``name``."""
        conn.execute(update(users).where(users.c.name == name).values(**values))

    def insert_token(self, conn: Connection, info: TokenInfo, token_hash: str) -> None:
        """Store a new token under the hash of its secret."""
        conn.execute(api_tokens.insert().values(**asdict(info), token_hash=token_hash))

    def get_token(self, conn: Connection, token_id: str) -> TokenInfo | None:
        """The token ``token_id`` (without its hash), or None."""
        query = select(*_TOKEN_INFO_COLUMNS).where(api_tokens.c.id == token_id)
        row = conn.execute(query).one_or_none()
        return _token(row._mapping) if row else None

    def tokens(self, conn: Connection, user: str | None = None) -> list[TokenInfo]:
        """Tokens of ``user`` (all when None), oldest first."""
        query = select(*_TOKEN_INFO_COLUMNS).order_by(api_tokens.c.created_at, api_tokens.c.id)
        if user is not None:
            query = query.where(api_tokens.c.user == user)
        return [_token(row._mapping) for row in conn.execute(query).all()]

    def revoke_token(self, conn: Connection, token_id: str, at: str) -> None:
        """Mark the token revoked at ``at``."""
        query = update(api_tokens).where(api_tokens.c.id == token_id).values(revoked_at=at)
        conn.execute(query)

    def lookup(self, conn: Connection, token_hash: str) -> tuple[TokenInfo, User] | None:
        """The token stored under ``token_hash`` and its user, in one indexed query."""
        query = (
            select(*_TOKEN_INFO_COLUMNS, *[users.c[n].label(f"u_{n}") for n in _USER_FIELDS])
            .join(users, users.c.name == api_tokens.c.user)
            .where(api_tokens.c.token_hash == token_hash)
        )
        row = conn.execute(query).one_or_none()
        if row is None:
            return None
        owner = {name: row._mapping[f"u_{name}"] for name in _USER_FIELDS}
        return _token(row._mapping), _user(owner)

    def touch_token(self, conn: Connection, token_id: str, at: str, *, before: str) -> bool:
        """Set ``last_used_at`` to ``at`` unless it is already ``before`` or later."""
        last = api_tokens.c.last_used_at
        query = (
            update(api_tokens)
            .where(api_tokens.c.id == token_id, or_(last.is_(None), last < before))
            .values(last_used_at=at)
        )
        return bool(conn.execute(query).rowcount)


def _user(row: Any) -> User:
    values = {name: row[name] for name in _USER_FIELDS}
    return User(**{**values, "disabled": bool(values["disabled"])})


def _token(row: Any) -> TokenInfo:
    return TokenInfo(**{name: row[name] for name in _TOKEN_FIELDS})
