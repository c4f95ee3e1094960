"""Folders kept scanned: inotify says what changed, so a scan re-reads only that.

The kernel queues an inotify event inside the very system call that changes a folder,
before the call returns. So once a command has started, every change made before it
is already in the queue: draining the queue and re-reading only the paths it names
gives exactly what a full walk would have found, without the walk.

Not seen, as with every inotify watcher: writes through a shared memory map or through
a hard link in another folder, and changes made by another machine on a network
filesystem. A file reached through a symbolic link is stat'ed again on every scan,
since its target may live anywhere. When the queue overflows, or a folder cannot be
watched (the per-user watch limit), the tree is walked afresh, as without an agent.
"""

from __future__ import annotations

import errno
import os
import stat
from collections import OrderedDict
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any, TypeVar

from shipyard.data.manifest import SKIPPED_DIRS, LocalFile, scan
from shipyard.data.stat_cache import StatCache

T = TypeVar("T")

try:  # Linux only; elsewhere every scan walks the folder
    from inotify_simple import INotify
    from inotify_simple import flags as _in
except ImportError:  # pragma: no cover - not on Linux
    INotify = None

if INotify is not None:
    MASK = (
        _in.CREATE
        | _in.DELETE
        | _in.MODIFY
        | _in.ATTRIB
        | _in.CLOSE_WRITE
        | _in.MOVED_FROM
        | _in.MOVED_TO
        | _in.DELETE_SELF
        | _in.MOVE_SELF
        | _in.ONLYDIR
    )
    _SELF = _in.DELETE_SELF | _in.MOVE_SELF
    _ISDIR, _OVERFLOW, _IGNORED = _in.ISDIR, _in.Q_OVERFLOW, _in.IGNORED

MAX_TREES = 16  # folders kept at once; the least recently used one is let go


class Unwatchable(OSError):
    """A folder of the tree cannot be watched (the watch limit): walk it instead."""


