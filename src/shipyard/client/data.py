"""Datasets through a server: the methods and results of the embedded dataset service.

Files are hashed here (with the same stat cache as a local add), the server is asked
which of their blobs it lacks, only those are uploaded (each streamed from disk and
checked by the server against its digest), and then the version's file list is posted.
Checkouts and loads download blobs and check every digest before using the bytes.
"""

from __future__ import annotations

import builtins
import os
import shutil
import tempfile
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import fields
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, Any, TypeVar

from shipyard.client.http import Api
from shipyard.data import facts
from shipyard.data.checkout import check_destination, safe_relative, swap_into_place
from shipyard.data.ingest import WORKERS, Progress
from shipyard.data.manifest import LocalFile, Manifest, diff_manifests
from shipyard.data.refs import check_name, parse_ref
from shipyard.entities import DatasetVersion, FileEntry
from shipyard.errors import IntegrityError, NotFound, ValidationError
from shipyard.storage.blob_batch import MAX_BATCH_BLOB, decode, encode
from shipyard.storage.files import create_file
from shipyard.storage.hashing import verified

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.data.local import StatusReport
    from shipyard.data.rules import RuleSet
    from shipyard.data.service import AddResult
    from shipyard.data.validation import ValidationReport

MISSING_BATCH = 10_000  # digests per /blobs/missing question
BATCH_BYTES = 8 << 20  # content per /blobs/batch request (the server takes up to 32 MiB)
_FIELDS = tuple(item.name for item in fields(DatasetVersion))
T = TypeVar("T")
R = TypeVar("R")


def version_from_json(document: dict[str, Any]) -> DatasetVersion:
    """The version a server sent (its JSON carries every field, plus ``ref`` and others)."""
    return DatasetVersion(**{name: document[name] for name in _FIELDS if name in document})


