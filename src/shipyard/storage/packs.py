"""Packs: many small blobs in one file, so a tree of small files costs a few large writes.

Creating a file is the dearest thing a file system does (tens of microseconds of kernel
time each, far more than writing 10 KB); a dataset of 20,000 small files stored as
20,000 blobs spends most of its time there. A pack holds such blobs back to back in one
backend key, ``packs/<id>.pack``::

    blob bytes, back to back
    index: per blob, its 32-byte digest, u64 offset, u64 size (little-endian)
    footer: b"SYPACK1\\0", u64 count, u64 index offset, 32-byte BLAKE3 of the index

The id is the BLAKE3 digest of the index, which names every byte of the pack. A pack is
staged and committed whole, so it is complete or absent; a killed writer leaves only a
temp file. Readers hash every blob they take out of a pack, as they do loose blobs.
"""

from __future__ import annotations

import os
import re
import struct
import threading
import weakref
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

import blake3

from shipyard.errors import IntegrityError, NotFound
from shipyard.storage.blobs import BlobBackend
from shipyard.storage.hashing import verified

if TYPE_CHECKING:
    from shipyard.storage.pack_writer import PackWriter

__all__ = ["ENTRY", "FOOTER", "MAGIC", "PACK_FOLDER", "PackIndex", "PackStore", "PackedBlob"]

PACK_FOLDER = "packs"
MAGIC = b"SYPACK1\0"
ENTRY = struct.Struct("<32sQQ")
FOOTER = struct.Struct("<8sQQ32s")
_PACK_KEY = re.compile(r"packs/[0-9a-f]{64}\.pack")
DEFAULT_PACK_LIMIT = 64 << 20  # a killed add keeps the packs it finished


@dataclass(frozen=True, slots=True)
class PackedBlob:
    """Where a blob lives inside a pack."""

    pack: str  # backend key of the pack
    offset: int
    size: int


class PackStore:
    """The packs of one backend: find, read (verified), write and drop blobs."""

    def __init__(self, backend: BlobBackend) -> None:
        self.backend = backend
        self.index = PackIndex(backend)
        self._reader = PackReader(backend)

    def writer(self, limit: int = DEFAULT_PACK_LIMIT) -> PackWriter:
        """A writer of new packs (close it to commit what it holds)."""
        from shipyard.storage.pack_writer import PackWriter

        return PackWriter(self.backend, self.index, limit)

    def holds(self, digest: str) -> bool:
        """Whether a pack known to this process holds ``digest`` (no new look: a miss
        only costs storing the blob once more)."""
        return self.index.find(digest) is not None

    def find(self, digest: str) -> PackedBlob | None:
        """Where ``digest`` sits in a pack, looking again for packs written since."""
        where = self.index.find(digest)
        if where is None:
            self.index.refresh()
            where = self.index.find(digest)
        return where

    def read(self, digest: str, *, look_again: bool = True) -> bytes | None:
        """The verified bytes of a packed blob, or None if no pack holds it;
        :class:`IntegrityError` if the pack's bytes no longer match the digest. With
        ``look_again=False`` only the packs known so far are searched."""
        for _ in range(2):
            where = self.find(digest) if look_again else self.index.find(digest)
            if where is None:
                if look_again:
                    self._raise_if_damaged(digest)
                return None
            try:
                return self._read(digest, where)
            except FileNotFoundError:  # rewritten by another process: look again
                self._reader.forget(where.pack)
                self.index.forget(where.pack)
        return None

    def digests(self) -> Iterator[str]:
        """Every digest any pack holds."""
        self.index.refresh()
        return self.index.digests()

    def drop(self, digest: str) -> None:
        """Rewrite every pack holding ``digest`` without it (the others stay packed)."""
        for pack in self.index.packs_holding(digest):
            keep = [entry for entry in self.index.entries(pack) if entry[0] != digest]
            with self.writer() as writer:
                for other, offset, size in keep:
                    writer.add(
                        bytes.fromhex(other), self._read(other, PackedBlob(pack, offset, size))
                    )
            self._reader.forget(pack)
            self.index.forget(pack)
            self.backend.delete(pack)

    def _raise_if_damaged(self, digest: str) -> None:
        """A blob found nowhere may be in a pack whose index cannot be read: say so."""
        damage = self.index.damage()
        if damage:
            pack, why = next(iter(damage.items()))
            raise IntegrityError(
                f"blob {digest} is in no readable pack, and {why}",
                details=[{"digest": digest, "pack": pack}],
            )

    def _read(self, digest: str, where: PackedBlob) -> bytes:
        data = self._reader.read(where)
        return verified(data, digest, f"{self.backend.url}/{where.pack} at byte {where.offset}")


