"""A blob backend over a local folder.

Layout: each key is a file at ``<root>/<key>``. Staged writes go to a temp file in
``<root>/.tmp/`` (same file system), are flushed (and fsynced when ``fsync=True``), then
moved into place with :func:`os.replace`, so a final name never holds a partial file.
Without fsync a power cut may leave a blob with wrong bytes, which reads then refuse
(every read verifies the digest); a crashed process never can. Temp files left by killed
writers are removed by :meth:`LocalBlobBackend.sweep_stale_temp`.

A key cannot also be a folder of other keys here (``a`` and ``a/b`` cannot coexist);
the content store's ``ab/cdef...`` layout never asks for that.
"""

from __future__ import annotations

import itertools
import os
import stat
import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any, BinaryIO
from urllib.parse import unquote, urlsplit

from shipyard.errors import NotFound, StorageError, ValidationError
from shipyard.storage.blobs import (
    StagedBlob,
    check_key,
    check_prefix,
    finished_stage_error,
    is_valid_key,
)

__all__ = ["TEMP_DIR_NAME", "LocalBlobBackend"]

TEMP_DIR_NAME = ".tmp"
_pid = os.getpid()  # cached: a system call per blob shows on adds of many small files


def _remember_pid() -> None:
    global _pid
    _pid = os.getpid()


os.register_at_fork(after_in_child=_remember_pid)
_FILE_MODE = 0o644
_OPTIONS = ("fsync",)


class LocalBlobBackend:
    """Blobs as files under ``root``; created lazily on the first write."""

    def __init__(self, root: str | os.PathLike[str], *, fsync: bool = False) -> None:
        self.root = Path(os.path.abspath(os.fspath(root)))
        self.fsync = fsync
        self.url = self.root.as_uri()
        self._root = str(self.root)
        self._folders: set[str] = set()  # folders known to exist (saves a mkdir per write)
        self._names = itertools.count()

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> LocalBlobBackend:
        """Build from a plain path or a ``file://`` URL; option: ``fsync`` (bool)."""
        unknown = sorted(set(options) - set(_OPTIONS))
        if unknown:
            raise ValidationError(
                f"local blob stores accept the options {list(_OPTIONS)}, got {unknown} "
                f"instead; remove them from the store's options",
                details=[{"url": url, "unknown": unknown}],
            )
        return cls(_path_from_url(url), **options)

    def __repr__(self) -> str:
        return f"LocalBlobBackend({str(self.root)!r})"

    @property
    def temp_dir(self) -> Path:
        """The folder that holds staged (uncommitted) writes."""
        return self.root / TEMP_DIR_NAME

    def stage(self) -> StagedBlob:
        """Start a write into a temp file under ``<root>/.tmp/``."""
        name = f"stage-{_pid}-{threading.get_ident()}-{next(self._names)}.part"
        temp = os.path.join(self._root, TEMP_DIR_NAME, name)
        try:
            fd = self._create(temp)
        except OSError as exc:
            raise _storage_error("start a write in", self.temp_dir, exc) from exc
        return _LocalStagedBlob(self, fd, Path(temp))

    def _create(self, temp: str) -> int:
        folder = os.path.dirname(temp)
        self.ensure_folder(folder)
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL
        try:
            return os.open(temp, flags, _FILE_MODE)
        except FileNotFoundError:  # the folder was removed behind our back
            self._folders.discard(folder)
            self.ensure_folder(folder)
            return os.open(temp, flags, _FILE_MODE)

    def move_into_place(self, temp: Path, final: str) -> None:
        """Rename ``temp`` to ``final``, creating its folder when needed."""
        folder = os.path.dirname(final)
        self.ensure_folder(folder)
        try:
            os.replace(temp, final)
        except FileNotFoundError:  # the folder was removed behind our back
            self._folders.discard(folder)
            self.ensure_folder(folder)
            os.replace(temp, final)

    def ensure_folder(self, folder: str) -> None:
        """Create ``folder`` (and parents) unless this backend knows it exists."""
        if folder not in self._folders:
            os.makedirs(folder, exist_ok=True)
            self._folders.add(folder)

    def open(self, key: str) -> BinaryIO:
        """A buffered reader over the file of ``key``."""
        path = self._path(key)
        try:
            return open(path, "rb")  # noqa: SIM115 - the caller owns the handle
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError) as exc:
            raise self._not_found(key) from exc
        except OSError as exc:
            raise _storage_error("open", path, exc) from exc

    def exists(self, key: str) -> bool:
        """Whether ``key`` is a committed file."""
        return os.path.isfile(self._fast_path(key))

    def size(self, key: str) -> int:
        """Size in bytes of ``key``'s file."""
        path = self._path(key)
        try:
            info = path.stat()
        except (FileNotFoundError, NotADirectoryError) as exc:
            raise self._not_found(key) from exc
        except OSError as exc:
            raise _storage_error("read the size of", path, exc) from exc
        if not stat.S_ISREG(info.st_mode):
            raise self._not_found(key)
        return info.st_size

    def list(self, prefix: str = "") -> Iterator[str]:
        """Committed keys starting with ``prefix``; the ``.tmp`` folder is skipped."""
        check_prefix(prefix)
        folder = prefix.rpartition("/")[0]
        return self._walk(self.root / folder if folder else self.root, prefix)

    def delete(self, key: str) -> None:
        """Remove ``key``'s file; a missing key is not an error."""
        path = self._path(key)
        try:
            path.unlink()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            return
        except OSError as exc:
            raise _storage_error("delete", path, exc) from exc

    def local_path(self, key: str) -> str | None:
        """The file that holds (or would hold) ``key`` (joined as a string: checkouts ask
        once per file, and a Path costs more than the rest of the lookup)."""
        return self._fast_path(key)

    def sweep_stale_temp(self, older_than_seconds: float = 24 * 3600.0) -> int:
        """Remove staged temp files untouched for ``older_than_seconds``; return how many.

        Writers killed mid-write leave their temp file behind. A live writer touches its
        file on every write, so only abandoned ones get old. Cheap when there are none.
        """
        cutoff = time.time() - older_than_seconds
        removed = 0
        try:
            entries = list(os.scandir(self.temp_dir))
        except FileNotFoundError:
            return 0
        except OSError as exc:
            raise _storage_error("list", self.temp_dir, exc) from exc
        for entry in entries:
            try:
                if entry.is_file(follow_symlinks=False) and entry.stat().st_mtime <= cutoff:
                    os.unlink(entry.path)
                    removed += 1
            except FileNotFoundError:
                continue  # another sweeper or the writer itself got there first
        return removed

    def _path(self, key: str) -> Path:
        return Path(self._fast_path(key))

    def _fast_path(self, key: str) -> str:
        return os.path.join(self._root, check_key(key))

    def _not_found(self, key: str) -> NotFound:
        return NotFound(
            f"blob {key!r} does not exist in {self.url} (looked for {self._path(key)}); "
            f"check the key, or put the content first",
            details=[{"key": key, "url": self.url}],
        )

    def _walk(self, start: Path, prefix: str) -> Iterator[str]:
        def fail(exc: OSError) -> None:
            if not isinstance(exc, FileNotFoundError | NotADirectoryError):
                raise _storage_error("list", Path(exc.filename or start), exc) from exc

        for folder, dirnames, filenames in os.walk(start, onerror=fail):
            rel = Path(folder).relative_to(self.root).as_posix()
            base = "" if rel == "." else rel + "/"
            dirnames[:] = [d for d in dirnames if _may_hold(base + d + "/", prefix)]
            for name in filenames:
                key = base + name
                if key.startswith(prefix) and is_valid_key(key):
                    yield key


