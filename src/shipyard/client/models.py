"""The model registry through a server: the methods and results of the embedded service.

Loading downloads every saved file and checks it against the digests the server's
manifest names, and the manifest against the version's digest, before anything is
deserialized; the server's roles decide who may promote and approve.
"""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from shipyard.client.http import Api
from shipyard.entities import ApprovalEvent, FileEntry, ModelVersion
from shipyard.errors import IntegrityError

if TYPE_CHECKING:
    from shipyard.registry.loaded import LoadedModel
    from shipyard.registry.policy import Policy

_FIELDS = tuple(item.name for item in fields(ModelVersion))


def model_from_json(document: dict[str, Any]) -> ModelVersion:
    """The version a server sent (every field, plus ``ref`` and others)."""
    values = {name: document[name] for name in _FIELDS if name in document}
    values["aliases"] = tuple(values.get("aliases", ()))
    return ModelVersion(**values)


class RemoteModelService:
    """Read, load, evaluate and promote registered models on a server."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def list(self) -> builtins.list[ModelVersion]:
        """The latest version of every registered model."""
        return [model_from_json(item) for item in self._api.get("/models")]

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        """Every version of ``name``, newest first."""
        return [model_from_json(item) for item in self._api.get(f"/models/{_q(name)}/versions")]

    def describe(self, ref: str) -> dict[str, Any]:
        """Everything stored about ``ref`` (as ``models show --json``)."""
        return dict(self._api.get(f"/models/{_q(ref)}"))

    def get(self, ref: str) -> ModelVersion:
        """The version ``ref`` names."""
        return model_from_json(self.describe(ref))

    def lineage(self, ref: str) -> dict[str, Any]:
        """Where ``ref`` came from: run, dataset versions, code."""
        return dict(self.describe(ref)["lineage"])

    def evaluations(self, ref: str) -> builtins.list[dict[str, Any]]:
        """Every stored evaluation of ``ref``."""
        return list(self.describe(ref)["evaluations"])

    def verdicts(self, ref: str) -> builtins.list[dict[str, Any]]:
        """Every promotion verdict of ``ref``."""
        return list(self.describe(ref)["verdicts"])

    def approvals(self, ref: str) -> builtins.list[ApprovalEvent]:
        """The approval steps of ``ref``."""
        return [ApprovalEvent(**event) for event in self.describe(ref)["approvals"]]

    def load(self, ref: str, *, trust: bool = False) -> LoadedModel:
        """Download, verify and load ``ref`` (unsafe formats only with ``trust``)."""
        from shipyard.data.manifest import Manifest
        from shipyard.registry.loaded import load_files, require_trust

        version = self.get(ref)
        require_trust(version, trust)  # before a byte is downloaded
        entries = [FileEntry(**e) for e in self._api.get(f"/models/{_q(version.ref)}/files")]
        if Manifest.of(entries).digest() != version.digest:
            raise IntegrityError(f"the file list the server sent for {version.ref} is not its own")
        files = {e.path: self._api.fetch(f"/blobs/{e.digest}", e.digest) for e in entries}
        return load_files(version, files, trust=trust)

    def evaluate(
        self,
        ref: str,
        data: str,
        *,
        target: str,
        sensitive: Sequence[str] = (),
        trust: bool = False,
    ) -> dict[str, Any]:
        """Evaluate ``ref`` on the server (stored with the version)."""
        body = {"data": data, "target": target, "sensitive": list(sensitive)}
        return dict(self._api.post(f"/models/{_q(ref)}/evaluations", body))

    def promote(
        self, name: str, version: int, *, alias: str, trust: bool = False
    ) -> dict[str, Any]:
        """Move ``alias``; the policy's gates and the caller's role apply."""
        body = {"version": int(version), "alias": alias}
        return dict(self._api.post(f"/models/{_q(name)}/aliases", body))

    def set_policy(self, name: str, policy: Any) -> Policy | None:
        """Set (or clear, with None) the promotion policy of ``name``."""
        from shipyard.registry.policy import load_policy, parse_policy

        document = None if policy is None else load_policy(policy).to_dict()
        stored = self._api.put_json(f"/models/{_q(name)}/policy", {"policy": document})
        return None if stored is None else parse_policy(stored)

    def policy(self, name: str) -> Policy | None:
        """The promotion policy of ``name``, or None."""
        from shipyard.registry.policy import parse_policy

        document = self._api.get(f"/models/{_q(name)}/policy")
        return None if document is None else parse_policy(document)

    def request_approval(self, ref: str, comment: str = "") -> ApprovalEvent:
        """Ask for ``ref`` to be approved."""
        return self._step(ref, "request", comment)

    def approve(self, ref: str, comment: str = "") -> ApprovalEvent:
        """Approve ``ref`` (approver role)."""
        return self._step(ref, "approve", comment)

    def reject(self, ref: str, comment: str) -> ApprovalEvent:
        """Reject ``ref`` with a reason (approver role)."""
        return self._step(ref, "reject", comment)

    def _step(self, ref: str, action: str, comment: str) -> ApprovalEvent:
        document = self._api.post(f"/models/{_q(ref)}/approvals/{action}", {"comment": comment})
        return ApprovalEvent(**document)


def _q(text: str) -> str:
    return quote(text, safe="@")


def upload_model(
    api: Api,
    run_id: str | None,
    model: Any,
    *,
    name: str,
    example: Any,
    trust: bool = False,
    description: str = "",
) -> ModelVersion:
    """Pack ``model`` (checked round trip), upload the files the server lacks, register."""
    from shipyard.registry.refs import check_model_name
    from shipyard.registry.saving import packed

    check_model_name(name)
    nullable = _nullable_inputs(api, run_id)
    with packed(model, example, trust=trust, nullable=nullable) as pack:
        entries = [_upload_file(api, pack.folder / rel, rel) for rel in pack.files]
        body = {
            "run_id": run_id,
            "files": [entry._asdict() for entry in entries],
            "flavor": pack.saved.flavor,
            "details": pack.saved.details,
            "packages": pack.saved.packages,
            "signature": pack.signature.to_dict(),
            "description": description,
        }
    return model_from_json(api.post(f"/models/{_q(name)}/versions", body))


def _nullable_inputs(api: Api, run_id: str | None) -> set[str]:
    """Columns with gaps in the run's input datasets (from their stored schemas)."""
    if run_id is None:
        return set()
    found: set[str] = set()
    for ref in api.get(f"/runs/{run_id}")["inputs"]:
        schema = api.get(f"/datasets/{_q(ref)}").get("schema") or {}
        found |= {c["name"] for c in schema.get("columns", []) if c.get("nullable")}
    return found


def _upload_file(api: Api, path: Path, rel: str) -> FileEntry:
    """Upload one saved file unless the server holds its blob already."""
    from shipyard.client.blobs import RemoteBlobs

    info = RemoteBlobs(api).put_file(path)
    return FileEntry(rel, info.size, path.stat().st_mode & 0o777, info.digest)
