"""/api/v1/blobs: content-addressed bytes, so a client uploads only what the server lacks.

A client asks which digests are missing, then PUTs each missing blob under its digest.
The body is spooled to a temporary file and hashed as it arrives; bytes that do not hash
to the digest they were sent under are refused and nothing is stored. Downloads stream
through a reader that verifies the digest (a corrupt blob fails at the end of the
transfer rather than being served as good).
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Annotated, Any, BinaryIO

import blake3
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response
from pydantic import BaseModel, Field

from shipyard.errors import IntegrityError, NotFound
from shipyard.platform import Platform
from shipyard.server.auth import require
from shipyard.server.streaming import blob_response
from shipyard.storage.content import check_digest

router = APIRouter(prefix="/blobs", tags=["blobs"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]
MAX_DIGESTS = 100_000


class DigestMismatch(IntegrityError):
    """Uploaded bytes that do not hash to the digest they were sent under (a client error)."""

    http_status = 422


class Digests(BaseModel):
    """Digests a client is about to reference."""

    digests: list[str] = Field(max_length=MAX_DIGESTS)


@router.post("/missing")
def missing(body: Digests, platform: Editor) -> dict[str, list[str]]:
    """The digests (of ``digests``, in order, once each) that the blob store lacks."""
    wanted = dict.fromkeys(check_digest(digest) for digest in body.digests)
    blobs = platform.blobs
    return {"missing": [digest for digest in wanted if not blobs.exists(digest)]}


@router.put("/{digest}", status_code=201)
async def upload(digest: str, request: Request, platform: Editor) -> dict[str, Any]:
    """Store the request body as the blob ``digest``; 422 if the bytes hash otherwise."""
    check_digest(digest)
    with tempfile.TemporaryDirectory(prefix="shipyard-blob-") as folder:
        spooled = Path(folder) / "blob"
        hasher = blake3.blake3()
        with spooled.open("wb") as out:
            async for chunk in request.stream():
                await run_in_threadpool(_absorb, chunk, hasher, out)
        actual = hasher.hexdigest()
        if actual != digest:
            raise DigestMismatch(
                f"the uploaded bytes hash to {actual}, not to {digest}; nothing was stored "
                "(the file changed while it was sent, or the digest is wrong)",
                details=[{"digest": digest, "actual": actual}],
            )
        info = await run_in_threadpool(platform.blobs.put_file, spooled)
    return {"digest": info.digest, "size": info.size, "created": info.created}


@router.get("/{digest}")
def download(digest: str, platform: Viewer) -> Response:
    """The verified bytes of one blob; its digest in the X-Shipyard-Digest header."""
    blobs = platform.blobs
    if not blobs.exists(check_digest(digest)):
        raise NotFound(f"no blob {digest} on this server; upload it first (PUT /blobs/DIGEST)")
    return blob_response(blobs, digest, blobs.size(digest))


def _absorb(chunk: bytes, hasher: blake3.blake3, out: BinaryIO) -> None:
    hasher.update(chunk)
    out.write(chunk)
