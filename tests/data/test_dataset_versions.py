"""Dataset versions: content-addressed, immutable, diffable, restored byte for byte."""

from __future__ import annotations

import marshal
import time
from pathlib import Path
from typing import Any

import blake3
import pytest
from trees import age, make_tree, tree_of

from shipyard.errors import IntegrityError, NotFound, ValidationError


def test_add_records_a_manifest_of_every_file(workspace: Any, tree: Path) -> None:
    result = workspace.data.add_with_stats("raw", tree, message="first")
    version = result.version
    assert (version.ref, version.version, version.parent, result.created) == (
        "raw@v1",
        1,
        None,
        True,
    )
    assert (version.files, version.message, version.author) == (4, "first", "tester")
    assert version.bytes == sum(p.stat().st_size for p in tree.rglob("*") if p.is_file())
    entries = workspace.data.manifest(version).by_path()
    assert sorted(entries) == ["a.txt", "empty.dat", "nested/b.bin", "nested/deeper/c.csv"]
    b = entries["nested/b.bin"]
    assert b.digest == blake3.blake3((tree / "nested/b.bin").read_bytes()).hexdigest()
    assert (b.size, b.mode) == (2560, 0o600)
    assert workspace.blobs.exists(b.digest)
    assert workspace.audit.entries()[-1].action == "dataset.add"


def test_identical_content_makes_no_new_version(workspace: Any, tree: Path) -> None:
    first = workspace.data.add("raw", tree)
    events = workspace.audit.count()
    again = workspace.data.add_with_stats("raw", tree)
    assert again.created is False
    assert again.version.ref == first.ref
    assert again.hashed == 0  # every file came from the stat cache
    assert workspace.audit.count() == events


def test_the_stat_cache_holds_a_folder_once_however_it_is_named(
    workspace: Any, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    workspace.data.add("raw", tree)
    monkeypatch.chdir(tree.parent)
    for spelling in (Path(tree.name), tree / ".." / tree.name):
        assert workspace.data.add_with_stats("raw", spelling).hashed == 0
    (cache,) = _stat_caches(workspace)
    assert _cached_paths(cache) == sorted(_files_under(tree))


def test_the_stat_cache_forgets_files_that_are_gone(workspace: Any, tree: Path) -> None:
    workspace.data.add("raw", tree)
    (tree / "a.txt").unlink()
    (tree / "new.txt").write_text("new\n")
    age(tree / "new.txt")
    assert workspace.data.add_with_stats("raw", tree).hashed == 1
    (cache,) = _stat_caches(workspace)
    assert _cached_paths(cache) == sorted(_files_under(tree))


def _stat_caches(workspace: Any) -> list[Path]:
    return sorted((workspace._platform.settings.cache_dir / "stat").glob("*.stat"))


def _cached_paths(cache: Path) -> list[str]:
    _, entries = marshal.loads(cache.read_bytes())
    return sorted(entries)


def _files_under(root: Path) -> list[str]:
    return [p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()]


def test_an_edit_makes_a_version_rehashing_only_that_file(workspace: Any, tree: Path) -> None:
    workspace.data.add("raw", tree)
    (tree / "a.txt").write_text("alpha, edited\n")
    age(tree / "a.txt")
    result = workspace.data.add_with_stats("raw", tree, message="edit")
    assert (result.version.ref, result.version.parent, result.hashed) == ("raw@v2", 1, 1)
    assert result.new_bytes == len("alpha, edited\n")
    assert workspace.data.get("raw").ref == "raw@v2"
    assert workspace.data.get("raw@latest").ref == "raw@v2"
    assert workspace.data.get("raw@v1").message == ""
    assert [v.ref for v in workspace.data.log("raw")] == ["raw@v2", "raw@v1"]


def test_a_racily_fresh_file_is_not_trusted_to_the_cache(workspace: Any, tmp_path: Path) -> None:
    root = make_tree(tmp_path / "fresh", {"f.txt": "one"})
    workspace.data.add("fresh", root)
    (root / "f.txt").write_text("two")  # same size, rewritten within the clock's resolution
    assert workspace.data.add("fresh", root).ref == "fresh@v2"


def test_single_file_and_names(workspace: Any, tmp_path: Path) -> None:
    path = make_tree(tmp_path, {"notes.md": "# hello"}) / "notes.md"
    version = workspace.data.add("notes", path)
    assert workspace.data.manifest(version).by_path().keys() == {"notes.md"}
    assert [v.ref for v in workspace.data.list()] == ["notes@v1"]


def test_status_names_added_removed_and_changed_files(workspace: Any, tree: Path) -> None:
    workspace.data.add("raw", tree)
    assert workspace.data.status("raw", tree).diff.clean
    (tree / "a.txt").write_text("changed\n")
    (tree / "empty.dat").unlink()
    (tree / "new.txt").write_text("new\n")
    report = workspace.data.status("raw", tree).to_dict()
    assert report == {
        "name": "raw",
        "ref": "raw@v1",
        "clean": False,
        "added": ["new.txt"],
        "removed": ["empty.dat"],
        "changed": ["a.txt"],
    }


def test_diff_between_versions(workspace: Any, tree: Path) -> None:
    workspace.data.add("raw", tree)
    (tree / "nested/b.bin").chmod(0o644)  # a mode change is a change too
    (tree / "gone").mkdir()
    (tree / "a.txt").unlink()
    workspace.data.add("raw", tree)
    assert workspace.data.diff("raw@v1", "raw@v2")["files"] == {
        "added": [],
        "removed": ["a.txt"],
        "changed": ["nested/b.bin"],
    }


def test_checkout_is_byte_exact(workspace: Any, tree: Path, tmp_path: Path) -> None:
    workspace.data.add("raw", tree)
    (tree / "a.txt").write_text("later\n")
    workspace.data.add("raw", tree)
    original = tree_of(tree)
    workspace.data.checkout("raw@v2", tmp_path / "out")
    assert tree_of(tmp_path / "out") == original
    workspace.data.checkout("raw@v1", tmp_path / "v1")
    assert tree_of(tmp_path / "v1")["a.txt"] == (b"alpha\n", 0o644)


def test_checkout_refuses_a_non_empty_destination_unless_forced(
    workspace: Any, tree: Path, tmp_path: Path
) -> None:
    workspace.data.add("raw", tree)
    dest = make_tree(tmp_path / "dest", {"keep.txt": "mine"})
    with pytest.raises(ValidationError, match="not empty"):
        workspace.data.checkout("raw", dest)
    assert tree_of(dest) == {"keep.txt": (b"mine", 0o644)}
    workspace.data.checkout("raw", dest, force=True)
    assert tree_of(dest) == tree_of(tree)
    empty = tmp_path / "empty"
    empty.mkdir()
    workspace.data.checkout("raw", empty)
    assert tree_of(empty) == tree_of(tree)


def test_a_corrupt_blob_fails_checkout_and_leaves_no_destination(
    workspace: Any, tree: Path, tmp_path: Path
) -> None:
    version = workspace.data.add("raw", tree)
    digest = workspace.data.manifest(version).by_path()["a.txt"].digest
    stored = Path(workspace.blobs.backend.local_path(f"{digest[:2]}/{digest[2:]}"))
    stored.chmod(0o644)
    stored.write_text("tampered\n")
    with pytest.raises(IntegrityError, match=digest):
        workspace.data.checkout("raw", tmp_path / "out")
    assert not (tmp_path / "out").exists()
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".out")] == []


