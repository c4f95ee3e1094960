"""/api/v1/settings: workspace settings; anyone may read them, only an admin changes them.

Every change is audited with the caller as its actor and the previous value.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shipyard.platform import Platform
from shipyard.server.auth import require

router = APIRouter(prefix="/settings", tags=["settings"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Admin = Annotated[Platform, Depends(require("admin"))]


class NewValue(BaseModel):
    """The value a setting takes."""

    value: Any = Field(description="any JSON value: string, number, bool, list, object, null")


@router.get("")
def list_settings(platform: Viewer) -> list[dict[str, Any]]:
    """Every setting, sorted by key."""
    return [asdict(item) for item in platform.workspace_settings.list()]


@router.get("/{key:path}")
def get_setting(key: str, platform: Viewer) -> dict[str, Any]:
    """One setting; 404 when it was never set."""
    return asdict(platform.workspace_settings.get(key))


@router.put("/{key:path}")
def set_setting(key: str, body: NewValue, platform: Admin) -> dict[str, Any]:
    """Set ``key`` to ``value`` (audited with the previous value); role admin."""
    return asdict(platform.workspace_settings.set(key, body.value))


@router.delete("/{key:path}")
def unset_setting(key: str, platform: Admin) -> dict[str, Any]:
    """Remove ``key``; 404 when it was not set; role admin."""
    platform.workspace_settings.unset(key)
    return {"key": key, "removed": True}
