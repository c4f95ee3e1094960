"""Sending a blob: verified before the first byte when small, streamed when large.

A blob up to ``WHOLE_LIMIT`` bytes is read and checked against its digest first, so a
corrupt one gets a proper JSON error. A larger one is streamed through a verifying
reader: a mismatch found at its end aborts the transfer, and the client, which checks
the digest of what it received, refuses the partial or wrong bytes.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi.responses import Response, StreamingResponse

from shipyard.storage.content import ContentStore

WHOLE_LIMIT = 16 << 20
CHUNK = 1 << 20
MEDIA_TYPE = "application/octet-stream"


def blob_response(blobs: ContentStore, digest: str, size: int) -> Response:
    """The response carrying blob ``digest`` of ``size`` bytes."""
    headers = {"X-Shipyard-Digest": digest}
    if size <= WHOLE_LIMIT:
        return Response(blobs.get_bytes(digest), media_type=MEDIA_TYPE, headers=headers)
    reader = blobs.open(digest)

    def chunks() -> Iterator[bytes]:
        with reader:
            while block := reader.read(CHUNK):
                yield block

    headers["Content-Length"] = str(size)
    return StreamingResponse(chunks(), media_type=MEDIA_TYPE, headers=headers)
