"""``data add`` of a large file: copy and hash it while the workspace opens.

Adding a large file is two streams of work that hold no lock of Python's: the kernel
copying the bytes into the blob store and BLAKE3 hashing them. Opening the workspace
(importing SQLAlchemy, checking the schema) is the opposite: pure Python, a quarter of
a second. So on an embedded SQLite workspace, when the path is one file of at least
``OVERLAP_MIN`` bytes, the workspace opens on a second thread while this one stores the
file; the version is then recorded by ``DatasetService.record_stored``, as every add
records it. (For a folder of small files the store itself is Python work, which would
only contend with the import; those take the plain path.)

The newest version, whose files need not be stored again, is read beforehand without
SQLAlchemy (:func:`shipyard.data.quick_status.read_latest`); recording re-reads it under
the write lock, so a version added meanwhile is not overwritten. Whenever the shortcut
does not plainly apply, :func:`quick_add` returns None and the caller takes the plain
path.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.data import scanning
from shipyard.data.ingest import digests_of
from shipyard.data.local import ingest_scanned, read_manifest
from shipyard.data.manifest import paused_gc
from shipyard.data.quick_status import embedded_latest

if TYPE_CHECKING:
    from shipyard.data.ingest import Progress
    from shipyard.data.service import AddResult
    from shipyard.workspace import Workspace

OVERLAP_MIN = 64 << 20  # below this the copy is over before the import would be


def quick_add(
    home: str | None,
    name: str,
    path: Path,
    open_workspace: Callable[[], Workspace],
    *,
    message: str = "",
    rules: Any = None,
    progress: Progress | None = None,
) -> AddResult | None:
    """Add the large file ``path`` as the next version of ``name`` in the workspace
    ``home`` (as the CLI's ``--home`` names it) while ``open_workspace`` runs on another
    thread; None when the plain path must do the add."""
    if not _large_file(path):
        return None
    found = embedded_latest(home, name)
    if found is None:
        return None
    settings, latest = found

    from shipyard.platform import open_content_store

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="shipyard-open") as pool:
        opening = pool.submit(open_workspace)
        try:
            blobs = open_content_store(settings)
            stored = digests_of([read_manifest(blobs, latest.digest)]) if latest else set()
            with paused_gc():
                source = path.expanduser()
                _, files = scanning.current().scan(source)
                result = ingest_scanned(
                    source, files, blobs, settings.cache_dir / "stat", stored, progress
                )
        except BaseException:
            with contextlib.suppress(Exception):
                opening.result().close()
            raise
        workspace = opening.result()
    with workspace as ws:
        return ws.data.record_stored(name, files, result, message=message, rules=rules)


def _large_file(path: Path) -> bool:
    """Whether ``path`` is a regular file of at least :data:`OVERLAP_MIN` bytes."""
    try:
        info = os.stat(path.expanduser())
    except OSError:
        return False  # the plain path reports it
    return info.st_size >= OVERLAP_MIN and os.path.isfile(path.expanduser())
