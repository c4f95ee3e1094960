"""Content-addressed blobs: hashing, layout, dedup and verification, once, above any backend.

A blob's name is the BLAKE3 digest of its bytes (64 lowercase hex characters), stored
under the backend key ``ab/cdef...`` (the first two characters fan out into folders).
Writes hash and stage in one streaming pass and commit only under the digest they
produced; reads hash what they return and fail with :class:`IntegrityError` when the
stored bytes no longer match their name.
"""

from __future__ import annotations

import io
import os
import stat
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import blake3

from shipyard.errors import NotFound, StorageError, ValidationError
from shipyard.storage.blobs import BlobBackend
from shipyard.storage.filecopy import copy_and_hash
from shipyard.storage.files import create_file, umask, write_all
from shipyard.storage.hashing import (
    DEFAULT_BLOCK_SIZE,
    check_block_size,
    check_digest,
    digest_key,
    hash_file,
    is_digest,
    new_hasher,
    threads_for,
    verified,
)
from shipyard.storage.packs import PackStore
from shipyard.storage.streams import (
    PrefixedReader,
    VerifyingReader,
    copy_stream,
    fill,
)

if TYPE_CHECKING:
    from shipyard.storage.pack_writer import PackWriter

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "BlobInfo",
    "ContentStore",
    "check_digest",
    "digest_key",
    "hash_file",
]


@dataclass(frozen=True, slots=True)
class BlobInfo:
    """What a put stored: the digest, the size in bytes, and whether bytes were new."""

    digest: str
    size: int
    created: bool


