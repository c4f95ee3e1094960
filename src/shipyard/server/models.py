"""/api/v1/models: the registry over HTTP; the caller's role decides who may move aliases.

Reads need viewer; evaluating and requesting approval need editor; moving an alias needs
editor, or approver when the alias is protected (the registry checks that, with the
caller's role); approving, rejecting and setting policies need approver.
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends
from pydantic import BaseModel, Field

from shipyard.platform import Platform
from shipyard.server.auth import require

router = APIRouter(prefix="/models", tags=["models"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]
Approver = Annotated[Platform, Depends(require("approver"))]


class Promotion(BaseModel):
    """Point an alias at a version."""

    version: int = Field(ge=1)
    alias: str = Field(min_length=1, max_length=64)


class Decision(BaseModel):
    """A comment on an approval step."""

    comment: str = Field(default="", max_length=5000)


class Evaluation(BaseModel):
    """Evaluate a version on a labelled dataset version."""

    data: str = Field(min_length=1, max_length=200)
    target: str = Field(min_length=1, max_length=200)
    sensitive: list[str] = Field(default_factory=list, max_length=20)


class PolicyBody(BaseModel):
    """A promotion policy document (see `shipyard models policy --help`); null clears it."""

    policy: dict[str, Any] | None


class FileBody(BaseModel):
    """One saved file of a model, uploaded to /blobs first."""

    path: str = Field(min_length=1, max_length=1000)
    size: int = Field(ge=0)
    mode: int = Field(ge=0, le=0o7777)
    digest: str = Field(min_length=64, max_length=64)


class NewVersion(BaseModel):
    """A model version whose files are uploaded; the client packed and checked it."""

    run_id: str | None = None
    files: list[FileBody] = Field(min_length=1, max_length=1000)
    flavor: str
    details: dict[str, Any] = Field(default_factory=dict)
    packages: dict[str, str] = Field(default_factory=dict)
    signature: dict[str, Any]
    description: str = Field(default="", max_length=20_000)


@router.post("/{name}/versions", status_code=201)
def register(name: str, body: NewVersion, platform: Editor) -> dict[str, Any]:
    """Record a version from uploaded files (never deserialized on the server)."""
    from shipyard.entities import FileEntry

    version = platform.models.register(
        name,
        body.run_id,
        [FileEntry(f.path, f.size, f.mode, f.digest) for f in body.files],
        flavor=body.flavor,
        details=body.details,
        packages=body.packages,
        signature=body.signature,
        description=body.description,
    )
    return _version(version)


@router.get("")
def list_models(platform: Viewer) -> list[dict[str, Any]]:
    """The latest version of every registered model."""
    return [_version(v) for v in platform.models.list()]


@router.get("/{name}/versions")
def versions(name: str, platform: Viewer) -> list[dict[str, Any]]:
    """Every version of a model, newest first."""
    return [_version(v) for v in platform.models.versions(name)]


@router.get("/{ref}")
def show(ref: str, platform: Viewer) -> dict[str, Any]:
    """One version with lineage, evaluations, verdicts, approvals and the policy."""
    return platform.models.describe(ref)


@router.get("/{ref}/files")
def files(ref: str, platform: Viewer) -> list[dict[str, Any]]:
    """The saved files of a version (download each through /blobs/{digest})."""
    from shipyard.data.manifest import Manifest

    version = platform.models.get(ref)
    manifest = Manifest.from_bytes(platform.blobs.get_bytes(version.digest))
    return [entry._asdict() for entry in manifest.entries]


@router.post("/{ref}/evaluations", status_code=201)
def evaluate(ref: str, body: Evaluation, platform: Editor) -> dict[str, Any]:
    """Evaluate a version (stored; the same data evaluated again returns the stored result)."""
    return platform.models.evaluate(ref, body.data, target=body.target, sensitive=body.sensitive)


@router.post("/{name}/aliases")
def promote(name: str, body: Promotion, platform: Editor) -> dict[str, Any]:
    """Move an alias; the model's policy gates apply (409 with every check when refused)."""
    return platform.models.promote(name, body.version, alias=body.alias)


@router.get("/{name}/policy")
def get_policy(name: str, platform: Viewer) -> dict[str, Any] | None:
    """The promotion policy of a model (null when it has none)."""
    policy = platform.models.policy(name)
    return None if policy is None else policy.to_dict()


@router.put("/{name}/policy")
def set_policy(name: str, body: PolicyBody, platform: Approver) -> dict[str, Any] | None:
    """Set or clear the promotion policy of a model."""
    policy = platform.models.set_policy(name, body.policy)
    return None if policy is None else policy.to_dict()


@router.post("/{ref}/approvals/request", status_code=201)
def request_approval(ref: str, body: Decision, platform: Editor) -> dict[str, Any]:
    """Ask approvers to approve a version."""
    return asdict(platform.models.request_approval(ref, body.comment))


@router.post("/{ref}/approvals/approve", status_code=201)
def approve(ref: str, body: Decision, platform: Approver) -> dict[str, Any]:
    """Approve a version."""
    return asdict(platform.models.approve(ref, body.comment))


@router.post("/{ref}/approvals/reject", status_code=201)
def reject(ref: str, body: Decision, platform: Approver) -> dict[str, Any]:
    """Reject a version (a comment is required)."""
    return asdict(platform.models.reject(ref, body.comment))


def _version(version: Any) -> dict[str, Any]:
    return {**asdict(version), "ref": version.ref, "aliases": list(version.aliases)}
