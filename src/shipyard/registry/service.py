"""Model versions: register, look up, load (verified), evaluate, trace back.

Registering saves the model in its safest format, stores each file as a blob and a
manifest of them, loads the saved files back and checks they predict what the live
object predicted on the example, and only then records the version (one transaction,
audited). Loading reads every file through its digest before anything is deserialized.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.data.manifest import Manifest, checked_manifest, require_stored
from shipyard.entities import ApprovalEvent, FileEntry, ModelVersion, Run
from shipyard.errors import NotFound, ValidationError
from shipyard.governance.audit import AuditTrail, utc_now
from shipyard.registry.refs import ModelRef, check_model_name, parse_model_ref
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.models import SqlModelStore
from shipyard.storage.sql.schema import canonical_json

if TYPE_CHECKING:
    from shipyard.data.service import DatasetService
    from shipyard.registry.loaded import LoadedModel
    from shipyard.registry.policy import Policy
    from shipyard.storage.content import ContentStore
    from shipyard.tracking.service import RunService


class ModelService:
    """The registry of one workspace, acting as one actor with one role."""

    def __init__(
        self,
        db: Database,
        blobs: Callable[[], ContentStore],
        audit: AuditTrail,
        actor: str,
        role: str,
        datasets: DatasetService,
        runs: Callable[[], RunService],
    ) -> None:
        self.db = db
        self._blobs = blobs
        self.audit = audit
        self.actor = actor
        self.role = role
        self.datasets = datasets
        self._runs = runs
        self.store = SqlModelStore()

    # registering

    def log(
        self,
        run_id: str | None,
        model: Any,
        *,
        name: str,
        example: Any,
        trust: bool = False,
        description: str = "",
    ) -> ModelVersion:
        """Save ``model`` as the next version of ``name``, produced by run ``run_id``."""
        from shipyard.registry.saving import packed

        check_model_name(name)
        inputs = self._runs().get(run_id).inputs if run_id is not None else []
        nullable = self._nullable_columns(inputs)
        with packed(model, example, trust=trust, nullable=nullable) as pack:
            entries = [self._store_file(pack.folder, rel) for rel in pack.files]
        return self.register(
            name,
            run_id,
            entries,
            flavor=pack.saved.flavor,
            details=pack.saved.details,
            packages=pack.saved.packages,
            signature=pack.signature.to_dict(),
            description=description,
        )

    def register(
        self,
        name: str,
        run_id: str | None,
        entries: Iterable[FileEntry],
        *,
        flavor: str,
        details: dict[str, Any],
        packages: dict[str, str],
        signature: dict[str, Any],
        description: str = "",
    ) -> ModelVersion:
        """Record a version whose files are stored already (checked: the blobs exist with
        the sizes given, the flavor is known, the signature is well formed)."""
        from shipyard.registry.flavors import FLAVORS
        from shipyard.registry.signature import Signature

        check_model_name(name)
        if flavor not in FLAVORS:
            raise ValidationError(f"unknown model format {flavor!r}; known: {', '.join(FLAVORS)}")
        try:
            Signature.from_dict(signature)
        except (KeyError, TypeError, ValueError) as exc:
            raise ValidationError(f"malformed model signature: {exc}") from exc
        if run_id is not None:
            self._runs().get(run_id)
        manifest = checked_manifest(entries)
        require_stored(self.blobs, manifest)
        draft = ModelVersion(
            name=name,
            version=0,
            run_id=run_id,
            flavor=flavor,
            safe=flavor != "cloudpickle",
            digest=self.blobs.put_bytes(manifest.to_bytes()).digest,
            files=manifest.files,
            bytes=manifest.size,
            signature=signature,
            packages=dict(packages),
            details=dict(details),
            author=self.actor,
            created_at=utc_now(),
            description=description,
        )
        return self._record(draft)

    def _nullable_columns(self, refs: builtins.list[str]) -> set[str]:
        """Columns with missing values in the training data (from the inputs' schemas)."""
        found: set[str] = set()
        for ref in refs:
            schema = self.datasets.get(ref).schema or {}
            found |= {c["name"] for c in schema.get("columns", []) if c.get("nullable")}
        return found

    def _store_file(self, folder: Path, rel: str) -> FileEntry:
        path = folder / rel
        info = self.blobs.put_file(path)
        return FileEntry(rel, info.size, path.stat().st_mode & 0o777, info.digest)

    def _record(self, draft: ModelVersion) -> ModelVersion:
        from dataclasses import replace

        with self.db.write() as conn:
            self.store.lock_model(conn, draft.name, created_at=draft.created_at, actor=self.actor)
            version = replace(draft, version=self.store.latest_number(conn, draft.name) + 1)
            self.store.insert_version(conn, version)
            self.record(
                conn,
                "model.log",
                version,
                {"digest": version.digest, "flavor": version.flavor, "run": version.run_id},
            )
        return version

    # reading

    @property
    def blobs(self) -> ContentStore:
        """The blob store holding the saved model files."""
        return self._blobs()

    def get(self, ref: str | ModelRef) -> ModelVersion:
        """The version ``ref`` names (``NAME``, ``NAME@latest``, ``NAME@vN``, ``NAME@ALIAS``)."""
        parsed = ref if isinstance(ref, ModelRef) else parse_model_ref(ref)
        with self.db.read() as conn:
            number = self._resolve(conn, parsed)
            version = self.store.get(conn, parsed.name, number)
            if version is None and not self.store.model_exists(conn, parsed.name):
                raise NotFound(f"no model named {parsed.name!r}; `shipyard models list` shows them")
        if version is None:
            raise NotFound(f"model {parsed.name!r} has no version v{number}")
        return version

    def _resolve(self, conn: Any, ref: ModelRef) -> int:
        if ref.version is not None:
            number: int | None = ref.version
        elif ref.alias is not None:
            number = self.store.alias_target(conn, ref.name, ref.alias)
        else:
            number = self.store.latest_number(conn, ref.name) or None
        if number is None:
            if not self.store.model_exists(conn, ref.name):
                raise NotFound(f"no model named {ref.name!r}; `shipyard models list` shows them")
            raise NotFound(f"model {ref.name!r} has no alias {ref.alias!r}")
        return number

    def list(self) -> builtins.list[ModelVersion]:
        """The latest version of every registered model."""
        latest: dict[str, ModelVersion] = {}
        with self.db.read() as conn:
            for version in self.store.versions(conn):
                latest.setdefault(version.name, version)
        return builtins.list(latest.values())

    def versions(self, name: str) -> builtins.list[ModelVersion]:
        """Every version of ``name``, newest first."""
        check_model_name(name)
        with self.db.read() as conn:
            found = self.store.versions(conn, name)
        if not found:
            raise NotFound(f"no model named {name!r}; `shipyard models list` shows them")
        return found

    def load(self, ref: str, *, trust: bool = False) -> LoadedModel:
        """The model ``ref`` names, every file verified against its digest before loading.

        Formats that run code when loaded (``cloudpickle``) are refused unless ``trust``.
        """
        return self._deserialize(self.get(ref), trust=trust)

    def _deserialize(self, version: ModelVersion, *, trust: bool) -> LoadedModel:
        from shipyard.registry.loaded import load_files, require_trust

        require_trust(version, trust)  # before a byte is read
        blobs = self.blobs
        manifest = Manifest.from_bytes(blobs.get_bytes(version.digest))
        files = {entry.path: blobs.get_bytes(entry.digest) for entry in manifest.entries}
        return load_files(version, files, trust=trust)

    # evaluation and lineage

    def evaluate(
        self,
        ref: str,
        data: str,
        *,
        target: str,
        sensitive: Sequence[str] = (),
        trust: bool = False,
    ) -> dict[str, Any]:
        """Metrics, per-group fairness and feature importance of ``ref`` on dataset ``data``;
        stored with the version (evaluating the same data again reuses the stored result)."""
        from shipyard.registry.evaluation import evaluate

        version = self.get(ref)
        dataset = self.datasets.get(data)
        key = evaluation_key(dataset.ref, target, sensitive)
        with self.db.read() as conn:
            stored = self.store.evaluation(conn, version.name, version.version, key)
        if stored is not None:
            return stored
        model = self._deserialize(version, trust=trust)
        frame = self.datasets.load(dataset.ref)
        features = model.signature.names
        result = evaluate(model, frame, target=target, sensitive=sensitive, features=features)
        result = {"model": version.ref, "data": dataset.ref, "at": utc_now(), **result}
        with self.db.write() as conn:
            self.store.add_evaluation(
                conn,
                version.name,
                version.version,
                key,
                result,
                created_at=result["at"],
                created_by=self.actor,
            )
            summary = {"data": dataset.ref, "metrics": result.get("metrics", {})}
            self.record(conn, "model.evaluate", version, summary)
        return result

    def evaluations(self, ref: str) -> builtins.list[dict[str, Any]]:
        """Every stored evaluation of ``ref``, oldest first."""
        version = self.get(ref)
        with self.db.read() as conn:
            return self.store.evaluations(conn, version.name, version.version)

    def run(self, run_id: str) -> Run:
        """The run that produced a version."""
        return self._runs().get(run_id)

    def lineage(self, ref: str) -> dict[str, Any]:
        """Where ``ref`` came from: its run, the dataset versions the run read, the code."""
        from shipyard.registry.lineage import lineage

        return lineage(self, ref)

    def downstream(self, data_ref: str) -> dict[str, Any]:
        """What was built from a dataset version: the runs that read it, their models."""
        from shipyard.registry.lineage import downstream

        return downstream(self, data_ref)

    # promotion (the rules live in shipyard.registry.promotion)

    def promote(
        self, name: str, version: int, *, alias: str, trust: bool = False
    ) -> dict[str, Any]:
        """Point ``alias`` at ``name`` version ``version``; the policy's gates and the role
        rules apply. Returns the verdict; PromotionRefused lists every failed check."""
        from shipyard.registry.promotion import promote

        return promote(self, name, version, alias, trust=trust)

    def set_policy(self, name: str, policy: Any) -> Policy | None:
        """Set the promotion policy of ``name`` (a Policy, a mapping, YAML text or a YAML
        file path; None clears it)."""
        from shipyard.registry.promotion import set_policy

        return set_policy(self, name, policy)

    def policy(self, name: str) -> Policy | None:
        """The promotion policy of ``name``, or None."""
        from shipyard.registry.promotion import get_policy

        return get_policy(self, name)

    def request_approval(self, ref: str, comment: str = "") -> ApprovalEvent:
        """Ask for ``ref`` to be approved."""
        from shipyard.registry.promotion import request_approval

        return request_approval(self, ref, comment)

    def approve(self, ref: str, comment: str = "") -> ApprovalEvent:
        """Approve ``ref`` (approver role)."""
        from shipyard.registry.promotion import decide

        return decide(self, ref, True, comment)

    def reject(self, ref: str, comment: str) -> ApprovalEvent:
        """Reject ``ref`` with a reason (approver role)."""
        from shipyard.registry.promotion import decide

        return decide(self, ref, False, comment)

    def approvals(self, ref: str) -> builtins.list[ApprovalEvent]:
        """The approval steps of ``ref``, oldest first."""
        version = self.get(ref)
        with self.db.read() as conn:
            return self.store.approvals(conn, version.name, version.version)

    def verdicts(self, ref: str) -> builtins.list[dict[str, Any]]:
        """Every promotion verdict of ``ref``, oldest first."""
        version = self.get(ref)
        with self.db.read() as conn:
            return self.store.verdicts(conn, version.name, version.version)

    def describe(self, ref: str) -> dict[str, Any]:
        """Everything stored about ``ref``: the version, lineage, evaluations, verdicts,
        approvals and the model's policy (what ``models show`` and model cards use)."""
        from shipyard.registry.lineage import describe

        return describe(self, ref)

    def record(self, conn: Any, action: str, version: ModelVersion, payload: Any) -> None:
        """Append an audit event about ``version`` in the caller's transaction."""
        self.audit.record(
            conn,
            actor=self.actor,
            action=action,
            entity_kind="model_version",
            entity_id=version.ref,
            payload=payload,
        )


def evaluation_key(data_ref: str, target: str, sensitive: Sequence[str]) -> str:
    """The identity of an evaluation: which data, which target, which sensitive columns."""
    return canonical_json({"data": data_ref, "target": target, "sensitive": sorted(sensitive)})
