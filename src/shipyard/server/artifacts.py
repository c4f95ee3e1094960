"""/api/v1/runs/{id}/artifacts: run files streamed up and down, never whole in memory.

Uploads are spooled to a temporary file as they arrive, then stored as a blob; downloads
stream the blob through a reader that verifies its digest (a corrupt blob fails the
transfer at its end rather than being served as good).
"""

from __future__ import annotations

import tempfile
from pathlib import Path, PurePosixPath
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from shipyard.errors import ValidationError
from shipyard.platform import Platform
from shipyard.server.auth import require
from shipyard.server.streaming import blob_response
from shipyard.tracking.service import select_artifacts

router = APIRouter(prefix="/runs/{run_id}/artifacts", tags=["artifacts"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]


@router.get("")
def list_artifacts(run_id: str, platform: Viewer) -> list[dict[str, Any]]:
    """Every artifact file of a run: path, size, mode and digest."""
    return [entry._asdict() for entry in platform.runs.artifacts(run_id)]


@router.put("/{path:path}", status_code=201)
async def upload(run_id: str, path: str, request: Request, platform: Editor) -> dict[str, Any]:
    """Store the request body as the artifact file at ``path``."""
    relative = PurePosixPath(path)
    if not path or relative.is_absolute() or ".." in relative.parts:
        raise ValidationError(f"artifact path must be a plain relative path, got {path!r}")
    with tempfile.TemporaryDirectory(prefix="shipyard-upload-") as folder:
        target = Path(folder) / relative.name
        with target.open("wb") as out:
            async for chunk in request.stream():
                await run_in_threadpool(out.write, chunk)
        parent = "" if str(relative.parent) == "." else str(relative.parent)
        entries = await run_in_threadpool(platform.runs.write_artifacts, run_id, target, parent)
    return entries[0]._asdict()


@router.get("/{path:path}")
def download(run_id: str, path: str, platform: Viewer) -> Response:
    """The bytes of one artifact file."""
    matching = select_artifacts(platform.runs.artifacts(run_id), path)
    exact = [e for e in matching if e.path == path.strip("/")]
    if not exact:
        raise ValidationError(f"{path!r} is a folder of artifacts; download its files one by one")
    entry = exact[0]
    return blob_response(platform.blobs, entry.digest, entry.size)
