"""Manifests: the sorted file list of a dataset version, and the digest that names it.

A manifest is stored as a blob in canonical JSON (``{"format": 1, "files": [[path,
size, mode, digest], ...]}``, sorted by path), so its BLAKE3 digest identifies the
version: same digest, same bytes at the same paths.
"""

from __future__ import annotations

import gc
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from operator import attrgetter, itemgetter
from pathlib import Path, PurePosixPath
from typing import TYPE_CHECKING, NamedTuple

import blake3

from shipyard.entities import FileEntry
from shipyard.errors import IntegrityError, NotFound, ValidationError

if TYPE_CHECKING:
    from collections.abc import Iterable

    from shipyard.storage.content import ContentStore

FORMAT = 1
SKIPPED_DIRS = frozenset({".shipyard", ".git", ".dvc", "__pycache__"})


@dataclass(frozen=True)
class Manifest:
    """The files of one version, sorted by relative POSIX path."""

    entries: tuple[FileEntry, ...]

    @property
    def files(self) -> int:
        """How many files."""
        return len(self.entries)

    @property
    def size(self) -> int:
        """Their total size in bytes."""
        return sum(map(size_of, self.entries))

    def to_bytes(self) -> bytes:
        """The canonical encoding whose digest names the version."""
        document = {"format": FORMAT, "files": self.entries}  # tuples encode as arrays
        return json.dumps(document, separators=(",", ":")).encode()

    def digest(self) -> str:
        """The BLAKE3 digest of the canonical encoding."""
        return blake3.blake3(self.to_bytes()).hexdigest()

    def by_path(self) -> dict[str, FileEntry]:
        """Entries keyed by their path."""
        return {entry.path: entry for entry in self.entries}

    @classmethod
    def of(cls, entries: list[FileEntry]) -> Manifest:
        """A manifest of ``entries`` in canonical order."""
        return cls(tuple(sorted(entries, key=_path_of)))

    @classmethod
    def from_bytes(cls, data: bytes) -> Manifest:
        """Decode a stored manifest."""
        try:
            document = json.loads(data)
            if document.get("format") != FORMAT:
                raise ValueError(f"unknown manifest format {document.get('format')!r}")
            # The bytes were verified against their digest on read: they are what
            # to_bytes wrote, so the rows need no per-field checks (20,000 rows: 5 ms).
            entries = tuple(map(FileEntry._make, document["files"]))
        except (ValueError, KeyError, TypeError, AttributeError) as exc:
            raise IntegrityError(f"stored manifest cannot be read: {exc}") from exc
        return cls(entries)