class Tree:
    """One folder's files, kept up to date from the events of its watches."""

    def __init__(self, watcher: Watcher, root: str) -> None:
        self.root = root
        self.generation = 0
        self.entries: dict[str, LocalFile] = {}
        self.memo: dict[str, Any] = {}
        self._watcher = watcher
        self._wds: dict[int, str] = {}  # watch -> folder prefix ("" or "a/b/")
        self._links: set[str] = set()  # files reached through a symbolic link
        self._dirty_files: set[str] = set()
        self._dirty_dirs: set[str] = set()
        self._rescan = True
        self._sorted: list[LocalFile] | None = None

    def event(self, wd: int, mask: int, name: str) -> None:
        """Note what one event of the watch ``wd`` says changed (applied by :meth:`sync`)."""
        prefix = self._wds.get(wd)
        if prefix is None:
            return
        if mask & _SELF:
            if prefix == "":
                self._rescan = True
            return
        if name in SKIPPED_DIRS and mask & _ISDIR:
            return
        if mask & _ISDIR:
            self._dirty_dirs.add(f"{prefix}{name}/")
        else:
            self._dirty_files.add(prefix + name)

    def forget(self, wd: int) -> None:
        """The watch ``wd`` is gone (its folder was removed)."""
        self._wds.pop(wd, None)

    def overflowed(self) -> None:
        """Events were lost: walk everything again."""
        self._rescan = True

    def sync(self) -> int:
        """Apply the changes noted since the last sync; the generation after them."""
        changed = False
        if self._rescan:
            self._drop_watches("")
            self.entries.clear()
            self._links.clear()
            self._rescan = False
            self._dirty_files.clear()
            self._dirty_dirs.clear()
            self._walk("")
            changed = True
        for prefix in sorted(self._dirty_dirs):
            changed |= self._rewalk(prefix)
        self._dirty_dirs.clear()
        for rel in (*self._dirty_files, *self._links):
            changed |= self._restat(rel)
        # A file with an event changed even if its stat did not (rewritten within one
        # clock tick): what was remembered of the tree is forgotten, the stat cache judges.
        changed |= bool(self._dirty_files)
        self._dirty_files.clear()
        if changed:
            self.generation += 1
            self._sorted = None
            self.memo.clear()
        return self.generation

    def files(self) -> list[LocalFile]:
        """The files as a walk would list them: sorted by relative path."""
        if self._sorted is None:
            entries = self.entries
            self._sorted = [entries[rel] for rel in sorted(entries)]
        return self._sorted

    def close(self) -> None:
        """Stop watching."""
        self._drop_watches("")

    def _rewalk(self, prefix: str) -> bool:
        """Forget what was under the folder ``prefix``, then walk it if it exists."""
        gone = [rel for rel in self.entries if rel.startswith(prefix)]
        for rel in gone:
            del self.entries[rel]
            self._links.discard(rel)
        self._drop_watches(prefix)
        kept = len(self.entries)
        path = self._path(prefix)
        if os.path.isdir(path) and not os.path.islink(path.rstrip("/")):
            self._walk(prefix)
        return bool(gone) or len(self.entries) != kept

    def _restat(self, rel: str) -> bool:
        """Read one path's stat again; whether its entry changed."""
        path = self._path(rel)
        try:
            info = os.stat(path)
        except (FileNotFoundError, NotADirectoryError):
            info = None
        if info is not None and stat.S_ISDIR(info.st_mode):
            return False if os.path.islink(path) else self._rewalk(f"{rel}/")
        if info is None or not stat.S_ISREG(info.st_mode):
            self._links.discard(rel)
            return self.entries.pop(rel, None) is not None
        local = _record(rel, path, info)
        if os.path.islink(path):
            self._links.add(rel)
        else:
            self._links.discard(rel)
        if self.entries.get(rel) == local:
            return False
        self.entries[rel] = local
        return True

    def _walk(self, prefix: str) -> None:
        """Watch, then list, every folder from ``prefix`` down (watching first: a file
        created between the two is both listed and reported, never missed)."""
        pending = [prefix]
        while pending:
            folder = pending.pop()
            base = self._path(folder)
            try:
                wd = self._watcher.add_watch(self, base, folder)
                with os.scandir(base) as listing:
                    for entry in listing:
                        name = entry.name
                        if entry.is_file():
                            rel = folder + name
                            self.entries[rel] = _record(rel, base + name, entry.stat())
                            if entry.is_symlink():
                                self._links.add(rel)
                        elif entry.is_dir(follow_symlinks=False) and name not in SKIPPED_DIRS:
                            pending.append(f"{folder}{name}/")
            except (FileNotFoundError, NotADirectoryError):
                continue  # removed meanwhile: its parent's event says so
            self._wds[wd] = folder

    def _drop_watches(self, prefix: str) -> None:
        for wd, folder in list(self._wds.items()):
            if folder.startswith(prefix):
                del self._wds[wd]
                self._watcher.remove_watch(self, wd)

    def _path(self, rel: str) -> str:
        return f"{self.root}/{rel}"


def _record(rel: str, path: str, info: os.stat_result) -> LocalFile:
    return LocalFile(rel, path, info.st_size, info.st_mode & 0o7777, info.st_mtime_ns, info.st_ino)


class KeptStatCache(StatCache):
    """A stat cache that stays loaded between commands (its entries stay true: each
    names the stat a file had when it was hashed)."""

    def close(self) -> None:
        """Keep the entries for the next command."""


