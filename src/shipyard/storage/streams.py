"""Byte streams of the content store: a reader that verifies a digest as it reads, a
reader that replays bytes already read, and the block loops both sides use."""

from __future__ import annotations

import io
from typing import Any, BinaryIO

import blake3

from shipyard.errors import IntegrityError, ValidationError


class VerifyingReader(io.RawIOBase):
    """Hashes everything read through it and checks the digest at end of file."""

    def __init__(
        self, inner: BinaryIO, digest: str, where: str, block_size: int, hasher: blake3.blake3
    ) -> None:
        self._inner = inner
        self._digest = digest
        self._where = where
        self._block_size = block_size
        self._hasher = hasher
        self._verified = False
        self._actual: str | None = None

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._actual is not None:
            raise self._mismatch(self._actual)
        if self._verified:
            return 0
        view = memoryview(buffer).cast("B")
        n = read_once(self._inner, view)
        if n:
            self._hasher.update(view[:n])
            return n
        actual = self._hasher.hexdigest()
        if actual != self._digest:
            self._actual = actual
            raise self._mismatch(actual)
        self._verified = True
        return 0

    def readall(self) -> bytes:
        chunks = bytearray()
        while data := self.read(self._block_size):
            chunks += data
        return bytes(chunks)

    def close(self) -> None:
        if not self.closed:
            self._inner.close()
        super().close()

    def _mismatch(self, actual: str) -> IntegrityError:
        return self.mismatch(self._digest, actual, self._where)

    @staticmethod
    def mismatch(digest: str, actual: str, where: str) -> IntegrityError:
        """The error for a blob whose bytes no longer hash to its name."""
        return IntegrityError(
            f"blob {digest} is corrupt: the bytes stored at {where} hash to "
            f"{actual}; do not use them, delete the blob and put the original content again",
            details=[{"digest": digest, "actual": actual, "location": where}],
        )


class PrefixedReader(io.RawIOBase):
    """Bytes already read, then the rest of a reader."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        if self._head:
            n = min(len(buffer), len(self._head))
            buffer[:n] = self._head[:n]
            self._head = self._head[n:]
            return n
        return read_once(self._rest, memoryview(buffer))


def read_once(reader: BinaryIO, view: memoryview) -> int:
    """One read into ``view``; 0 only at end of file."""
    readinto = getattr(reader, "readinto", None)
    if readinto is not None:
        n = readinto(view)
        if n is None:
            raise ValidationError(
                f"reader {reader!r} returned None (a non-blocking stream with no data "
                f"ready); pass a blocking binary reader"
            )
        return int(n)
    data = reader.read(len(view))
    if not isinstance(data, bytes | bytearray):
        raise ValidationError(
            f"reader must yield bytes, got {type(data).__name__} from {reader!r} instead; "
            f"open files in binary mode ('rb')"
        )
    view[: len(data)] = data
    return len(data)


def fill(reader: BinaryIO, buffer: memoryview) -> int:
    """Fill ``buffer`` from ``reader`` (several reads if short); the count, 0 at EOF."""
    filled = 0
    while filled < len(buffer):
        n = read_once(reader, buffer[filled:])
        if not n:
            break
        filled += n
    return filled


def copy_stream(reader: BinaryIO, out: BinaryIO, block_size: int) -> None:
    buffer = memoryview(bytearray(block_size))
    while n := fill(reader, buffer):
        out.write(buffer[:n])
