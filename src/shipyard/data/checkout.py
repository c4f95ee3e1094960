"""Restore a version's files, byte for byte, into a folder that appears all at once.

Files are written (and verified against their digests) into a temporary sibling of
the destination, which is renamed into place only when every file is there. A
non-empty destination is refused unless forced; when forced, its old contents are
swapped out in the same rename and removed afterwards.
"""

from __future__ import annotations

import os
import shutil
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from shipyard.data.ingest import BATCH_FILES, SMALL_TASK, WORKERS, Progress
from shipyard.data.manifest import Manifest
from shipyard.entities import FileEntry
from shipyard.errors import ValidationError
from shipyard.storage.content import ContentStore


def checkout(
    blobs: ContentStore,
    manifest: Manifest,
    dest: Path,
    *,
    force: bool = False,
    progress: Progress | None = None,
) -> None:
    """Write every file of ``manifest`` under ``dest``."""
    dest = dest.expanduser().absolute()
    check_destination(dest, force)
    staging = dest.parent / f".{dest.name}.shipyard-{uuid.uuid4().hex[:8]}"
    try:
        staging.mkdir(parents=True)
        _write_all(blobs, manifest, staging, progress)
        swap_into_place(staging, dest)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def check_destination(dest: Path, force: bool) -> None:
    """Refuse a destination that is a file, or a non-empty folder unless ``force``."""
    if dest.exists() and not dest.is_dir():
        raise ValidationError(f"cannot check out into {str(dest)!r}: it is a file, not a folder")
    if dest.is_dir() and any(dest.iterdir()) and not force:
        raise ValidationError(
            f"{str(dest)!r} is not empty; choose an empty folder or pass --force to replace "
            "its contents"
        )


def _write_all(
    blobs: ContentStore, manifest: Manifest, root: Path, progress: Progress | None
) -> None:
    if progress is not None:
        progress.start(manifest.files, manifest.size)
    _make_folders(root, manifest)
    base = str(root)

    def write(batch: list[FileEntry]) -> None:
        for entry in batch:
            blobs.write_new_file(entry.digest, os.path.join(base, entry.path), entry.mode)
        if progress is not None:
            progress.advance(len(batch), sum(entry.size for entry in batch))

    large = [entry for entry in manifest.entries if entry.size >= SMALL_TASK]
    small = [entry for entry in manifest.entries if entry.size < SMALL_TASK]
    if large:  # creating small files is file-system work two threads only queue on
        with ThreadPoolExecutor(max_workers=WORKERS) as pool:
            for _ in pool.map(write, _batches(large)):
                pass
    for batch in _batches(small):
        write(batch)


def _batches(entries: list[FileEntry]) -> list[list[FileEntry]]:
    return [entries[i : i + BATCH_FILES] for i in range(0, len(entries), BATCH_FILES)]


def _make_folders(root: Path, manifest: Manifest) -> None:
    """Check every path first (nothing is written for a manifest with a bad one), then
    create each folder once, parents first."""
    folders = {safe_relative(entry.path).rpartition("/")[0] for entry in manifest.entries}
    for folder in sorted(folders):
        os.makedirs(os.path.join(root, folder), exist_ok=True)


def safe_relative(path: str) -> str:
    """Refuse manifest paths that would escape the destination, or that name no file.

    String tests equal to PurePosixPath's view of the path (absolute, a ``..`` part, or
    no parts at all), at a fraction of its cost per file.
    """
    parts = path.split("/")
    if path.startswith("/") or ".." in parts or set(parts) <= {"", "."}:
        raise ValidationError(f"manifest path {path!r} is not a plain relative path")
    return path


def swap_into_place(staging: Path, dest: Path) -> None:
    """Rename the finished ``staging`` folder to ``dest``, replacing its old contents."""
    if not dest.exists():
        os.rename(staging, dest)
        return
    old = dest.parent / f".{dest.name}.shipyard-old-{uuid.uuid4().hex[:8]}"
    os.rename(dest, old)
    try:
        os.rename(staging, dest)
    except OSError:
        os.rename(old, dest)
        raise
    shutil.rmtree(old, ignore_errors=True)