class ContentStore:
    """Blobs named by the BLAKE3 digest of their bytes, over any :class:`BlobBackend`."""

    def __init__(self, backend: BlobBackend, *, block_size: int = DEFAULT_BLOCK_SIZE) -> None:
        self.backend = backend
        self.block_size = check_block_size(block_size)
        self.packs = PackStore(backend)

    def __repr__(self) -> str:
        return f"ContentStore({self.backend.url!r})"

    def put_stream(
        self, reader: BinaryIO, on_bytes: Callable[[int], None] | None = None
    ) -> BlobInfo:
        """Store everything ``reader`` yields, in one pass of ``block_size`` blocks.

        The content is hashed while it is staged, never held whole in memory. If a blob
        with the same digest exists, the staged bytes are dropped (``created=False``).
        """
        buffer = memoryview(bytearray(self.block_size))
        hasher = new_hasher(self.block_size)
        size = 0
        with self.backend.stage() as staged:
            while n := fill(reader, buffer):
                hasher.update(buffer[:n])
                if staged.write(buffer[:n]) != n:
                    raise _short_write(self.backend.url)
                size += n
                if on_bytes is not None:
                    on_bytes(n)
            digest = hasher.hexdigest()
            key = digest_key(digest)
            if self.backend.exists(key):
                return BlobInfo(digest, size, created=False)  # leaving the block aborts
            staged.commit(key)
        return BlobInfo(digest, size, created=True)

    def put_file(
        self, path: str | os.PathLike[str], on_bytes: Callable[[int], None] | None = None
    ) -> BlobInfo:
        """Store the bytes of the file at ``path``.

        Files up to one block are read whole and hashed before anything is written, so
        storing content that is already there costs one read and no write. Larger ones
        report their progress to ``on_bytes`` as they go.
        """
        try:
            reader = open(path, "rb")  # noqa: SIM115 - closed below
        except FileNotFoundError as exc:
            raise NotFound(
                f"cannot store {os.fspath(path)!r}: no such file; check the path",
                details=[{"path": os.fspath(path)}],
            ) from exc
        with reader:
            size = os.fstat(reader.fileno()).st_size
            if size < self.block_size:
                data = reader.read(self.block_size)
                if len(data) < self.block_size:  # else it grew: stream the rest
                    return self.put_bytes(data)
                return self.put_stream(io.BufferedReader(PrefixedReader(data, reader)))
            return self._put_large_file(reader, size, on_bytes)

    def _put_large_file(
        self, reader: BinaryIO, size: int, on_bytes: Callable[[int], None] | None
    ) -> BlobInfo:
        """Kernel copy and hashing in parallel when the staged blob is a local file."""
        with self.backend.stage() as staged:
            fileno = getattr(staged, "fileno", None)
            if fileno is None:
                return self.put_stream(reader, on_bytes)
            try:
                digest = copy_and_hash(reader.fileno(), fileno(), size, on_bytes)
            except OSError:
                reader.seek(0)
                return self.put_stream(reader, on_bytes)  # no kernel copy: read and write
            if os.fstat(reader.fileno()).st_size != size:
                raise ValidationError(
                    f"{reader.name!r} changed while it was being stored; nothing was recorded"
                )
            key = digest_key(digest)
            if self.backend.exists(key):
                return BlobInfo(digest, size, created=False)
            staged.commit(key)
        return BlobInfo(digest, size, created=True)

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data`` (hashed first: nothing is written when the blob exists)."""
        digest = blake3.blake3(data, max_threads=threads_for(len(data))).hexdigest()
        key = digest_key(digest)
        if self.backend.exists(key):
            return BlobInfo(digest, len(data), created=False)
        with self.backend.stage() as staged:
            if staged.write(data) != len(data):
                raise _short_write(self.backend.url)
            staged.commit(key)
        return BlobInfo(digest, len(data), created=True)

    def pack_writer(self) -> PackWriter:
        """A writer of packs for :meth:`put_small` (close it to commit what it holds)."""
        return self.packs.writer()

    def put_small(self, data: bytes, writer: PackWriter) -> BlobInfo:
        """Store small ``data`` in the pack ``writer`` writes, unless it is stored already.

        Storing many small blobs this way costs a few large writes instead of a file
        each; the blob is readable once the writer commits its pack.
        """
        raw = blake3.blake3(data).digest()
        digest = raw.hex()
        if self.backend.exists(f"{digest[:2]}/{digest[2:]}") or self.packs.holds(digest):
            return BlobInfo(digest, len(data), created=False)
        return BlobInfo(digest, len(data), created=writer.add(raw, data))

    def open(self, digest: str) -> BinaryIO:
        """A reader over the blob that verifies its digest as it reads.

        The check happens at end of file: a streaming consumer receives the bytes first
        and gets :class:`IntegrityError` from the read that reaches the end, so it must
        read to the end (or use :meth:`get_bytes` / :meth:`get_file`) before trusting
        what it read. The reader cannot seek.
        """
        key = digest_key(digest)
        try:
            inner = self.backend.open(key)
        except NotFound:
            packed = self.packs.read(digest)
            if packed is None:
                raise
            return io.BytesIO(packed)
        where = self.backend.local_path(key) or f"{self.backend.url}/{key}"
        raw = VerifyingReader(inner, digest, where, self.block_size, new_hasher(self.block_size))
        return io.BufferedReader(raw, buffer_size=self.block_size)

    def get_bytes(self, digest: str) -> bytes:
        """The verified bytes of the blob (a local one read in one call, no buffering:
        every ``data status`` reads a manifest of thousands of files this way)."""
        key = digest_key(digest)
        source = self.backend.local_path(key)
        if source is not None:
            try:
                with open(source, "rb", buffering=0) as file:
                    data = file.read()
            except OSError:
                packed = self.packs.read(digest)
                if packed is not None:
                    return packed  # else the backend's reader raises the right error
            else:
                return verified(data, digest, source)
        with self.open(digest) as reader:
            return reader.read()

    def get_file(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the blob to ``dest``, which appears only once the bytes are verified.

        The bytes go to a temp file next to ``dest`` that is renamed over it after
        verification; on any failure ``dest`` is left as it was.
        """
        target = Path(dest)
        with self.open(digest) as reader:
            try:
                target.parent.mkdir(parents=True, exist_ok=True)
                fd, temp = tempfile.mkstemp(
                    prefix=f".{target.name}.", suffix=".part", dir=target.parent
                )
            except OSError as exc:
                raise _dest_error(target, exc) from exc
            replaced = False
            try:
                with open(fd, "wb") as out:
                    copy_stream(reader, out, self.block_size)
                os.replace(temp, target)
                replaced = True
            except OSError as exc:
                raise _dest_error(target, exc) from exc
            finally:
                if not replaced:
                    Path(temp).unlink(missing_ok=True)

    def write_new_file(self, digest: str, dest: str, mode: int) -> None:
        """Create ``dest`` (which must not exist) with the blob's bytes and ``mode``.

        The bytes are verified while they are written; on a mismatch ``dest`` may hold
        them, so callers write into a folder they discard on failure (as checkout does).
        Blobs on the local disk are read whole when small and copied by the kernel when
        large, which is what makes restoring many files fast.
        """
        packed = self.packs.read(digest, look_again=False)  # no failed open per file
        if packed is not None:
            create_file(dest, packed, mode)
            return
        key = digest_key(digest)
        source = self.backend.local_path(key)
        opened = None if source is None else _open_regular(source)
        if opened is None and (packed := self.packs.read(digest)) is not None:
            create_file(dest, packed, mode)
            return
        if source is None or opened is None:  # not on this disk, or missing: the reader decides
            self.get_file(digest, dest)
            os.chmod(dest, mode)
            return
        src, size = opened
        try:
            out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
            try:
                actual = self._copy_verified(src, out, size)
                if mode & umask():  # the umask took bits away: put them back
                    os.fchmod(out, mode)
            finally:
                os.close(out)
        finally:
            os.close(src)
        if actual != digest:
            raise VerifyingReader.mismatch(digest, actual, source)

    def _copy_verified(self, src: int, out: int, size: int) -> str:
        if size >= self.block_size:
            return copy_and_hash(src, out, size)
        data = os.read(src, size + 1)
        write_all(out, data)
        return str(blake3.blake3(data).hexdigest())

    def verify(self, digest: str) -> None:
        """Read the whole blob; raise :class:`IntegrityError` if it does not match."""
        buffer = memoryview(bytearray(self.block_size))
        with self.open(digest) as reader:
            while fill(reader, buffer):
                pass

    def exists(self, digest: str) -> bool:
        """Whether the blob is stored (as its own file or in a pack)."""
        return self.backend.exists(digest_key(digest)) or self.packs.holds(digest)

    def size(self, digest: str) -> int:
        """The blob's size in bytes; :class:`NotFound` if absent."""
        try:
            return self.backend.size(digest_key(digest))
        except NotFound:
            where = self.packs.find(digest)
            if where is None:
                raise
            return where.size

    def digests(self) -> Iterator[str]:
        """Every stored digest (keys that do not follow the layout are skipped)."""
        seen = set()
        for key in self.backend.list():
            if len(key) == 65 and key[2] == "/" and is_digest(key[:2] + key[3:]):
                seen.add(digest := key[:2] + key[3:])
                yield digest
        yield from (digest for digest in self.packs.digests() if digest not in seen)

    def delete(self, digest: str) -> None:
        """Remove the blob; a missing blob is not an error. A packed blob's pack is
        rewritten without it."""
        self.backend.delete(digest_key(digest))
        self.packs.drop(digest)


def _open_regular(path: str) -> tuple[int, int] | None:
    """A read descriptor on the regular file at ``path`` and its size, else None.

    One open and one fstat: asking first whether the file exists would walk its path
    once more, which shows when thousands of small blobs are checked out.
    """
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return None
    try:
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode):
            return fd, info.st_size
    except OSError:
        pass
    os.close(fd)
    return None


def _short_write(url: str) -> StorageError:
    return StorageError(
        f"blob backend {url} took fewer bytes than written; "
        f"its StagedBlob.write must take all bytes and return their count"
    )


def _dest_error(target: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"could not write the blob to {target}: {exc.strerror or exc}; check that the "
        f"folder is writable and the disk is not full",
        details=[{"path": str(target)}],
    )