def client_cache_dir() -> Path:
    """Where this machine keeps the stat cache of files added through a server."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "shipyard" / "client"


class RemoteDataService:
    """Add, read, compare, restore, load and validate dataset versions on a server."""

    def __init__(self, api: Api, cache_dir: Path | None = None) -> None:
        """``cache_dir`` holds the stat cache (default: :func:`client_cache_dir`)."""
        self._api = api
        self._stat_dir = (cache_dir or client_cache_dir()) / "stat"

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
        rules_text = _rules_text(rules)  # a bad rules file fails before any upload
        if isinstance(source, str | Path):
            return self._add_path(name, Path(source), message, rules_text, progress, True)
        with tempfile.TemporaryDirectory(prefix="shipyard-frame-") as folder:
            path = facts.write_frame(source, Path(folder) / f"{name}.parquet")
            return self._add_path(name, path, message, rules_text, progress, False)

    def _add_path(
        self,
        name: str,
        path: Path,
        message: str,
        rules: str | None,
        progress: Progress | None,
        cached: bool,
    ) -> AddResult:
        from shipyard.data.local import hash_local
        from shipyard.data.service import AddResult

        files, result = hash_local(path, self._stat_dir if cached else None, progress)
        latest = self._latest(name)
        if latest and latest.digest == result.manifest.digest():
            return AddResult(latest, False, result.hashed, 0)  # nothing to upload or record
        new_bytes = self._upload_missing(files, result.manifest)
        body = {
            "files": [entry._asdict() for entry in result.manifest.entries],
            "message": message,
            "rules": rules,
        }
        answer = self._api.post(f"/datasets/{name}/versions", body)
        version = version_from_json(answer)
        return AddResult(version, bool(answer["created"]), result.hashed, new_bytes)

    def _upload_missing(self, files: builtins.list[LocalFile], manifest: Manifest) -> int:
        """Upload the blobs the server lacks; the bytes it did not hold before."""
        by_rel = {local.rel: local for local in files}
        sources: dict[str, LocalFile] = {}
        for entry in manifest.entries:
            sources.setdefault(entry.digest, by_rel[entry.path])
        digests = builtins.list(sources)
        missing: builtins.list[str] = []
        for start in range(0, len(digests), MISSING_BATCH):
            batch = digests[start : start + MISSING_BATCH]
            missing += self._api.post("/blobs/missing", {"digests": batch})["missing"]
        small = [d for d in missing if sources[d].size <= MAX_BATCH_BLOB]
        large = [d for d in missing if sources[d].size > MAX_BATCH_BLOB]
        batches = _batched(small, lambda digest: sources[digest].size)
        new_bytes = sum(_in_parallel(lambda batch: self._upload_batch(batch, sources), batches))
        uploaded = _in_parallel(lambda digest: self._upload(sources[digest], digest), large)
        return new_bytes + sum(uploaded)

    def _upload(self, local: LocalFile, digest: str) -> int:
        try:
            with open(local.path, "rb") as body:
                answer = self._api.put(f"/blobs/{digest}", body)
        except (IntegrityError, FileNotFoundError) as exc:
            raise _changed(local) from exc
        return int(answer["size"]) if answer.get("created") else 0

    def _upload_batch(self, digests: builtins.list[str], sources: dict[str, LocalFile]) -> int:
        """Send small blobs in one request (the server packs them); new bytes stored."""
        blobs = [(digest, _read_whole(sources[digest])) for digest in digests]
        try:
            answer = self._api.post_bytes("/blobs/batch", encode(blobs))
        except IntegrityError as exc:
            bad = next((d.get("digest") for d in exc.details if isinstance(d, dict)), None)
            raise _changed(sources.get(str(bad), sources[digests[0]])) from exc
        return int(answer["bytes"])

    def get(self, ref: str) -> DatasetVersion:
        """The version ``ref`` names (``NAME``, ``NAME@latest``, ``NAME@vN``)."""
        return version_from_json(self._api.get(f"/datasets/{_ref(ref)}"))

    def list(self) -> builtins.list[DatasetVersion]:
        """The latest version of every dataset."""
        return [version_from_json(row) for row in self._api.get("/datasets")]

    def log(self, name: str) -> builtins.list[DatasetVersion]:
        """Every version of ``name``, newest first."""
        rows = self._api.get(f"/datasets/{check_name(name)}/versions")
        return [version_from_json(row) for row in rows]

    def manifest(self, version: DatasetVersion) -> Manifest:
        """The file list of ``version``, checked against the version's digest."""
        rows = self._api.get(f"/datasets/{version.ref}/manifest")
        manifest = Manifest(
            tuple(FileEntry(r["path"], r["size"], r["mode"], r["digest"]) for r in rows)
        )
        if manifest.digest() != version.digest:
            raise IntegrityError(
                f"the server sent a file list for {version.ref} that does not match its "
                f"digest {version.digest}; do not use it"
            )
        return manifest

    def status(
        self, name: str, path: str | Path, *, progress: Progress | None = None
    ) -> StatusReport:
        """What differs between ``path`` and the latest version of ``name`` on the server."""
        from shipyard.data.local import StatusReport, hash_local

        check_name(name)
        latest = self._latest(name)
        local = hash_local(Path(path), self._stat_dir, progress)[1].manifest
        recorded = self.manifest(latest) if latest else Manifest(())
        return StatusReport(name, latest.ref if latest else None, diff_manifests(recorded, local))

    def _latest(self, name: str) -> DatasetVersion | None:
        try:
            return self.get(name)
        except NotFound:
            return None

    def diff(self, old_ref: str, new_ref: str) -> dict[str, Any]:
        """Files added, removed and changed; for tables also rows, schema and statistics."""
        document: dict[str, Any] = self._api.get("/datasets/diff", old=old_ref, new=new_ref)
        return document

    def checkout(
        self, ref: str, dest: str | Path, *, force: bool = False, progress: Progress | None = None
    ) -> DatasetVersion:
        """Restore ``ref`` byte for byte into the folder ``dest`` (all at once, as locally)."""
        version = self.get(ref)
        manifest = self.manifest(version)
        target = Path(dest).expanduser().absolute()
        check_destination(target, force)
        staging = target.parent / f".{target.name}.shipyard-{uuid.uuid4().hex[:8]}"
        try:
            staging.mkdir(parents=True)
            self._download_all(manifest, staging, progress)
            swap_into_place(staging, target)
        finally:
            shutil.rmtree(staging, ignore_errors=True)
        return version

    def _download_all(self, manifest: Manifest, root: Path, progress: Progress | None) -> None:
        if progress is not None:
            progress.start(manifest.files, manifest.size)
        entries = manifest.entries
        targets = [root / safe_relative(entry.path) for entry in entries]
        for folder in sorted({target.parent for target in targets}):
            folder.mkdir(parents=True, exist_ok=True)
        small = [i for i, entry in enumerate(entries) if entry.size <= MAX_BATCH_BLOB]
        large = [i for i, entry in enumerate(entries) if entry.size > MAX_BATCH_BLOB]

        def fetch(index: int) -> None:
            entry, target = entries[index], targets[index]
            self._api.download(f"/blobs/{entry.digest}", target, entry.digest)
            os.chmod(target, entry.mode)
            if progress is not None:
                progress.advance(1, entry.size)

        def fetch_batch(indices: builtins.list[int]) -> None:
            digests = builtins.list(dict.fromkeys(entries[i].digest for i in indices))
            blobs = dict(decode(self._api.post_for_bytes("/blobs/fetch", {"digests": digests})))
            for i in indices:
                entry = entries[i]
                _write_verified(targets[i], blobs.get(entry.digest, b""), entry)
            if progress is not None:
                progress.advance(len(indices), sum(entries[i].size for i in indices))

        _in_parallel(fetch_batch, _batched(small, lambda i: entries[i].size))
        _in_parallel(fetch, large)

    def load(self, ref: str) -> pd.DataFrame:
        """A tabular version as a pandas DataFrame (bytes verified first); the frame
        remembers its version in ``frame.attrs["shipyard.dataset"]``."""
        from shipyard.data.service import DATASET_ATTR

        version = self.get(ref)
        frame = self.load_table(version.ref).to_pandas()
        frame.attrs[DATASET_ATTR] = version.ref
        return frame

    def load_table(self, ref: str) -> Any:
        """A tabular version as a pyarrow Table (bytes verified first)."""
        from shipyard.data.service import require_table

        version = self.get(ref)
        table_path = require_table(version)
        digest = self.manifest(version).by_path()[table_path].digest
        with tempfile.TemporaryDirectory(prefix="shipyard-load-") as folder:
            local = Path(folder) / PurePosixPath(table_path).name
            self._api.download(f"/blobs/{digest}", local, digest)
            return facts.read_stored_table(str(local), table_path)

    def validate(self, ref: str, rules: Any = None) -> ValidationReport:
        """Check ``ref`` against ``rules`` (a YAML path or RuleSet), or against rules
        inferred from the version before it (from itself, for a first version)."""
        from shipyard.data.validation import Failure, ValidationReport

        body = {"rules": _rules_text(rules)}
        answer = self._api.post(f"/datasets/{_ref(ref)}/validate", body)
        failures = [Failure(**failure) for failure in answer["failures"]]
        return ValidationReport(ok=bool(answer["ok"]), failures=failures)


