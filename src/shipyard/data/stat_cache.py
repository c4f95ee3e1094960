"""The stat cache: (path, size, mtime, inode) -> digest, so unchanged files are not re-hashed.

It lives beside the workspace (never in the shared metadata store: it describes this
machine's files), one small file per folder that was added, in the compact ``marshal``
format so that loading 20,000 entries takes milliseconds. It is only a cache: a file
whose stat matches is trusted to hold the bytes it held when hashed, and a file modified
in the same clock tick as it was hashed is not cached at all (the "racy" case), so a hit
can never hide a change. Any failure to read or write it just means re-hashing.
"""

from __future__ import annotations

import marshal
import os
import time
from collections.abc import Collection, Iterable
from pathlib import Path

import blake3

from shipyard.data.manifest import LocalFile

# A file modified this close to the moment it was hashed may change again without its
# mtime moving (filesystem timestamps are coarse: a few ms on ext4 and xfs, whole
# seconds on some network and FAT filesystems); such files are not cached.
RACY_WINDOW_NS = 50_000_000
COARSE_RACY_WINDOW_NS = 2_000_000_000
FORMAT = 2  # 2: entries keyed by the path relative to what was scanned

Entry = tuple[int, int, int, str]  # size, mtime_ns, inode, digest


class StatCache:
    """Digests of the files under one scanned file or folder, checked against their stat.

    Entries are keyed by the path relative to what was scanned, so however the folder is
    named (relative, absolute, with ``..``) its files are cached once; files no longer
    there are dropped when the cache is next written.
    """

    def __init__(self, folder: Path | None, source: Path) -> None:
        """The cache of the scanned ``source`` kept in ``folder`` (None: a cache that
        keeps nothing)."""
        tag = blake3.blake3(os.path.abspath(source).encode()).hexdigest()[:24]
        self.path = folder / f"{tag}.stat" if folder else None
        self._entries: dict[str, Entry] | None = None

    def _load(self) -> dict[str, Entry]:
        if self._entries is None:
            if self.path is None:
                self._entries = {}
                return self._entries
            try:
                version, entries = marshal.loads(self.path.read_bytes())
                self._entries = entries if version == FORMAT else {}
            except (OSError, ValueError, EOFError, TypeError):
                self._entries = {}
        return self._entries

    def lookup(self, files: Iterable[LocalFile]) -> list[str | None]:
        """For each of ``files`` in turn, its digest if its size, mtime and inode match the
        cache, else None.

        One pass with the fields unpacked and compared one by one: this runs once per file
        of every status and add, where building tuples to compare costs more than the rest.
        """
        get = self._load().get
        digests: list[str | None] = []
        for rel, _path, size, _mode, mtime_ns, inode in files:
            known = get(rel)
            if known is None or known[0] != size or known[1] != mtime_ns or known[2] != inode:
                digests.append(None)
            else:
                digests.append(known[3])
        return digests

    def remember(
        self, hashed: Iterable[tuple[LocalFile, str]], started_ns: int, present: Collection[str]
    ) -> None:
        """Record digests of files hashed from ``started_ns`` on (skipping racy ones),
        keeping only entries of the files ``present`` (relative paths) in the scan."""
        fresh = {
            f.rel: (f.size, f.mtime_ns, f.inode, digest)
            for f, digest in hashed
            if started_ns - f.mtime_ns > _racy_window(f.mtime_ns)
        }
        known = self._load()
        if self.path is None or (not fresh and len(known) <= len(present)):
            return  # nothing new, and (at worst) a stale entry waits for the next write
        keep = set(present)
        entries = {rel: entry for rel, entry in known.items() if rel in keep}
        entries.update(fresh)
        self._entries = entries
        temp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            temp.write_bytes(marshal.dumps((FORMAT, entries)))
            os.replace(temp, self.path)
        except OSError:
            temp.unlink(missing_ok=True)

    def close(self) -> None:
        """Forget what was loaded."""
        self._entries = None


def _racy_window(mtime_ns: int) -> int:
    """Whole-second mtimes betray a coarse filesystem: be as careful as its clock."""
    return COARSE_RACY_WINDOW_NS if mtime_ns % 1_000_000_000 == 0 else RACY_WINDOW_NS


def now_ns() -> int:
    """Wall-clock time in nanoseconds, the clock file mtimes are stamped with."""
    return time.time_ns()
