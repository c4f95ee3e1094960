"""Many small blobs in one request body, so uploading thousands of files costs a few
round trips (and the server stores them in packs) instead of one request per file.

Layout: a 4-byte little-endian length, that many bytes of a JSON index
``[[digest, size], ...]``, then the blobs' bytes back to back in index order.
"""

from __future__ import annotations

import json
import struct
from collections.abc import Iterable

from shipyard.errors import ValidationError
from shipyard.storage.hashing import check_digest

__all__ = ["MAX_BATCH_BYTES", "MAX_BATCH_BLOB", "decode", "encode"]

MAX_BATCH_BYTES = 32 << 20  # a request body the server accepts
MAX_BATCH_BLOB = 1 << 20  # larger blobs are sent on their own, streamed
_LENGTH = struct.Struct("<I")


def encode(blobs: Iterable[tuple[str, bytes]]) -> bytes:
    """The body carrying ``blobs``, each given as (digest, bytes)."""
    items = list(blobs)
    index = json.dumps([[digest, len(data)] for digest, data in items]).encode()
    return b"".join([_LENGTH.pack(len(index)), index, *(data for _, data in items)])


def decode(body: bytes) -> list[tuple[str, bytes]]:
    """The (digest, bytes) pairs of a batch body; :class:`ValidationError` if it is not
    one (the bytes are not checked against their digests here)."""
    view = memoryview(body)
    if len(view) < _LENGTH.size:
        raise _malformed("it is shorter than its header")
    (length,) = _LENGTH.unpack_from(view)
    start = _LENGTH.size + length
    try:
        index = json.loads(bytes(view[_LENGTH.size : start]))
        pairs = [(check_digest(digest), int(size)) for digest, size in index]
    except (ValueError, TypeError) as exc:
        raise _malformed(f"its index is not a list of [digest, size] ({exc})") from exc
    if any(size < 0 for _, size in pairs) or start + sum(s for _, s in pairs) != len(view):
        raise _malformed("its sizes do not add up to its length")
    blobs: list[tuple[str, bytes]] = []
    for digest, size in pairs:
        blobs.append((digest, bytes(view[start : start + size])))
        start += size
    return blobs


def _malformed(why: str) -> ValidationError:
    return ValidationError(
        f"not a blob batch: {why}; send a 4-byte index length, a JSON index of "
        "[digest, size] pairs, then the blobs in that order"
    )
