"""The stat cache: (path, size, mtime, inode) -> digest, so unchanged files are not re-hashed.

It lives in a small SQLite file of its own beside the workspace (never in the shared
metadata store: it describes this machine's files). It is only a cache: a file whose
stat matches is trusted to hold the bytes it held when hashed, and a file modified in
the same clock tick as it was hashed is not cached at all (the "racy" case), so a hit
can never hide a change. Any failure to read or write it just means re-hashing.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Iterable
from pathlib import Path

from shipyard.data.manifest import LocalFile

# A file modified this close to the moment it was hashed may change again without its
# mtime moving (filesystem timestamps are coarse: a few ms on ext4 and xfs, whole
# seconds on some network and FAT filesystems); such files are not cached.
RACY_WINDOW_NS = 50_000_000
COARSE_RACY_WINDOW_NS = 2_000_000_000

_SCHEMA = """
CREATE TABLE IF NOT EXISTS files (
    path TEXT PRIMARY KEY,
    size INTEGER NOT NULL,
    mtime_ns INTEGER NOT NULL,
    inode INTEGER NOT NULL,
    digest TEXT NOT NULL
) WITHOUT ROWID
"""


class StatCache:
    """Digests of local files, keyed by absolute path and checked against their stat."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def _connect(self) -> sqlite3.Connection | None:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=10, isolation_level=None)
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("PRAGMA synchronous = OFF")
                conn.execute(_SCHEMA)
                self._conn = conn
            except (sqlite3.Error, OSError):
                return None
        return self._conn

    def lookup(self, files: Iterable[LocalFile]) -> dict[str, str]:
        """Digests of the ``files`` whose size, mtime and inode match the cache."""
        wanted = {f.path: f for f in files}
        conn = self._connect()
        if conn is None or not wanted:
            return {}
        low = min(wanted)
        high = max(wanted)
        try:
            rows = conn.execute(
                "SELECT path, size, mtime_ns, inode, digest FROM files WHERE path BETWEEN ? AND ?",
                (low, high),
            ).fetchall()
        except sqlite3.Error:
            return {}
        hits = {}
        for path, size, mtime_ns, inode, digest in rows:
            local = wanted.get(path)
            if local and (local.size, local.mtime_ns, local.inode) == (size, mtime_ns, inode):
                hits[path] = digest
        return hits

    def remember(self, hashed: Iterable[tuple[LocalFile, str]], started_ns: int) -> None:
        """Record digests of files hashed from ``started_ns`` on (skipping racy ones)."""
        rows = [
            (f.path, f.size, f.mtime_ns, f.inode, digest)
            for f, digest in hashed
            if started_ns - f.mtime_ns > _racy_window(f.mtime_ns)
        ]
        conn = self._connect()
        if conn is None or not rows:
            return
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.executemany("INSERT OR REPLACE INTO files VALUES (?, ?, ?, ?, ?)", rows)
            conn.execute("COMMIT")
        except sqlite3.Error:
            if conn.in_transaction:
                conn.execute("ROLLBACK")

    def close(self) -> None:
        """Close the cache file."""
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _racy_window(mtime_ns: int) -> int:
    """Whole-second mtimes betray a coarse filesystem: be as careful as its clock."""
    return COARSE_RACY_WINDOW_NS if mtime_ns % 1_000_000_000 == 0 else RACY_WINDOW_NS


def now_ns() -> int:
    """Wall-clock time in nanoseconds, the clock file mtimes are stamped with."""
    return time.time_ns()