class Watcher:
    """The folders an agent keeps scanned, on one inotify descriptor; a
    :class:`shipyard.data.scanning.FolderView` for the commands it runs."""

    def __init__(self) -> None:
        self._inotify = INotify(nonblocking=True) if INotify is not None else None
        self._trees: OrderedDict[str, Tree] = OrderedDict()
        self._owners: dict[int, set[Tree]] = {}
        self._caches: OrderedDict[tuple[str, str], KeptStatCache] = OrderedDict()

    def fileno(self) -> int:
        """The descriptor that becomes readable when events wait (-1: none)."""
        return -1 if self._inotify is None else self._inotify.fileno()

    @property
    def trees(self) -> int:
        """How many folders are kept."""
        return len(self._trees)

    def absorb(self) -> None:
        """Read every queued event and note it on its tree."""
        if self._inotify is None:
            return
        for event in self._inotify.read(timeout=0):
            if event.mask & _OVERFLOW:
                for tree in self._trees.values():
                    tree.overflowed()
                continue
            owners = self._owners.get(event.wd)
            if not owners:
                continue
            if event.mask & _IGNORED:  # the folder is gone, and its watch with it
                del self._owners[event.wd]
                for owner in owners:
                    owner.forget(event.wd)
                continue
            for owner in owners:  # nested or aliased trees share a folder's watch
                owner.event(event.wd, event.mask, event.name)

    def add_watch(self, tree: Tree, path: str, prefix: str) -> int:
        """Watch the folder ``path`` for ``tree``; :class:`Unwatchable` at the limit."""
        assert self._inotify is not None
        try:
            wd = int(self._inotify.add_watch(path, MASK))
        except OSError as exc:
            if exc.errno in (errno.ENOSPC, errno.ENOMEM):
                raise Unwatchable(exc.errno, "the inotify watch limit is reached") from exc
            raise
        self._owners.setdefault(wd, set()).add(tree)  # the kernel gives one watch per folder
        return wd

    def remove_watch(self, tree: Tree, wd: int) -> None:
        """``tree`` no longer needs ``wd``; the watch goes with its last user."""
        owners = self._owners.get(wd)
        if owners is None:
            return
        owners.discard(tree)
        if owners:
            return
        del self._owners[wd]
        if self._inotify is not None:
            with suppress(OSError):  # already gone with its folder
                self._inotify.rm_watch(wd)

    def scan(self, source: Path) -> tuple[Path, list[LocalFile]]:
        """What a walk of ``source`` finds, from the kept tree when it is a folder."""
        tree = self._tree(source)
        if tree is None:
            return scan(source)
        files = tree.files()
        return (source, files) if files else scan(source)  # scan words the error

    def stat_cache(self, folder: Path | None, source: Path) -> StatCache:
        """The stat cache of ``source``, loaded once and kept."""
        if folder is None:
            return StatCache(None, source)
        key = (str(folder), os.path.abspath(source))
        cache = self._caches.pop(key, None) or KeptStatCache(folder, source)
        self._caches[key] = cache
        while len(self._caches) > MAX_TREES:
            self._caches.popitem(last=False)
        return cache

    def remembered(self, source: Path, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, or its earlier result while nothing under ``source`` changed."""
        tree = self._tree(source)
        if tree is None:
            return compute()
        generation = tree.generation
        known = tree.memo.get(key)
        if known is not None and known[0] == generation:
            return known[1]  # type: ignore[no-any-return]
        value = compute()
        tree.memo[key] = (generation, value)
        return value

    def close(self) -> None:
        """Stop watching everything."""
        for tree in self._trees.values():
            tree.close()
        self._trees.clear()
        if self._inotify is not None:
            self._inotify.close()

    def _tree(self, source: Path) -> Tree | None:
        """The kept, synced tree of the folder ``source`` (None: not a folder, or not
        watchable, so the caller walks it)."""
        if self._inotify is None:
            return None
        root = os.path.abspath(source)
        tree = self._trees.get(root)
        if tree is None:
            if not os.path.isdir(root):
                return None
            tree = self._trees[root] = Tree(self, root.rstrip("/") or "/")
            self._let_go(over=MAX_TREES)
        self._trees.move_to_end(root)
        self.absorb()
        try:
            tree.sync()
        except (Unwatchable, PermissionError):
            self._drop(root)
            return None
        if not os.path.isdir(root):
            self._drop(root)
            return None
        return tree

    def _let_go(self, over: int) -> None:
        while len(self._trees) > over:
            self._drop(next(iter(self._trees)))

    def _drop(self, root: str) -> None:
        tree = self._trees.pop(root, None)
        if tree is not None:
            tree.close()
