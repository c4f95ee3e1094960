"""The content-addressed blob store through a server: the common ContentStore methods.

A put hashes the bytes here, asks the server whether it lacks that digest, and sends
them only if it does (the server refuses bytes that do not hash to their digest). Gets
check the digest of what arrives before returning it. Puts and :meth:`exists` ask
``/blobs/missing``, which takes role ``editor``; reads take ``viewer``.
"""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import blake3

from shipyard.client.http import Api
from shipyard.errors import IntegrityError, NotFound, ValidationError
from shipyard.storage.content import BlobInfo, check_digest, hash_file


class RemoteBlobs:
    """Put, get and look up blobs on a shipyard server by their BLAKE3 digest."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def put_bytes(self, data: bytes) -> BlobInfo:
        """Store ``data`` (hashed first: nothing is sent when the server holds the blob)."""
        digest = blake3.blake3(data).hexdigest()
        return self._put(digest, len(data), lambda: io.BytesIO(data))

    def put_file(self, path: str | os.PathLike[str]) -> BlobInfo:
        """Store the file at ``path``, streamed, and only if the server lacks its bytes."""
        source = Path(path)
        sizes: list[int] = []
        try:
            digest = hash_file(source, on_bytes=sizes.append)
        except FileNotFoundError as exc:
            raise NotFound(f"cannot store {str(source)!r}: no such file; check the path") from exc
        try:
            return self._put(digest, sum(sizes), lambda: source.open("rb"))
        except (IntegrityError, FileNotFoundError) as exc:
            raise ValidationError(
                f"{str(source)!r} changed while it was being sent; nothing was stored"
            ) from exc

    def get_bytes(self, digest: str) -> bytes:
        """The blob's bytes, checked against ``digest``; NotFound when the server lacks it."""
        return self._api.fetch(_route(digest), digest)

    def get_file(self, digest: str, dest: str | os.PathLike[str]) -> None:
        """Write the blob to ``dest``, which appears only once the bytes are verified."""
        self._api.download(_route(digest), Path(dest), digest)

    def exists(self, digest: str) -> bool:
        """Whether the server stores the blob."""
        return not self._missing(check_digest(digest))

    def _missing(self, digest: str) -> bool:
        return bool(self._api.post("/blobs/missing", {"digests": [digest]})["missing"])

    def _put(self, digest: str, size: int, body: Callable[[], BinaryIO]) -> BlobInfo:
        if not self._missing(digest):
            return BlobInfo(digest, size, created=False)
        with body() as reader:
            answer = self._api.put(_route(digest), reader)
        return BlobInfo(answer["digest"], int(answer["size"]), bool(answer["created"]))


def _route(digest: str) -> str:
    return f"/blobs/{check_digest(digest)}"
