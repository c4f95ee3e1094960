"""An in-memory :class:`~shipyard.storage.blobs.BlobBackend` for tests and third parties.

``MemoryBlobBackend()`` is private to its instance. ``memory://name`` URLs (through
:func:`shipyard.storage.blobs.open_backend`) share one store per name within the process,
so two components opening the same URL see the same blobs, like one folder would.
"""

from __future__ import annotations

import io
import itertools
import threading
from collections.abc import Iterator, Mapping
from typing import Any, BinaryIO

from shipyard.errors import NotFound, ValidationError
from shipyard.storage.blobs import StagedBlob, check_key, check_prefix, finished_stage_error

__all__ = ["MemoryBlobBackend"]

_NAMED: dict[str, dict[str, bytes]] = {}
_NAMED_LOCK = threading.Lock()
_anonymous = itertools.count(1)


class MemoryBlobBackend:
    """Blobs in a dict of bytes; thread-safe; nothing touches the disk."""

    def __init__(self, name: str | None = None) -> None:
        if name is None:
            self.name = f"anonymous-{next(_anonymous)}"
            self._blobs: dict[str, bytes] = {}
        else:
            self.name = name
            with _NAMED_LOCK:
                self._blobs = _NAMED.setdefault(name, {})
        self.url = f"memory://{self.name}"
        self._lock = threading.Lock()

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> MemoryBlobBackend:
        """Build from ``memory://name``; the same name shares the same blobs."""
        name = url.partition("://")[2].strip("/")
        if options or not name:
            raise ValidationError(
                f"memory blob stores take a URL like 'memory://name' and no options, got "
                f"{url!r} with options {sorted(options)} instead",
                details=[{"url": url, "options": sorted(options)}],
            )
        return cls(name)

    def __repr__(self) -> str:
        return f"MemoryBlobBackend({self.name!r})"

    def stage(self) -> StagedBlob:
        """Start a write into a private buffer."""
        return _MemoryStagedBlob(self)

    def open(self, key: str) -> BinaryIO:
        """A reader over a snapshot of ``key``'s bytes."""
        return io.BytesIO(self._get(key))

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds committed bytes."""
        check_key(key)
        with self._lock:
            return key in self._blobs

    def size(self, key: str) -> int:
        """Size in bytes of ``key``."""
        return len(self._get(key))

    def list(self, prefix: str = "") -> Iterator[str]:
        """Committed keys starting with ``prefix`` (a snapshot, sorted)."""
        check_prefix(prefix)
        with self._lock:
            keys = sorted(k for k in self._blobs if k.startswith(prefix))
        return iter(keys)

    def delete(self, key: str) -> None:
        """Remove ``key``; a missing key is not an error."""
        check_key(key)
        with self._lock:
            self._blobs.pop(key, None)

    def local_path(self, key: str) -> str | None:
        """Always ``None``: nothing lives on disk."""
        check_key(key)
        return None

    def _publish(self, key: str, data: bytes) -> None:
        with self._lock:
            self._blobs.setdefault(check_key(key), data)

    def _get(self, key: str) -> bytes:
        check_key(key)
        with self._lock:
            data = self._blobs.get(key)
        if data is None:
            raise NotFound(
                f"blob {key!r} does not exist in {self.url}; check the key, or put the "
                f"content first",
                details=[{"key": key, "url": self.url}],
            )
        return data


class _MemoryStagedBlob(StagedBlob):
    """A private bytearray, copied into the store on commit."""

    def __init__(self, backend: MemoryBlobBackend) -> None:
        self._backend = backend
        self._buffer: bytearray | None = bytearray()

    def write(self, data: bytes | memoryview) -> int:
        """Append a copy of ``data``."""
        buffer = self._live_buffer()
        buffer += data
        return len(data) if isinstance(data, bytes) else data.nbytes

    def commit(self, key: str) -> None:
        """Publish the bytes under ``key`` unless it exists already."""
        buffer = self._live_buffer()
        check_key(key)
        try:
            self._backend._publish(key, bytes(buffer))
        finally:
            self.abort()

    def abort(self) -> None:
        """Drop the buffer."""
        self._buffer = None

    def _live_buffer(self) -> bytearray:
        if self._buffer is None:
            raise finished_stage_error()
        return self._buffer