class PackIndex:
    """Which pack holds which blob, read from the packs' own indexes when first asked."""

    def __init__(self, backend: BlobBackend) -> None:
        self._backend = backend
        self._where: dict[bytes, tuple[str, int]] = {}  # digest -> (pack, entry offset)
        self._indexes: dict[str, bytes] = {}
        self._damaged: dict[str, str] = {}  # pack -> what is wrong with it
        self._loaded = False
        self._lock = threading.Lock()

    def find(self, digest: str) -> PackedBlob | None:
        """The pack entry of ``digest``, or None (from the packs known so far)."""
        if not self._loaded:
            self.refresh()
        hit = self._where.get(bytes.fromhex(digest))
        if hit is None:
            return None
        pack, at = hit
        _, offset, size = ENTRY.unpack_from(self._indexes[pack], at)
        return PackedBlob(pack, offset, size)

    def refresh(self) -> None:
        """Read the indexes of packs committed since the last look (by any process)."""
        with self._lock:
            for key in self._backend.list(f"{PACK_FOLDER}/"):
                if (
                    _PACK_KEY.fullmatch(key)
                    and key not in self._indexes
                    and key not in self._damaged
                ):
                    try:
                        self._add(key, read_index(self._backend, key))
                    except IntegrityError as exc:
                        self._damaged[key] = str(exc)
            self._loaded = True

    def learn(self, key: str, index: bytes) -> None:
        """Record a pack this process just committed."""
        with self._lock:
            self._add(key, index)

    def forget(self, key: str) -> None:
        """Drop a pack that was removed."""
        with self._lock:
            if self._indexes.pop(key, None) is not None:
                self._where = {}
                for other, index in self._indexes.items():
                    self._place(other, index)

    def digests(self) -> Iterator[str]:
        """Every digest held by a known pack."""
        if not self._loaded:
            self.refresh()
        return (digest.hex() for digest in list(self._where))

    def packs_holding(self, digest: str) -> list[str]:
        """Every known pack that holds ``digest`` (a blob may sit in more than one)."""
        if not self._loaded:
            self.refresh()
        raw = bytes.fromhex(digest)
        return [key for key, index in self._indexes.items() if _holds(index, raw)]

    def entries(self, key: str) -> list[tuple[str, int, int]]:
        """(digest, offset, size) of every blob in pack ``key``."""
        return [
            (digest.hex(), offset, size)
            for digest, offset, size in ENTRY.iter_unpack(self._indexes[key])
        ]

    def damage(self) -> dict[str, str]:
        """Packs whose index could not be read, with the reason."""
        return dict(self._damaged)

    def _add(self, key: str, index: bytes) -> None:
        self._indexes[key] = index
        self._place(key, index)

    def _place(self, key: str, index: bytes) -> None:
        where = self._where
        for at in range(0, len(index), ENTRY.size):
            where.setdefault(index[at : at + 32], (key, at))


def read_index(backend: BlobBackend, key: str) -> bytes:
    """The checked index of pack ``key``; :class:`IntegrityError` if it is damaged."""
    with backend.open(key) as reader:
        size = reader.seek(0, 2)
        if size < FOOTER.size:
            raise _damaged(key, "shorter than its footer")
        reader.seek(size - FOOTER.size)
        magic, count, index_at, index_hash = FOOTER.unpack(reader.read(FOOTER.size))
        if magic != MAGIC or index_at + count * ENTRY.size + FOOTER.size != size:
            raise _damaged(key, "its footer does not describe it")
        reader.seek(index_at)
        index = reader.read(count * ENTRY.size)
    if blake3.blake3(index).digest() != index_hash or not key.endswith(f"/{index_hash.hex()}.pack"):
        raise _damaged(key, "its index does not match its digest")
    return index


class PackReader:
    """Reads blobs out of packs, keeping one descriptor per pack on a local disk."""

    def __init__(self, backend: BlobBackend) -> None:
        self._backend = backend
        self._fds: dict[str, int] = {}
        self._lock = threading.Lock()
        weakref.finalize(self, _close_all, self._fds)

    def read(self, where: PackedBlob) -> bytes:
        """The raw (unverified) bytes of the packed blob; FileNotFoundError if the pack
        is gone (rewritten by another process)."""
        fd = self._fds.get(where.pack)
        if fd is not None:
            return os.pread(fd, where.size, where.offset)
        path = self._backend.local_path(where.pack)
        if path is None:
            try:
                with self._backend.open(where.pack) as reader:
                    reader.seek(where.offset)
                    return reader.read(where.size)
            except NotFound as exc:
                raise FileNotFoundError(where.pack) from exc
        fd = self._fds.get(where.pack)
        if fd is None:
            with self._lock:
                fd = self._fds.get(where.pack)
                if fd is None:
                    fd = self._fds[where.pack] = os.open(path, os.O_RDONLY)
        return os.pread(fd, where.size, where.offset)

    def forget(self, key: str) -> None:
        """Close the descriptor of a pack that was removed."""
        with self._lock:
            fd = self._fds.pop(key, None)
        if fd is not None:
            os.close(fd)


def _close_all(fds: dict[str, int]) -> None:
    for fd in fds.values():
        os.close(fd)
    fds.clear()


def _holds(index: bytes, digest: bytes) -> bool:
    start = index.find(digest)
    while start >= 0:
        if start % ENTRY.size == 0:
            return True
        start = index.find(digest, start + 1)
    return False


def _damaged(key: str, why: str) -> IntegrityError:
    return IntegrityError(
        f"pack {key!r} is damaged ({why}); its blobs cannot be read. Restore the file "
        f"from a backup, or add the data again"
    )
