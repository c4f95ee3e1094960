"""Folders kept scanned by inotify list exactly what a fresh walk lists, change after change."""

from __future__ import annotations

import os
import random
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.agent.watch import Watcher
from shipyard.data.manifest import scan

pytestmark = pytest.mark.skipif(not Path("/proc/sys/fs/inotify").is_dir(), reason="inotify")


@pytest.fixture
def watcher() -> Iterator[Watcher]:
    kept = Watcher()
    yield kept
    kept.close()


def listing(files: list) -> list[tuple[str, int, int, int, int]]:
    """What a scan says of each file, but where it was found (relative or absolute)."""
    return [(f.rel, f.size, f.mode, f.mtime_ns, f.inode) for f in files]


def assert_same_as_walk(watcher: Watcher, root: Path) -> None:
    assert listing(watcher.scan(root)[1]) == listing(scan(root)[1])


def write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_edits_creations_removals_and_moves_are_seen(watcher: Watcher, tmp_path: Path) -> None:
    root = tmp_path / "data"
    for i in range(30):
        write(root / f"d{i % 3}" / f"e{i % 2}" / f"f{i}.bin", os.urandom(100 + i))
    assert_same_as_walk(watcher, root)
    first = watcher.scan(root)[1]
    assert watcher.scan(root)[1] is first  # nothing changed: nothing re-read

    with (root / "d0/e0/f0.bin").open("ab") as out:
        out.write(b"more")
    assert_same_as_walk(watcher, root)
    (root / "d1/e1/f1.bin").unlink()
    write(root / "new/deep/er/g.txt", b"hello")
    assert_same_as_walk(watcher, root)
    (root / "new").rename(root / "moved")
    assert_same_as_walk(watcher, root)
    shutil.rmtree(root / "d2")
    os.chmod(root / "d0/e0/f0.bin", 0o600)
    assert_same_as_walk(watcher, root)
    (root / "moved/deep/er/g.txt").rename(root / "g.txt")  # a file out of a deep folder
    (root / "d0/e1").rename(tmp_path / "outside")  # a folder out of the tree
    assert_same_as_walk(watcher, root)
    (tmp_path / "outside").rename(root / "back")  # and another one into it
    assert_same_as_walk(watcher, root)


def test_random_changes_match_a_fresh_walk(watcher: Watcher, tmp_path: Path) -> None:
    rng = random.Random(7)
    root = tmp_path / "data"
    for i in range(40):
        write(root / f"d{i % 4}" / f"f{i}", rng.randbytes(rng.randrange(1, 500)))
    assert_same_as_walk(watcher, root)
    for step in range(120):
        files = sorted(p for p in root.rglob("*") if p.is_file())
        folders = sorted(p for p in root.rglob("*") if p.is_dir())
        action = rng.choice(["edit", "create", "delete", "rename", "mkdir", "rmdir", "touch"])
        if action == "edit" and files:
            rng.choice(files).write_bytes(rng.randbytes(rng.randrange(1, 500)))
        elif action == "create":
            write(rng.choice([root, *folders]) / f"n{step}", rng.randbytes(10))
        elif action == "delete" and files:
            rng.choice(files).unlink()
        elif action == "rename" and files:
            rng.choice(files).rename(rng.choice([root, *folders]) / f"r{step}")
        elif action == "mkdir":
            write(rng.choice([root, *folders]) / f"m{step}" / "inner" / "x", b"x")
        elif action == "rmdir" and folders:
            shutil.rmtree(rng.choice(folders))
        elif action == "touch" and files:
            os.utime(rng.choice(files), ns=(step, step * 1_000_000_000))
        if not any(p.is_file() for p in root.rglob("*")):
            write(root / "keep", b"k")
        if step % 5 == 0:
            assert_same_as_walk(watcher, root)
    assert_same_as_walk(watcher, root)


