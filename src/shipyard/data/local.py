"""Local files against the blob store: hash or store what a scan finds, compare it with a
stored version. What ``data status`` means lives here, shared by the service and the
reader that does without SQLAlchemy (:mod:`shipyard.data.quick_status`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from shipyard.data import scanning
from shipyard.data.ingest import IngestResult, Progress, ingest
from shipyard.data.manifest import LocalFile, Manifest, ManifestDiff, diff_manifests, paused_gc

if TYPE_CHECKING:
    from shipyard.storage.content import ContentStore


@dataclass(frozen=True)
class StatusReport:
    """How a local file or folder differs from the latest version of a dataset."""

    name: str
    ref: str | None
    diff: ManifestDiff

    def to_dict(self) -> dict[str, Any]:
        """JSON shape of ``data status``."""
        return {"name": self.name, "ref": self.ref, "clean": self.diff.clean, **self.diff.to_dict()}


class Latest(NamedTuple):
    """What ``data status`` needs of the newest version of a dataset."""

    ref: str
    digest: str  # of its manifest


_RECENT_MANIFESTS = 4  # decoded manifests kept: a long-lived process re-reads the same few


def read_manifest(blobs: ContentStore, digest: str) -> Manifest:
    """The manifest stored under ``digest``, its bytes verified when first read.

    A digest names its bytes for good, so the last few decoded manifests are kept: a
    process that lives on (the workspace agent, a server) compares against the newest
    version again and again.
    """
    manifest = _recent.get(digest)
    if manifest is None:
        manifest = Manifest.from_bytes(blobs.get_bytes(digest))
        remember_manifest(digest, manifest)
    return manifest


def remember_manifest(digest: str, manifest: Manifest) -> None:
    """Keep ``manifest``, just stored under ``digest``, for :func:`read_manifest`."""
    with _recent_lock:  # a server's threads share it
        _recent.pop(digest, None)
        while len(_recent) >= _RECENT_MANIFESTS:
            del _recent[next(iter(_recent))]
        _recent[digest] = manifest


_recent: dict[str, Manifest] = {}
_recent_lock = threading.Lock()


def local_status(
    name: str,
    latest: Latest | None,
    path: Path,
    blobs: Callable[[], ContentStore],
    cache_dir: Path,
    progress: Progress | None = None,
) -> StatusReport:
    """How ``path`` differs from ``latest``, the newest version of ``name`` (None: it has
    none): what ``data status`` means, whoever looked the version up. ``blobs`` opens
    the blob store, which is only needed once the local files are hashed."""
    with paused_gc():
        changes = _changes(latest, path, blobs, cache_dir / "stat", progress)
    return StatusReport(name, latest.ref if latest else None, changes)


def _changes(
    latest: Latest | None,
    path: Path,
    blobs: Callable[[], ContentStore],
    stat_dir: Path,
    progress: Progress | None,
) -> ManifestDiff:
    """The diff of ``path`` against ``latest``; both manifests are freed on return, so
    the collector finds nothing of them to walk when it is switched back on."""
    local = hash_local(path, stat_dir, progress)[1].manifest
    recorded = read_manifest(blobs(), latest.digest) if latest else Manifest(())
    return diff_manifests(recorded, local)


def hash_local(
    path: Path, cache_dir: Path | None, progress: Progress | None = None
) -> tuple[list[LocalFile], IngestResult]:
    """The files under ``path`` and their digests, nothing stored (stat cache in
    ``cache_dir``); remembered by a folder view that knows nothing has changed since."""
    source = path.expanduser()
    view = scanning.current()

    def compute() -> tuple[list[LocalFile], IngestResult]:
        _, files = view.scan(source)
        return files, ingest_scanned(source, files, None, cache_dir, frozenset(), progress)

    return view.remembered(source, f"hashed {cache_dir}", compute)


def ingest_scanned(
    source: Path,
    files: list[LocalFile],
    blobs: ContentStore | None,
    cache_dir: Path | None,
    stored: set[str] | frozenset[str],
    progress: Progress | None = None,
) -> IngestResult:
    """Digest (and with ``blobs``, store) the ``files`` a scan of ``source`` found, with
    its stat cache kept in ``cache_dir`` (None: no cache, for a DataFrame's temp file)."""
    cache = scanning.current().stat_cache(cache_dir, source)
    try:
        return ingest(files, blobs=blobs, cache=cache, stored=stored, progress=progress)
    finally:
        cache.close()
