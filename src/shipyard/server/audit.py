"""/api/v1/audit: read and verify the hash-chained audit trail.

The trail tells who did what, to which entity, and when, so reading it takes role
``approver`` or higher (the people who sign off on changes), not every viewer.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query

from shipyard.platform import Platform
from shipyard.server.auth import require

router = APIRouter(prefix="/audit", tags=["audit"])
Approver = Annotated[Platform, Depends(require("approver"))]


@router.get("")
def entries(
    platform: Approver,
    limit: Annotated[int | None, Query(ge=0, description="the N newest; all when absent")] = None,
) -> dict[str, Any]:
    """The newest ``limit`` events, oldest first (as `shipyard audit log`); role approver."""
    trail = platform.audit
    events = trail.entries(limit)
    return {"entries": [asdict(event) for event in events], "total": trail.count()}


@router.get("/verify")
def verify(platform: Approver) -> dict[str, Any]:
    """Check the whole hash chain; the verdict names the first bad entry; role approver."""
    return asdict(platform.audit.verify())
