"""Dataset versions: add, look up, compare against local files and against each other.

A version is written in three steps, the first two free of side effects that matter:
hash and store every file's bytes (content-addressed, so re-adding costs nothing),
store the manifest, then insert the version row and its audit event in one
transaction. A process killed before that transaction commits leaves no version; the
next add finds the blobs already stored.
"""

from __future__ import annotations

import builtins
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.data import facts, scanning
from shipyard.data.ingest import IngestResult, Progress, digests_of
from shipyard.data.local import (
    Latest,
    StatusReport,
    ingest_scanned,
    local_status,
    read_manifest,
    remember_manifest,
)
from shipyard.data.manifest import (
    LocalFile,
    Manifest,
    checked_manifest,
    diff_manifests,
    paused_gc,
    require_stored,
)
from shipyard.data.refs import check_name, parse_ref
from shipyard.entities import DatasetVersion, FileEntry
from shipyard.errors import NotFound, ValidationError

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.governance.audit import AuditTrail
    from shipyard.storage.content import ContentStore
    from shipyard.storage.sql.engine import Database


DATASET_ATTR = "shipyard.dataset"  # DataFrame.attrs key naming the version it came from


@dataclass(frozen=True)
class AddResult:
    """The version an add produced (or found unchanged) and the work it took."""

    version: DatasetVersion
    created: bool
    hashed: int
    new_bytes: int


