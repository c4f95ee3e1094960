"""Naming content: BLAKE3 digests, their backend keys, and hashing files and bytes."""

from __future__ import annotations

import os
import re
from collections.abc import Callable

import blake3

from shipyard.errors import ValidationError
from shipyard.storage.streams import VerifyingReader, fill

__all__ = [
    "DEFAULT_BLOCK_SIZE",
    "check_block_size",
    "check_digest",
    "digest_key",
    "hash_file",
    "is_digest",
    "new_hasher",
    "threads_for",
    "verified",
]

DEFAULT_BLOCK_SIZE = 4 * 2**20
_THREADED_HASH_MIN = 2**20  # below this, blake3's threads cost more than they save
_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(text: str) -> bool:
    """Whether ``text`` is 64 lowercase hex characters."""
    return bool(_DIGEST.fullmatch(text))


def check_digest(digest: str) -> str:
    """Return ``digest`` if it is a BLAKE3 hex digest, else raise :class:`ValidationError`."""
    if isinstance(digest, str) and _DIGEST.fullmatch(digest):
        return digest
    raise ValidationError(
        f"blob digest must be 64 lowercase hex characters (a BLAKE3 digest), got {digest!r} "
        f"instead; copy the digest exactly as shipyard printed it",
        details=[{"digest": repr(digest)}],
    )


def digest_key(digest: str) -> str:
    """The backend key of ``digest``: ``ab/cdef...``."""
    check_digest(digest)
    return f"{digest[:2]}/{digest[2:]}"


def hash_file(
    path: str | os.PathLike[str],
    *,
    block_size: int = DEFAULT_BLOCK_SIZE,
    on_bytes: Callable[[int], None] | None = None,
) -> str:
    """The BLAKE3 hex digest of a file's bytes, read in blocks of ``block_size``."""
    buffer = memoryview(bytearray(check_block_size(block_size)))
    hasher = new_hasher(block_size)
    with open(path, "rb") as reader:
        while n := fill(reader, buffer):
            hasher.update(buffer[:n])
            if on_bytes is not None:
                on_bytes(n)
    return hasher.hexdigest()


def verified(data: bytes, digest: str, where: str) -> bytes:
    """``data`` if it hashes to ``digest``, else :class:`IntegrityError` naming ``where``."""
    actual = blake3.blake3(data, max_threads=threads_for(len(data))).hexdigest()
    if actual != digest:
        raise VerifyingReader.mismatch(digest, actual, where)
    return data


def threads_for(size: int) -> int:
    """How many threads blake3 should hash ``size`` bytes with."""
    return blake3.blake3.AUTO if size >= _THREADED_HASH_MIN else 1


def new_hasher(block_size: int) -> blake3.blake3:
    """A hasher for blocks of ``block_size`` bytes."""
    return blake3.blake3(max_threads=threads_for(block_size))


def check_block_size(block_size: int) -> int:
    """``block_size`` if it is a positive int, else :class:`ValidationError`."""
    if isinstance(block_size, int) and not isinstance(block_size, bool) and block_size > 0:
        return block_size
    raise ValidationError(
        f"block_size must be a positive number of bytes (default {DEFAULT_BLOCK_SIZE}), "
        f"got {block_size!r} instead"
    )
