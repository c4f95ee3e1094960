"""The audit trail and workspace settings through a server: the embedded methods and results.

Reading the trail takes role ``approver`` on the server; changing settings takes ``admin``
(a lower role gets :class:`~shipyard.errors.PermissionDenied` naming the one needed).
"""

from __future__ import annotations

import builtins
import json
from dataclasses import fields
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import quote

from shipyard.client.http import Api
from shipyard.entities import AuditEvent, ChainVerdict, Setting
from shipyard.errors import ValidationError

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

E = TypeVar("E", bound="DataclassInstance")


def entity_from_json(cls: type[E], document: dict[str, Any]) -> E:
    """The dataclass ``cls`` from a server's JSON (fields it does not know are ignored)."""
    names = {item.name for item in fields(cls)}
    return cls(**{name: value for name, value in document.items() if name in names})


class RemoteAudit:
    """List and verify the audit trail of a server (role approver)."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def entries(self, limit: int | None = None) -> list[AuditEvent]:
        """The newest ``limit`` events (all when None), oldest first."""
        answer = self._api.get("/audit", limit=limit)
        return [entity_from_json(AuditEvent, item) for item in answer["entries"]]

    def count(self) -> int:
        """How many events the trail holds."""
        return int(self._api.get("/audit", limit=0)["total"])

    def verify(self) -> ChainVerdict:
        """Check the whole chain on the server; the verdict names the first bad entry."""
        return entity_from_json(ChainVerdict, self._api.get("/audit/verify"))


class RemoteSettings:
    """Get, set, list and unset the workspace settings of a server (changes: role admin)."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def get(self, key: str) -> Setting:
        """The setting ``key``; NotFound when it was never set."""
        return entity_from_json(Setting, self._api.get(_path(key)))

    def list(self) -> builtins.list[Setting]:
        """Every setting, sorted by key."""
        return [entity_from_json(Setting, item) for item in self._api.get("/settings")]

    def set(self, key: str, value: Any) -> Setting:
        """Set ``key`` to the JSON-compatible ``value``."""
        _check_sendable(key, value)
        return entity_from_json(Setting, self._api.put_json(_path(key), {"value": value}))

    def unset(self, key: str) -> None:
        """Remove ``key``; NotFound when it was not set."""
        self._api.delete(_path(key))


def _path(key: str) -> str:
    """The route of one setting; the server checks the key and names what is wrong."""
    return f"/settings/{quote(str(key), safe='')}"


def _check_sendable(key: str, value: Any) -> None:
    """Refuse, before sending, a value that has no JSON form (the server stores JSON)."""
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ValidationError(
            f"cannot send setting {key!r}: its value is not JSON "
            f"({type(value).__name__}: {exc}); use a string, number, bool, list or object"
        ) from exc
