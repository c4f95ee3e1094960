"""Writing packs: small blobs appended to a staged pack, committed whole.

The layout is described in :mod:`shipyard.storage.packs`. A writer gathers blobs into
chunks of about ``FLUSH_BYTES`` that one background thread writes (``writev`` on a
local stage) while the caller reads and hashes the next files.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING

import blake3

from shipyard.errors import StorageError
from shipyard.storage.packs import DEFAULT_PACK_LIMIT, ENTRY, FOOTER, MAGIC, PACK_FOLDER

if TYPE_CHECKING:
    from shipyard.storage.blobs import BlobBackend, StagedBlob
    from shipyard.storage.packs import PackIndex

__all__ = ["FLUSH_BYTES", "PackWriter"]

FLUSH_BYTES = 1 << 20
_MAX_CHUNKS = 512  # below the system's limit of buffers per writev


class PackWriter:
    """Appends blobs to a staged pack; :meth:`close` commits it (thread-safe).

    The caller hashes; the writer only appends, rolling over to a new pack once
    ``limit`` bytes are staged, and reports each committed pack's index to ``index``.
    Blobs are gathered into chunks of about a MiB that another thread writes while the
    caller reads and hashes the next files (a 10 KB write costs this thread as much as
    reading and hashing the file it came from).
    """

    def __init__(
        self, backend: BlobBackend, index: PackIndex, limit: int = DEFAULT_PACK_LIMIT
    ) -> None:
        self._backend = backend
        self._index = index
        self._limit = limit
        self._lock = threading.Lock()
        self._staged: _StagedPack | None = None
        self._entries: list[bytes] = []
        self._offset = 0
        self._pending: set[bytes] = set()  # digests in the pack being written

    def add(self, digest: bytes, data: bytes) -> bool:
        """Append ``data`` (whose BLAKE3 digest is ``digest``); False if already there."""
        with self._lock:
            if digest in self._pending:
                return False
            if self._staged is None:
                self._staged = _StagedPack(self._backend.stage())
            self._staged.append(data)
            self._entries.append(ENTRY.pack(digest, self._offset, len(data)))
            self._pending.add(digest)
            self._offset += len(data)
            if self._offset >= self._limit:
                self._commit()
            return True

    def close(self) -> None:
        """Commit the pack being written, if any."""
        with self._lock:
            self._commit()

    def abort(self) -> None:
        """Drop the pack being written (packs already committed stay)."""
        with self._lock:
            if self._staged is not None:
                self._staged.abort()
            self._reset()

    def _commit(self) -> None:
        if self._staged is None:
            return
        index = b"".join(self._entries)
        pack_id = blake3.blake3(index).digest()
        footer = FOOTER.pack(MAGIC, len(self._entries), self._offset, pack_id)
        key = f"{PACK_FOLDER}/{pack_id.hex()}.pack"
        try:
            self._staged.finish(index + footer, key)
        except BaseException:
            self._reset()
            raise
        self._index.learn(key, index)
        self._reset()

    def _reset(self) -> None:
        self._staged = None
        self._entries = []
        self._offset = 0
        self._pending = set()

    def __enter__(self) -> PackWriter:
        return self

    def __exit__(self, kind: object, *_: object) -> None:
        if kind is None:
            self.close()
        else:
            self.abort()


class _StagedPack:
    """A staged blob fed in chunks of about ``FLUSH_BYTES`` by one background thread."""

    def __init__(self, staged: StagedBlob) -> None:
        self._staged = staged
        self._chunks: list[bytes] = []
        self._size = 0
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-pack")
        self._writing: Future[None] | None = None

    def append(self, data: bytes) -> None:
        """Queue ``data``; hand the chunk to the writing thread once it is large enough."""
        self._chunks.append(data)
        self._size += len(data)
        if self._size >= FLUSH_BYTES or len(self._chunks) >= _MAX_CHUNKS:
            self._flush()

    def finish(self, tail: bytes, key: str) -> None:
        """Write what is queued and ``tail``, then commit under ``key``."""
        try:
            self._chunks.append(tail)
            self._flush()
            self._wait()
            self._staged.commit(key)
        finally:
            self._close()

    def abort(self) -> None:
        """Drop everything written."""
        try:
            self._wait()
        except Exception:  # noqa: S110 - the write that failed is being thrown away
            pass
        finally:
            self._staged.abort()
            self._close()

    def _flush(self) -> None:
        self._wait()  # one chunk in flight: memory stays bounded
        chunks, self._chunks, self._size = self._chunks, [], 0
        self._writing = self._pool.submit(_write_chunks, self._staged, chunks)

    def _wait(self) -> None:
        if self._writing is not None:
            writing, self._writing = self._writing, None
            writing.result()

    def _close(self) -> None:
        self._pool.shutdown(wait=True)


def _write_chunks(staged: StagedBlob, chunks: list[bytes]) -> None:
    """Write ``chunks`` in order, in one system call when the stage is a local file."""
    fileno = getattr(staged, "fileno", None)
    if fileno is None:
        staged.write(b"".join(chunks))
        return
    try:
        written = os.writev(fileno(), chunks)
    except OSError as exc:
        staged.abort()
        raise StorageError(
            f"could not write a pack: {exc.strerror or exc}; check that the disk is not full"
        ) from exc
    if written < sum(map(len, chunks)):  # a short write: let the stage finish the rest
        staged.write(b"".join(chunks)[written:])