class DatasetService:
    """Versions files and tables; every new version is audited."""

    def __init__(
        self,
        db: Database,
        blobs: Callable[[], ContentStore],
        audit: AuditTrail,
        actor: str,
        cache_dir: Path,
    ) -> None:
        # SQLAlchemy is imported with the first service built, never with this module:
        # the read-only `data status` (shipyard.data.quick_status) does without it.
        from shipyard.storage.sql.datasets import SqlDatasetStore

        self._db = db
        self._blobs = blobs
        self._audit = audit
        self._actor = actor
        self._cache_dir = cache_dir
        self._store = SqlDatasetStore()

    @property
    def blobs(self) -> ContentStore:
        """The blob store holding the files and manifests."""
        return self._blobs()

    def add(
        self,
        name: str,
        source: str | Path | pd.DataFrame,
        *,
        message: str = "",
        rules: Any = None,
        progress: Progress | None = None,
    ) -> DatasetVersion:
        """Version ``source`` (a file, a folder or a DataFrame) as the next version of
        ``name``; content identical to the latest version gives that version back."""
        return self.add_with_stats(
            name, source, message=message, rules=rules, progress=progress
        ).version

    def add_with_stats(
        self,
        name: str,
        source: str | Path | pd.DataFrame,
        *,
        message: str = "",
        rules: Any = None,
        progress: Progress | None = None,
    ) -> AddResult:
        """Like :meth:`add`, also saying whether a version was created and the work done."""
        check_name(name)
        if isinstance(source, str | Path):
            cache_dir = self._cache_dir / "stat"
            return self._add_path(name, Path(source), message, rules, progress, cache_dir)
        with tempfile.TemporaryDirectory(prefix="shipyard-frame-") as folder:
            path = facts.write_frame(source, Path(folder) / f"{name}.parquet")
            return self._add_path(name, path, message, rules, progress, None)

    def _add_path(
        self,
        name: str,
        path: Path,
        message: str,
        rules: Any,
        progress: Progress | None,
        cache_dir: Path | None,
    ) -> AddResult:
        with paused_gc():
            source = path.expanduser()
            _, files = scanning.current().scan(source)
            latest = self._latest(name)
            stored = digests_of([self.manifest(latest)]) if latest else set()
            result = ingest_scanned(source, files, self.blobs, cache_dir, stored, progress)
        return self.record_stored(name, files, result, message=message, rules=rules)

    def record_stored(
        self,
        name: str,
        files: list[LocalFile],
        result: IngestResult,
        *,
        message: str = "",
        rules: Any = None,
    ) -> AddResult:
        """Record local ``files`` whose bytes :func:`ingest_scanned` stored as the next
        version of ``name`` (unless the latest version holds them already)."""
        version, created = self._commit(
            name, self._latest(name), result.manifest, message, lambda: facts.analyze(files, rules)
        )
        return AddResult(version, created, result.hashed, result.new_bytes)

    def add_manifest(
        self, name: str, entries: Iterable[FileEntry], *, message: str = "", rules: Any = None
    ) -> AddResult:
        """Version files whose bytes are already in the blob store (a server's add: its
        client uploaded them), as the next version of ``name``.

        Every entry must name a stored blob of the size it states; a single table file
        gets its schema, profile and personal-data findings, and ``rules`` enforced, as
        :meth:`add` would give it.
        """
        check_name(name)
        manifest = checked_manifest(entries)
        require_stored(self.blobs, manifest)
        latest = self._latest(name)
        table = manifest.entries[0]
        version, created = self._commit(
            name, latest, manifest, message, lambda: facts.analyze_stored(self.blobs, table, rules)
        )
        return AddResult(version, created, 0, 0)

    def _commit(
        self,
        name: str,
        latest: DatasetVersion | None,
        manifest: Manifest,
        message: str,
        learn: Callable[[], facts.TableFacts],
    ) -> tuple[DatasetVersion, bool]:
        """Store the manifest and record it, unless ``latest`` holds it already; ``learn``
        gives the table facts of a single-table manifest."""
        digest = self.blobs.put_bytes(manifest.to_bytes()).digest
        remember_manifest(digest, manifest)  # the next add compares against it
        if latest and latest.digest == digest:
            return latest, False
        learned = learn() if _single_table(manifest) else facts.NO_FACTS
        return self._record(name, digest, manifest, message, learned)

    def _record(
        self,
        name: str,
        digest: str,
        manifest: Manifest,
        message: str,
        learned: facts.TableFacts,
    ) -> tuple[DatasetVersion, bool]:
        from shipyard.governance.audit import utc_now

        now = utc_now()
        with self._db.write() as conn:
            self._store.lock_dataset(conn, name, created_at=now, actor=self._actor)
            latest = self._store.get(conn, name, None)
            if latest and latest.digest == digest:
                return latest, False  # an identical add committed first
            version = DatasetVersion(
                name=name,
                version=(latest.version + 1) if latest else 1,
                digest=digest,
                message=message,
                author=self._actor,
                created_at=now,
                parent=latest.version if latest else None,
                files=manifest.files,
                bytes=manifest.size,
                kind="table" if learned.schema is not None else "files",
                table_path=learned.path,
                schema=learned.schema,
                profile=learned.profile,
                pii=learned.pii,
            )
            self._store.insert(conn, version)
            self._audit.record(
                conn,
                actor=self._actor,
                action="dataset.add",
                entity_kind="dataset_version",
                entity_id=version.ref,
                payload={"digest": digest, "files": version.files, "bytes": version.bytes},
            )
        return version, True

    def get(self, ref: str) -> DatasetVersion:
        """The version ``ref`` names (``NAME``, ``NAME@latest``, ``NAME@vN``)."""
        parsed = parse_ref(ref)
        with self._db.read() as conn:
            version = self._store.get(conn, parsed.name, parsed.version)
            if version is None:
                known = self._store.count_versions(conn, parsed.name)
        if version is None:
            if known:
                raise NotFound(
                    f"dataset {parsed.name!r} has no version {ref!r} (it has v1..v{known})"
                )
            raise NotFound(f"no dataset named {parsed.name!r}; `shipyard data ls` lists them")
        return version

    def list(self) -> list[DatasetVersion]:
        """The latest version of every dataset."""
        with self._db.read() as conn:
            return self._store.latest_of_each(conn)

    def log(self, name: str) -> builtins.list[DatasetVersion]:
        """Every version of ``name``, newest first."""
        check_name(name)
        with self._db.read() as conn:
            versions = self._store.history(conn, name)
        if not versions:
            raise NotFound(f"no dataset named {name!r}; `shipyard data ls` lists them")
        return versions

    def manifest(self, version: DatasetVersion) -> Manifest:
        """The verified file list of ``version``."""
        return read_manifest(self.blobs, version.digest)

    def status(
        self, name: str, path: str | Path, *, progress: Progress | None = None
    ) -> StatusReport:
        """What differs between ``path`` and the latest version of ``name``."""
        check_name(name)
        found = self._latest(name)
        latest = Latest(found.ref, found.digest) if found else None
        return local_status(name, latest, Path(path), self._blobs, self._cache_dir, progress)

    def diff(self, old_ref: str, new_ref: str) -> dict[str, Any]:
        """Files added, removed and changed; for tables also rows, schema and statistics."""
        old, new = self.get(old_ref), self.get(new_ref)
        files = diff_manifests(self.manifest(old), self.manifest(new))
        document: dict[str, Any] = {"old": old.ref, "new": new.ref, "files": files.to_dict()}
        if old.kind == new.kind == "table":
            document["table"] = facts.compare(old, new)
        return document

    def checkout(
        self, ref: str, dest: str | Path, *, force: bool = False, progress: Progress | None = None
    ) -> DatasetVersion:
        """Restore ``ref`` byte for byte into the folder ``dest``."""
        from shipyard.data.checkout import checkout

        version = self.get(ref)
        with paused_gc():
            checkout(self.blobs, self.manifest(version), Path(dest), force=force, progress=progress)
        return version

    def load(self, ref: str) -> pd.DataFrame:
        """A tabular version as a pandas DataFrame (bytes verified first).

        The frame remembers where it came from in ``frame.attrs["shipyard.dataset"]``
        (pandas carries ``attrs`` through selections and slices), which is how
        ``shipyard.autolog`` links a model trained on it to the dataset version.
        """
        version = self.get(ref)
        frame = self.load_table(version.ref).to_pandas()
        frame.attrs[DATASET_ATTR] = version.ref
        return frame

    def load_table(self, ref: str) -> Any:
        """A tabular version as a pyarrow Table (bytes verified first)."""
        version = self.get(ref)
        table_path = require_table(version)
        digest = self.manifest(version).by_path()[table_path].digest
        return facts.load_table(self.blobs, version, digest)

    def validate(self, ref: str, rules: Any = None) -> Any:
        """Check ``ref`` against ``rules`` (a YAML path or RuleSet), or against rules
        inferred from the version before it (from itself, for a first version)."""
        version = self.get(ref)
        require_table(version)
        if rules is None:
            from shipyard.data.rules import rules_from_schema

            basis = self.get(f"{version.name}@v{version.parent}") if version.parent else version
            rules = rules_from_schema(basis.schema or {}, basis.profile or {})
        return facts.check(self.load_table(ref), rules)

    def _latest(self, name: str) -> DatasetVersion | None:
        with self._db.read() as conn:
            return self._store.get(conn, name, None)


def _single_table(manifest: Manifest) -> bool:
    return manifest.files == 1 and facts.is_table_file(manifest.entries[0].path)


def require_table(version: DatasetVersion) -> str:
    """The table file's path in ``version``; ValidationError for non-tabular versions."""
    if version.kind != "table" or version.table_path is None:
        raise ValidationError(
            f"{version.ref} is not tabular (it holds {version.files} files); "
            "only a single CSV or Parquet file, or a DataFrame, is loaded as a table"
        )
    return version.table_path