@dataclass(frozen=True)
class ManifestDiff:
    """What changed between two manifests, by path."""

    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing changed."""
        return not (self.added or self.removed or self.changed)

    def to_dict(self) -> dict[str, list[str]]:
        """``{"added", "removed", "changed"}``, each a sorted path list."""
        return {"added": self.added, "removed": self.removed, "changed": self.changed}


def diff_manifests(old: Manifest, new: Manifest) -> ManifestDiff:
    """Paths added, removed and changed (other bytes or mode) from ``old`` to ``new``."""
    if old.entries == new.entries:  # the common answer of `data status`, without two dicts
        return ManifestDiff()
    before, after = old.by_path(), new.by_path()
    changed = [
        path
        for path, entry in after.items()
        if path in before and (before[path].digest, before[path].mode) != (entry.digest, entry.mode)
    ]
    return ManifestDiff(
        added=sorted(after.keys() - before.keys()),
        removed=sorted(before.keys() - after.keys()),
        changed=sorted(changed),
    )


@contextmanager
def paused_gc() -> Iterator[None]:
    """Hold the cyclic garbage collector off while tens of thousands of records are built.

    File records (tuples of strings and numbers) hold no reference cycles, yet every few
    hundred of them start a collection, and now and then a full one walks every object of
    the process (SQLAlchemy's included): on 20,000 files that was a sixth of ``data
    status``. Reference counting frees everything as usual meanwhile. The switch is
    process-wide, so it is only turned back on if it was on when this started.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


class LocalFile(NamedTuple):
    """A file found on disk: its path in the version, where it is, and its stat."""

    rel: str
    path: str
    size: int
    mode: int
    mtime_ns: int
    inode: int


def scan(source: Path) -> tuple[Path, list[LocalFile]]:
    """The files under ``source`` (a file or a folder), with the root they are relative to.

    Hidden tool folders (``.shipyard``, ``.git``, ...) are skipped; symbolic links to
    files are followed, links to folders are not (no cycles).
    """
    try:
        info = source.stat()
    except FileNotFoundError as exc:
        raise NotFound(f"no such file or folder: {str(source)!r}") from exc
    except PermissionError as exc:
        raise ValidationError(f"cannot read {str(source)!r}: permission denied") from exc
    if stat.S_ISREG(info.st_mode):
        return source.parent, [_local(source.name, str(source), info)]
    if not stat.S_ISDIR(info.st_mode):
        raise ValidationError(f"{str(source)!r} is neither a regular file nor a folder")
    files = sorted(_walk(str(source)), key=_path_of)
    if not files:
        raise ValidationError(f"folder {str(source)!r} holds no files; nothing to version")
    return source, files


_path_of = itemgetter(0)
size_of = attrgetter("size")  # of a FileEntry or a LocalFile: sum(map(size_of, ...)) is fast


def _walk(root: str) -> list[LocalFile]:
    """Every file below ``root``: one loop and one stat per file (this is the hot path of
    ``data status`` on large trees, so it avoids a generator and a call per entry, asks
    a file's type once, and builds each record without LocalFile's Python ``__new__``)."""
    found: list[LocalFile] = []
    record = found.append
    pending = [(root, "")]
    while pending:
        folder, prefix = pending.pop()
        base = folder if folder.endswith("/") else f"{folder}/"
        try:
            with _listing(folder) as entries:
                for entry in entries:
                    name = entry.name
                    if entry.is_file():  # follows a link: a link to a file is that file
                        info = entry.stat()
                        record(
                            _new_record(
                                LocalFile,
                                (
                                    prefix + name,
                                    base + name,
                                    info.st_size,
                                    info.st_mode & 0o7777,
                                    info.st_mtime_ns,
                                    info.st_ino,
                                ),
                            )
                        )
                    elif entry.is_dir(follow_symlinks=False) and name not in SKIPPED_DIRS:
                        pending.append((base + name, f"{prefix}{name}/"))
        except PermissionError as exc:
            raise ValidationError(f"cannot list {folder!r}: permission denied") from exc
    return found


_new_record = tuple.__new__  # LocalFile(...) without the generated __new__: 0.15 us a file


_LIST_BY_DESCRIPTOR = os.scandir in os.supports_fd


@contextmanager
def _listing(folder: str) -> Iterator[Iterator[os.DirEntry[str]]]:
    """The entries of ``folder``, listed through a descriptor where the OS allows it: each
    entry's stat then looks up one name in that folder instead of walking the whole path
    again (measured: a tenth of the scan of 20,000 files)."""
    if not _LIST_BY_DESCRIPTOR:
        with os.scandir(folder) as entries:
            yield entries
        return
    fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
    try:
        with os.scandir(fd) as entries:
            yield entries
    finally:
        os.close(fd)


def _local(rel: str, path: str, info: os.stat_result) -> LocalFile:
    return LocalFile(rel, path, info.st_size, info.st_mode & 0o7777, info.st_mtime_ns, info.st_ino)


def checked_manifest(entries: Iterable[FileEntry]) -> Manifest:
    """The manifest of ``entries`` sent by a caller; ValidationError for a bad entry."""
    manifest = Manifest.of([FileEntry(*entry) for entry in entries])
    if not manifest.entries:
        raise ValidationError("a version needs at least one file, got an empty file list")
    previous = None
    for entry in manifest.entries:
        pure = PurePosixPath(entry.path)
        if pure.is_absolute() or ".." in pure.parts or str(pure) != entry.path or not pure.name:
            raise ValidationError(
                f"file path must be a plain relative path like 'a/b.csv', got {entry.path!r}"
            )
        if entry.path == previous:
            raise ValidationError(f"file path {entry.path!r} appears twice in the file list")
        if entry.size < 0 or not 0 <= entry.mode <= 0o7777:
            raise ValidationError(
                f"{entry.path!r}: size must be >= 0 and mode within 0o7777, got "
                f"size {entry.size} and mode {entry.mode:#o}"
            )
        previous = entry.path
    return manifest


def require_stored(blobs: ContentStore, manifest: Manifest) -> None:
    """Refuse a manifest naming a blob that is not stored, or stored with another size."""
    missing = [entry for entry in manifest.entries if not _holds(blobs, entry)]
    if missing:
        first = ", ".join(f"{e.path} (blob {e.digest})" for e in missing[:3])
        raise ValidationError(
            f"{len(missing)} file(s) are not in the blob store with the size given, first: "
            f"{first}; upload their bytes first; nothing was recorded",
            details=[{"path": e.path, "digest": e.digest, "size": e.size} for e in missing[:20]],
        )


def _holds(blobs: ContentStore, entry: FileEntry) -> bool:
    try:
        return blobs.size(entry.digest) == entry.size
    except NotFound:
        return False