def _ref(ref: str) -> str:
    """``ref`` in its full form (``NAME@latest`` or ``NAME@vN``), checked before it is sent."""
    return str(parse_ref(ref))


def _rules_text(rules: RuleSet | str | Path | None) -> str | None:
    """Rules as the YAML text the server reads; a rules file is checked here first."""
    if rules is None:
        return None
    import yaml

    from shipyard.data.rules import RuleSet, load_rules

    if isinstance(rules, RuleSet):
        return str(yaml.safe_dump(rules.to_dict()))
    load_rules(rules)
    return Path(rules).read_text(encoding="utf-8")


def _batched(items: Sequence[T], size_of: Callable[[T], int]) -> builtins.list[builtins.list[T]]:
    """``items`` in groups of up to ``BATCH_BYTES`` of content each."""
    batches: builtins.list[builtins.list[T]] = []
    batch: builtins.list[T] = []
    size = 0
    for item in items:
        if batch and size + size_of(item) > BATCH_BYTES:
            batches.append(batch)
            batch, size = [], 0
        batch.append(item)
        size += size_of(item)
    if batch:
        batches.append(batch)
    return batches


def _write_verified(target: Path, data: bytes, entry: FileEntry) -> None:
    """Create ``target`` with ``data``, which must hash to the entry's digest."""
    create_file(target, verified(data, entry.digest, f"the server, for {entry.path!r}"), entry.mode)


def _read_whole(local: LocalFile) -> bytes:
    """The bytes of a small file, refused if its size moved since it was hashed."""
    try:
        with open(local.path, "rb", buffering=0) as file:
            data = file.read(local.size + 1)
    except FileNotFoundError as exc:
        raise _changed(local) from exc
    if len(data) != local.size:
        raise _changed(local)
    return data


def _changed(local: LocalFile) -> ValidationError:
    return ValidationError(
        f"{local.path!r} changed while it was being uploaded; nothing was recorded. "
        "Wait until it is complete, then add it again"
    )


def _in_parallel(work: Callable[[T], R], items: Sequence[T]) -> builtins.list[R]:
    """``work`` over ``items`` on a few threads, results in order; the first error wins."""
    if len(items) <= 1:
        return [work(item) for item in items]
    with ThreadPoolExecutor(max_workers=WORKERS) as pool:
        futures = [pool.submit(work, item) for item in items]
        try:
            return [future.result() for future in futures]
        except BaseException:
            for future in futures:
                future.cancel()
            raise
