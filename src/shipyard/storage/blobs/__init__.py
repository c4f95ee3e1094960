"""The byte-level contract every blob backend implements, and the URL that picks one.

A backend stores opaque bytes under string keys and knows nothing about digests: hashing,
verification, dedup and key layout live once above it, in
:class:`shipyard.storage.content.ContentStore`. Writes go through a :class:`StagedBlob`
that stays invisible to readers until :meth:`StagedBlob.commit` publishes it atomically.

Backends are chosen by URL scheme and imported only when chosen::

    /some/folder, file:///some/folder   local folder     (shipyard.storage.blobs.local)
    s3://bucket/prefix                  S3 through s3fs  (shipyard.storage.blobs.s3)
    memory://name                       in-memory fake   (shipyard.testing.memory_blobs)

Keys are ``/``-separated segments of letters, digits, ``_``, ``-`` and ``.``; a segment
never starts with ``.`` (those names are reserved for a backend's own bookkeeping, such as
the local backend's ``.tmp`` folder).
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Iterator, Mapping
from types import TracebackType
from typing import Any, BinaryIO, Protocol, Self, cast
from urllib.parse import urlsplit

from shipyard.errors import ConfigError, UnknownBackend, ValidationError

__all__ = [
    "BlobBackend",
    "StagedBlob",
    "check_key",
    "check_prefix",
    "finished_stage_error",
    "is_valid_key",
    "known_schemes",
    "open_backend",
]

_SEGMENT = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*")
_PARTIAL_SEGMENT = re.compile(r"(?:[A-Za-z0-9_-][A-Za-z0-9._-]*)?")

# scheme -> ("module:Class", extra that provides its optional dependencies, or None)
_BACKENDS: dict[str, tuple[str, str | None]] = {
    "file": ("shipyard.storage.blobs.local:LocalBlobBackend", None),
    "memory": ("shipyard.testing.memory_blobs:MemoryBlobBackend", None),
    "s3": ("shipyard.storage.blobs.s3:S3BlobBackend", "s3"),
}


class StagedBlob(Protocol):
    """A write in progress: invisible to readers until :meth:`commit`.

    Use it as a context manager: leaving the block without a commit (for example on an
    exception) aborts, so no staged bytes are left behind. Implementations that subclass
    this protocol inherit ``__enter__`` and ``__exit__``.
    """

    def write(self, data: bytes | memoryview) -> int:
        """Append ``data`` and return how many bytes were taken.

        The caller may reuse the buffer behind ``data`` as soon as this returns.
        """
        ...

    def commit(self, key: str) -> None:
        """Publish the staged bytes atomically under ``key``.

        If ``key`` exists already, the staged bytes are discarded and the stored object
        is kept (no error): keys are expected to name immutable content.
        """
        ...

    def abort(self) -> None:
        """Drop the staged bytes. Safe to call twice and after :meth:`commit`."""
        ...

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.abort()


class BlobBackend(Protocol):
    """Opaque bytes under string keys: the only thing a storage backend must do."""

    url: str

    def stage(self) -> StagedBlob:
        """Start a write; nothing is visible under any key until the stage commits."""
        ...

    def open(self, key: str) -> BinaryIO:
        """A binary reader over the bytes of ``key``; :class:`NotFound` if absent."""
        ...

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a committed object."""
        ...

    def size(self, key: str) -> int:
        """Size in bytes of ``key``; :class:`NotFound` if absent."""
        ...

    def list(self, prefix: str = "") -> Iterator[str]:
        """Committed keys starting with ``prefix`` (a plain string prefix), any order."""
        ...

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        ...

    def local_path(self, key: str) -> str | None:
        """Where ``key``'s bytes live on the local disk, or ``None`` if not on local disk.

        The path may not exist yet. Callers use it for fast local copies and must not
        write through it.
        """
        ...


class _BackendFactory(Protocol):
    def from_url(self, url: str, options: Mapping[str, Any]) -> BlobBackend: ...


def check_key(key: str) -> str:
    """Return ``key`` if it is a valid blob key, else raise :class:`ValidationError`."""
    if is_valid_key(key):
        return key
    raise ValidationError(
        f"blob key must be '/'-separated segments of letters, digits, '_', '-' and '.' "
        f"(not starting with '.'), got {key!r} instead",
        details=[{"key": repr(key)}],
    )


def check_prefix(prefix: str) -> str:
    """Return ``prefix`` if it can start a valid key, else raise :class:`ValidationError`."""
    if isinstance(prefix, str):
        folder, _, last = prefix.rpartition("/")
        if (not folder or is_valid_key(folder)) and _PARTIAL_SEGMENT.fullmatch(last):
            return prefix
    raise ValidationError(
        f"blob key prefix must be the start of a valid key (for example 'ab/' or 'ab/c'), "
        f"got {prefix!r} instead",
        details=[{"prefix": repr(prefix)}],
    )


def is_valid_key(key: str) -> bool:
    """Whether ``key`` is a valid blob key (no exception)."""
    return isinstance(key, str) and bool(key) and all(_SEGMENT.fullmatch(s) for s in key.split("/"))


def finished_stage_error() -> ValidationError:
    """The error for writing to or committing a stage that was committed or aborted."""
    return ValidationError(
        "this staged blob was already committed or aborted; stage a new one to write again"
    )


def known_schemes() -> tuple[str, ...]:
    """The URL schemes :func:`open_backend` understands, sorted."""
    return tuple(sorted(_BACKENDS))


def _scheme_of(url: str) -> str:
    scheme = urlsplit(url).scheme.lower()
    # No scheme, or a one-letter one (a Windows drive such as C:\), means a plain path.
    return "file" if len(scheme) <= 1 else scheme


def open_backend(url: str, *, options: Mapping[str, Any] | None = None) -> BlobBackend:
    """Build the blob backend that serves ``url``; its module is imported only now.

    ``options`` go to the backend (for S3: ``endpoint_url`` and s3fs settings).
    Raises :class:`UnknownBackend` for a scheme no backend serves.
    """
    if not isinstance(url, str) or not url.strip():
        raise ValidationError(f"blob store URL must be a non-empty string, got {url!r} instead")
    scheme = _scheme_of(url)
    if scheme not in _BACKENDS:
        known = ", ".join(f"{s}://" for s in known_schemes())
        raise UnknownBackend(
            f"no blob backend serves {scheme!r} URLs (got {url!r}); known schemes: {known} "
            f"or a plain folder path",
            details=[{"url": url, "scheme": scheme, "known": list(known_schemes())}],
        )
    target, extra = _BACKENDS[scheme]
    factory = _load(target, scheme, extra)
    return factory.from_url(url, dict(options or {}))


def _load(target: str, scheme: str, extra: str | None) -> _BackendFactory:
    module_name, _, attr = target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if extra is None or (exc.name or "").startswith("shipyard"):
            raise
        raise ConfigError(
            f"{scheme}:// blob stores need the optional dependency {exc.name!r}, which is "
            f"not installed; install it with: pip install 'shipyard[{extra}]'",
            details=[{"scheme": scheme, "missing": exc.name}],
        ) from exc
    return cast(_BackendFactory, getattr(module, attr))
