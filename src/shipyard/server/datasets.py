"""/api/v1/datasets: dataset versions read, compared, validated, and added from file lists.

Reads need a viewer, POSTs an editor. A client adds a version in two steps: it uploads
the bytes the server lacks through /blobs, then posts the version's file list (path,
size, mode, digest per file). The server checks every digest is stored, then records
the version as a local add would, table facts and validation rules included. Versions
are served in the JSON shape of `shipyard data show --json`.
"""

from __future__ import annotations

import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Depends, Response
from pydantic import BaseModel, Field

from shipyard.entities import DatasetVersion, FileEntry
from shipyard.platform import Platform
from shipyard.server.auth import require

if TYPE_CHECKING:
    from shipyard.data.rules import RuleSet

router = APIRouter(prefix="/datasets", tags=["datasets"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]
MAX_FILES = 1_000_000


class NewFile(BaseModel):
    """One file of a version to add; its bytes must be stored under ``digest`` already."""

    path: str = Field(min_length=1, max_length=4096)
    size: int = Field(ge=0)
    mode: int = Field(ge=0, le=0o7777)
    digest: str = Field(min_length=64, max_length=64)


class NewVersion(BaseModel):
    """A version to add: its files, a message, and optional YAML validation rules."""

    files: list[NewFile] = Field(min_length=1, max_length=MAX_FILES)
    message: str = Field(default="", max_length=10_000)
    rules: str | None = Field(default=None, description="rules as YAML text (see the README)")


class Rules(BaseModel):
    """Validation rules as YAML text; none: rules inferred from the version before."""

    rules: str | None = None


def version_document(version: DatasetVersion) -> dict[str, Any]:
    """The JSON of a version: every field plus its ref (as `shipyard data show --json`)."""
    return {**asdict(version), "ref": version.ref}


@router.get("")
def list_datasets(platform: Viewer) -> list[dict[str, Any]]:
    """The latest version of every dataset."""
    return [version_document(version) for version in platform.datasets.list()]


@router.get("/diff")
def diff(old: str, new: str, platform: Viewer) -> dict[str, Any]:
    """Files added, removed and changed from ``old`` to ``new``; for tables also rows,
    schema and statistics (as `shipyard data diff --json`)."""
    return platform.datasets.diff(old, new)


@router.get("/{name}/versions")
def log(name: str, platform: Viewer) -> list[dict[str, Any]]:
    """Every version of a dataset, newest first."""
    return [version_document(version) for version in platform.datasets.log(name)]


@router.post("/{name}/versions", status_code=201)
def add(name: str, body: NewVersion, response: Response, platform: Editor) -> dict[str, Any]:
    """Record the next version of ``name`` from a file list whose bytes are all stored.

    Answers 201 with ``"created": true`` for a new version, or 200 with the latest
    version and ``"created": false`` when it holds exactly these files already.
    """
    entries = [FileEntry(f.path, f.size, f.mode, f.digest) for f in body.files]
    result = platform.datasets.add_manifest(
        name, entries, message=body.message, rules=_parse_rules(body.rules)
    )
    if not result.created:
        response.status_code = 200
    return {**version_document(result.version), "created": result.created}


@router.get("/{ref}")
def get(ref: str, platform: Viewer) -> dict[str, Any]:
    """One version: ``NAME@vN``, ``NAME@latest`` or ``NAME``."""
    return version_document(platform.datasets.get(ref))


@router.get("/{ref}/manifest")
def manifest(ref: str, platform: Viewer) -> list[dict[str, Any]]:
    """The files of a version (path, size, mode, digest), sorted by path."""
    datasets = platform.datasets
    return [entry._asdict() for entry in datasets.manifest(datasets.get(ref)).entries]


@router.post("/{ref}/validate")
def validate(ref: str, platform: Editor, body: Rules | None = None) -> dict[str, Any]:
    """Check a tabular version against rules (as `shipyard data validate --json`).

    It reads only, but runs the rules on the server, so like every POST it needs an editor.
    """
    rules = _parse_rules(body.rules if body else None)
    report: Any = platform.datasets.validate(ref, rules)
    return dict(report.to_dict())


def _parse_rules(text: str | None) -> RuleSet | None:
    """Rules sent as YAML text, checked as a rules file named rules.yaml would be."""
    if text is None:
        return None
    from shipyard.data.rules import load_rules

    with tempfile.TemporaryDirectory(prefix="shipyard-rules-") as folder:
        path = Path(folder) / "rules.yaml"
        path.write_text(text, encoding="utf-8")
        return load_rules(path)