@pytest.mark.parametrize(
    "ref",
    ["missing", "missing@v1", "raw@v7", "raw@vx", "raw@v0", "bad name", "raw@"],
    ids=str,
)
def test_bad_refs_are_clear_errors(workspace: Any, tree: Path, ref: str) -> None:
    workspace.data.add("raw", tree)
    with pytest.raises((NotFound, ValidationError)) as caught:
        workspace.data.get(ref)
    message = str(caught.value)
    assert "dataset" in message
    assert "\n" not in message


def test_bad_sources_record_nothing(workspace: Any, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no such file"):
        workspace.data.add("x", tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(ValidationError, match="holds no files"):
        workspace.data.add("x", tmp_path / "empty")
    (tmp_path / "unreadable").mkdir()
    (tmp_path / "unreadable" / "mem").symlink_to("/proc/self/mem")
    with pytest.raises(ValidationError, match="cannot read"):
        workspace.data.add("x", tmp_path / "unreadable")
    assert workspace.data.list() == []


def test_a_file_that_changes_while_hashed_is_refused(workspace: Any, tmp_path: Path) -> None:
    import threading

    path = tmp_path / "growing" / "big.bin"
    path.parent.mkdir()
    path.write_bytes(b"\0" * (96 << 20))
    stop = threading.Event()

    def append() -> None:
        with path.open("ab") as out:
            while not stop.is_set():
                out.write(b"x")
                out.flush()
                time.sleep(0.0005)

    writer = threading.Thread(target=append)
    writer.start()
    try:
        with pytest.raises(ValidationError, match="changed while it was being"):
            workspace.data.add("growing", path.parent)
    finally:
        stop.set()
        writer.join()
    assert workspace.data.list() == []


class RecordingProgress:
    """A progress receiver that remembers every report (what the CLI's bar is fed)."""

    def __init__(self) -> None:
        self.total: tuple[int, int] | None = None
        self.reports: list[tuple[int, int]] = []

    def start(self, files: int, size: int) -> None:
        self.total = (files, size)

    def advance(self, files: int, size: int) -> None:
        self.reports.append((files, size))


def test_progress_reports_large_files_as_they_are_copied(
    workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipyard.storage.filecopy as filecopy

    monkeypatch.setattr(filecopy, "COPY_CHUNK", 1 << 20)
    root = make_tree(tmp_path / "mixed", {"big.bin": b"b" * (9 << 20), "small.txt": "s"})
    for path in root.iterdir():
        age(path)
    progress = RecordingProgress()
    workspace.data.add("mixed", root, progress=progress)
    size = (9 << 20) + 1
    assert progress.total == (2, size)
    assert sum(files for files, _ in progress.reports) == 2
    assert sum(done for _, done in progress.reports) == size
    assert len([r for r in progress.reports if r == (0, 1 << 20)]) == 9  # chunk by chunk
