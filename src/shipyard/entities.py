"""The records shipyard keeps: frozen dataclasses, no I/O.

Entities are immutable once written; a change is a new version or a new event. The only
mutable things are explicit pointers (aliases, deployment routes, run status, settings).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, NamedTuple


@dataclass(frozen=True)
class AuditEvent:
    """One entry of the audit trail, linked to the previous one by its hash.

    ``hash`` covers every other field, ``prev_hash`` included, so changing, deleting,
    inserting or reordering any entry breaks the chain at that entry.
    """

    seq: int
    occurred_at: str
    actor: str
    action: str
    entity_kind: str
    entity_id: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class ChainHead:
    """The newest entry of the audit chain: its sequence number and hash."""

    seq: int
    hash: str


@dataclass(frozen=True)
class ChainVerdict:
    """The outcome of checking the audit chain from its first entry to its head."""

    ok: bool
    entries: int
    first_bad_seq: int | None = None
    reason: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Setting:
    """A workspace setting: a named JSON value, a mutable pointer (every change audited)."""

    key: str
    value: Any
    updated_at: str
    updated_by: str


class FileEntry(NamedTuple):
    """One file of a dataset version: where it sits, how big, its mode bits and digest.

    A named tuple rather than a dataclass: manifests hold tens of thousands of these and
    tuples are several times cheaper to build.
    """

    path: str
    size: int
    mode: int
    digest: str


@dataclass(frozen=True)
class DatasetVersion:
    """An immutable snapshot of a file or folder tree, named ``NAME@vN``.

    ``digest`` is the BLAKE3 digest of the version's manifest (its file list), so two
    versions with the same digest hold exactly the same bytes at the same paths.
    Tabular versions (``kind == "table"``) also carry the inferred schema, the profile
    and the personal-data findings, computed once when the version was added.
    """

    name: str
    version: int
    digest: str
    message: str
    author: str
    created_at: str
    parent: int | None
    files: int
    bytes: int
    kind: str
    table_path: str | None = None
    schema: dict[str, Any] | None = None
    profile: dict[str, Any] | None = None
    pii: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ref(self) -> str:
        """The reference that names this version everywhere: ``NAME@vN``."""
        return f"{self.name}@v{self.version}"


class MetricPoint(NamedTuple):
    """One value of a metric: its step, the value and when it was logged (epoch seconds)."""

    step: int
    value: float
    timestamp: float


@dataclass(frozen=True)
class Run:
    """One training run: what it was given, what it measured, and how it ended.

    ``metrics`` holds the latest value of each metric; the whole history is read with
    ``ws.runs.history(run_id, key)``. Params are immutable once set; status is the one
    field that changes (running, then finished, failed or killed).
    """

    id: str
    experiment: str
    name: str
    status: str
    user: str
    start_time: float
    end_time: float | None
    params: dict[str, str] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    code_version: dict[str, Any] | None = None
    environment: dict[str, Any] | None = None


@dataclass(frozen=True)
class User:
    """Someone who may call a shared server; ``role`` is one of viewer, editor, approver, admin.

    A user is a mutable pointer like a setting: its role can change and it can be
    disabled, each change audited. Users are never deleted, so the audit trail's actors
    keep pointing at someone.
    """

    name: str
    role: str
    created_at: str
    created_by: str
    disabled: bool = False


@dataclass(frozen=True)
class TokenInfo:
    """An API token as it is stored: everything but the secret, which is kept only hashed.

    Times are ISO-8601 UTC strings; ``expires_at``, ``revoked_at`` and ``last_used_at``
    are None when the token never expires, was not revoked, or was never used.
    """

    id: str
    user: str
    label: str | None
    created_at: str
    created_by: str
    expires_at: str | None = None
    revoked_at: str | None = None
    last_used_at: str | None = None


@dataclass(frozen=True)
class Principal:
    """Who a request acts as: the user, the role the user holds now, and the token used."""

    user: str
    role: str
    token_id: str | None = None


@dataclass(frozen=True)
class ModelVersion:
    """An immutable registered model, named ``NAME@vN``: what was saved and how to load it.

    ``digest`` is the BLAKE3 digest of the manifest of the saved files; every file is
    checked against its own digest before it is deserialized. ``safe`` is False only
    for formats that run code on load (those need ``trust=True``). ``aliases`` are the
    mutable pointers (``champion``, ...) that name this version now.
    """

    name: str
    version: int
    run_id: str | None
    flavor: str
    safe: bool
    digest: str
    files: int
    bytes: int
    signature: dict[str, Any]
    packages: dict[str, str]
    details: dict[str, Any]
    author: str
    created_at: str
    description: str = ""
    aliases: tuple[str, ...] = ()

    @property
    def ref(self) -> str:
        """The reference that names this version everywhere: ``NAME@vN``."""
        return f"{self.name}@v{self.version}"


@dataclass(frozen=True)
class ApprovalEvent:
    """One step of a model version's approval: requested, approved or rejected."""

    name: str
    version: int
    action: str
    actor: str
    at: str
    comment: str = ""
