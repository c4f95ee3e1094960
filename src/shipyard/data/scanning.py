"""How the data commands see a local folder: scanned afresh, or kept scanned by a watcher.

A command run alone walks the folder (one stat per file) and reads its stat cache from
disk. The workspace agent (:mod:`shipyard.agent`) keeps folders scanned by inotify and
their stat caches in memory, and installs a view of them for the commands it runs
(:func:`viewing`); everything else asks :func:`current` and never knows the difference.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Protocol, TypeVar

from shipyard.data.manifest import LocalFile, scan
from shipyard.data.stat_cache import StatCache

T = TypeVar("T")


class FolderView(Protocol):
    """Local files as the data commands see them."""

    def scan(self, source: Path) -> tuple[Path, list[LocalFile]]:
        """What :func:`shipyard.data.manifest.scan` returns for ``source``."""

    def stat_cache(self, folder: Path | None, source: Path) -> StatCache:
        """The stat cache of ``source`` kept in ``folder``."""

    def remembered(self, source: Path, key: str, compute: Callable[[], T]) -> T:
        """``compute()``, or what it gave for ``key`` while nothing under ``source`` changed."""


class FreshView:
    """Every scan walks the disk; every stat cache is read from its file."""

    def scan(self, source: Path) -> tuple[Path, list[LocalFile]]:
        """Walk ``source`` now."""
        return scan(source)

    def stat_cache(self, folder: Path | None, source: Path) -> StatCache:
        """The cache file of ``source``, read on first use."""
        return StatCache(folder, source)

    def remembered(self, source: Path, key: str, compute: Callable[[], T]) -> T:
        """Nothing is remembered: the folder may have changed since."""
        return compute()


_FRESH = FreshView()
_view: ContextVar[FolderView | None] = ContextVar("shipyard_folder_view", default=None)


def current() -> FolderView:
    """The view the running command sees local folders through."""
    return _view.get() or _FRESH


@contextmanager
def viewing(view: FolderView) -> Iterator[None]:
    """Run the block with local folders seen through ``view``."""
    token = _view.set(view)
    try:
        yield
    finally:
        _view.reset(token)