def test_a_linked_file_is_read_again_every_time(watcher: Watcher, tmp_path: Path) -> None:
    target = tmp_path / "elsewhere.txt"
    target.write_text("one")
    root = tmp_path / "data"
    write(root / "plain.txt", b"p")
    (root / "link.txt").symlink_to(target)
    assert_same_as_walk(watcher, root)
    target.write_text("a longer text")  # no event under root: the link is stat'ed again
    assert_same_as_walk(watcher, root)
    assert {f.rel: f.size for f in watcher.scan(root)[1]}["link.txt"] == len("a longer text")


def test_tool_folders_are_skipped_as_a_walk_skips_them(watcher: Watcher, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "a.txt", b"a")
    write(root / ".git" / "HEAD", b"ref")
    assert_same_as_walk(watcher, root)
    write(root / ".shipyard" / "config.toml", b"")
    write(root / ".git" / "objects" / "x", b"y")
    assert_same_as_walk(watcher, root)
    assert [f.rel for f in watcher.scan(root)[1]] == ["a.txt"]


def test_lost_events_mean_a_fresh_walk(watcher: Watcher, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "a", b"a")
    write(root / "b", b"b")
    watcher.scan(root)
    limit = int(Path("/proc/sys/fs/inotify/max_queued_events").read_text())
    for i in range(limit // 2 + 10):  # two events a round, never merged: the queue overflows
        os.utime(root / "a", ns=(i, i))
        os.utime(root / "b", ns=(i, i))
    write(root / "c", b"c")
    assert_same_as_walk(watcher, root)


def test_files_and_missing_paths_are_walked_as_without_a_watcher(
    watcher: Watcher, tmp_path: Path
) -> None:
    single = tmp_path / "one.csv"
    single.write_text("x\n1\n")
    assert listing(watcher.scan(single)[1]) == listing(scan(single)[1])
    assert watcher.trees == 0
    with pytest.raises(Exception, match="no such file or folder"):
        watcher.scan(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(Exception, match="holds no files"):
        watcher.scan(tmp_path / "empty")


def test_remembered_until_something_changes(watcher: Watcher, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "a", b"a")
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    assert watcher.remembered(root, "k", compute) == 1
    assert watcher.remembered(root, "k", compute) == 1
    (root / "a").write_bytes(b"changed")
    assert watcher.remembered(root, "k", compute) == 2
    (root / "a").write_bytes(b"changed")  # same size, new mtime: still a change
    assert watcher.remembered(root, "k", compute) in (2, 3)  # same stat in one tick: unchanged
    os.utime(root / "a", ns=(1, 1))
    assert watcher.remembered(root, "k", compute) == len(calls)
    assert len(calls) >= 3


def test_nested_and_aliased_folders_each_see_their_changes(
    watcher: Watcher, tmp_path: Path
) -> None:
    outer = tmp_path / "data"
    write(outer / "a.txt", b"a")
    write(outer / "sub" / "b.txt", b"b")
    (tmp_path / "alias").symlink_to(outer)
    for root in (outer, outer / "sub", tmp_path / "alias"):
        assert_same_as_walk(watcher, root)  # three trees sharing the watches of two folders
    write(outer / "sub" / "new.txt", b"new")
    for root in (outer, outer / "sub", tmp_path / "alias"):
        assert_same_as_walk(watcher, root)
    watcher._drop(str(outer / "sub"))  # letting one tree go keeps the others' watches
    write(outer / "sub" / "later.txt", b"later")
    assert_same_as_walk(watcher, outer)
    assert_same_as_walk(watcher, tmp_path / "alias")


def test_a_rewrite_that_keeps_the_stat_still_counts(watcher: Watcher, tmp_path: Path) -> None:
    root = tmp_path / "data"
    write(root / "a", b"first")
    calls: list[int] = []

    def compute() -> int:
        calls.append(1)
        return len(calls)

    before = os.stat(root / "a")
    assert watcher.remembered(root, "k", compute) == 1
    (root / "a").write_bytes(b"other")  # same size ...
    os.utime(root / "a", ns=(before.st_atime_ns, before.st_mtime_ns))  # ... same mtime
    assert watcher.remembered(root, "k", compute) == 2