class _LocalStagedBlob(StagedBlob):
    """A temp file under ``<root>/.tmp/`` moved into place on commit.

    It writes through the raw descriptor: no Python buffer, no extra system calls, which
    matters when a dataset of many small files becomes many small blobs.
    """

    def __init__(self, backend: LocalBlobBackend, fd: int, path: Path) -> None:
        self._backend = backend
        self._fd = fd
        self._path = path
        self._done = False
        self._moved = False

    def fileno(self) -> int:
        """The descriptor of the local file being staged, for kernel-side copies."""
        if self._done:
            raise finished_stage_error()
        return self._fd

    def write(self, data: bytes | memoryview) -> int:
        """Append ``data`` to the temp file."""
        if self._done:
            raise finished_stage_error()
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self._fd, view) :]
        except OSError as exc:
            self.abort()
            raise _storage_error("write to", self._path, exc) from exc
        return len(data)

    def commit(self, key: str) -> None:
        """(fsync and) move the temp file to ``key``, or drop it if ``key`` exists."""
        if self._done:
            raise finished_stage_error()
        final = self._backend._fast_path(key)
        try:
            if self._backend.fsync:
                os.fsync(self._fd)
            self._close()
            if os.path.isfile(final):
                os.unlink(self._path)
            else:
                self._backend.move_into_place(self._path, final)
                self._moved = True
        except OSError as exc:
            raise _storage_error(f"commit {key!r} to", Path(final), exc) from exc
        finally:
            self.abort()

    def abort(self) -> None:
        """Close and remove the temp file, if still there."""
        self._done = True
        self._close()
        if not self._moved:
            self._path.unlink(missing_ok=True)

    def _close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


def _may_hold(folder: str, prefix: str) -> bool:
    """Whether keys under ``folder`` (ending in '/') can start with ``prefix``."""
    return is_valid_key(folder[:-1]) and (folder.startswith(prefix) or prefix.startswith(folder))


def _path_from_url(url: str) -> str:
    if not url.lower().startswith("file:"):
        return os.path.expanduser(url)
    parts = urlsplit(url)
    if parts.netloc not in ("", "localhost"):
        raise ValidationError(
            f"file:// URLs must name a local path (file:///path/to/folder), got {url!r} "
            f"with host {parts.netloc!r} instead",
            details=[{"url": url}],
        )
    return unquote(parts.path)


def _storage_error(action: str, path: Path, exc: OSError) -> StorageError:
    return StorageError(
        f"could not {action} {path}: {exc.strerror or exc}; check that the folder exists, "
        f"is writable and that the disk is not full",
        details=[{"path": str(path), "errno": exc.errno}],
    )
