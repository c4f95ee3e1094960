"""/api/v1/blobs: content-addressed bytes, so a client uploads only what the server lacks.

A client asks which digests are missing, then PUTs each missing blob under its digest,
or POSTs many small ones at once to ``/blobs/batch`` (stored in packs); it reads many
small ones at once from ``/blobs/fetch``.
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

from shipyard.errors import IntegrityError, NotFound, ValidationError
from shipyard.platform import Platform
from shipyard.server.auth import require
from shipyard.server.streaming import blob_response
from shipyard.storage.blob_batch import MAX_BATCH_BLOB, MAX_BATCH_BYTES, decode, encode
from shipyard.storage.content import ContentStore, check_digest

router = APIRouter(prefix="/blobs", tags=["blobs"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]
MAX_DIGESTS = 100_000


class DigestMismatch(IntegrityError):
    """Uploaded bytes that do not hash to the digest they were sent under (a client error)."""

    http_status = 422


class PayloadTooLarge(ValidationError):
    """A request body over the size the route accepts."""

    http_status = 413


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


@router.post("/batch", status_code=201)
async def upload_batch(request: Request, platform: Editor) -> dict[str, int]:
    """Store the small blobs of a batch body (:mod:`shipyard.storage.blob_batch`) in
    packs; 422 and nothing stored when any of them does not hash to its digest."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BATCH_BYTES:
        raise _too_large(int(declared))
    body = await request.body()
    if len(body) > MAX_BATCH_BYTES:
        raise _too_large(len(body))
    return await run_in_threadpool(_store_batch, platform, body)


def _store_batch(platform: Platform, body: bytes) -> dict[str, int]:
    blobs = decode(body)
    for digest, data in blobs:
        actual = blake3.blake3(data).hexdigest()
        if actual != digest:
            raise DigestMismatch(
                f"a blob of the batch hashes to {actual}, not to {digest}; nothing of the "
                "batch was stored (the file changed while it was sent, or the digest is wrong)",
                details=[{"digest": digest, "actual": actual}],
            )
    store = platform.blobs
    created = new_bytes = 0
    with store.pack_writer() as writer:
        for _, data in blobs:
            info = store.put_small(data, writer)
            created += info.created
            new_bytes += info.size if info.created else 0
    return {"blobs": len(blobs), "created": created, "bytes": new_bytes}


@router.post("/fetch")
def fetch_batch(body: Digests, platform: Viewer) -> Response:
    """The verified bytes of many small blobs in one batch body
    (:mod:`shipyard.storage.blob_batch`); 404 naming the first one missing."""
    blobs = platform.blobs
    found: list[tuple[str, bytes]] = []
    total = 0
    for digest in dict.fromkeys(check_digest(digest) for digest in body.digests):
        size = _stored_size(blobs, digest)
        if size > MAX_BATCH_BLOB:
            raise ValidationError(
                f"blob {digest} has {size} bytes, over the {MAX_BATCH_BLOB} a batch carries; "
                "download it on its own (GET /blobs/DIGEST)"
            )
        total += size
        if total > MAX_BATCH_BYTES:
            raise _too_large(total)
        found.append((digest, blobs.get_bytes(digest)))
    return Response(encode(found), media_type="application/octet-stream")


def _too_large(size: int) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"a blob batch may hold at most {MAX_BATCH_BYTES} bytes, this one has {size}; "
        "send fewer blobs per batch",
        details=[{"size": size, "limit": MAX_BATCH_BYTES}],
    )


@router.get("/{digest}")
def download(digest: str, platform: Viewer) -> Response:
    """The verified bytes of one blob; its digest in the X-Shipyard-Digest header."""
    blobs = platform.blobs
    return blob_response(blobs, digest, _stored_size(blobs, check_digest(digest)))


def _stored_size(blobs: ContentStore, digest: str) -> int:
    """The size of a stored blob; NotFound naming the digest if it is not stored."""
    if not blobs.exists(digest):
        raise NotFound(f"no blob {digest} on this server; upload it first (PUT /blobs/DIGEST)")
    return blobs.size(digest)


def _absorb(chunk: bytes, hasher: blake3.blake3, out: BinaryIO) -> None:
    hasher.update(chunk)
    out.write(chunk)
