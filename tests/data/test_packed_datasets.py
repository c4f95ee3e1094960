"""Datasets of many small files: their blobs go into packs, and come back byte for byte."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from trees import age

from shipyard.data.ingest import PACK_MIN_FILES, SMALL_TASK
from shipyard.errors import IntegrityError

FILES = 3 * PACK_MIN_FILES


def many_small_files(root: Path, files: int = FILES, size: int = 3000) -> Path:
    """``files`` random files of about ``size`` bytes in 7 folders, one a copy of another,
    and one large file; all old enough for the stat cache."""
    for i in range(files):
        folder = root / f"d{i % 7}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{i:05}.bin").write_bytes(os.urandom(size + i))
    (root / "d0" / "same-as-f00000.bin").write_bytes((root / "d0" / "f00000.bin").read_bytes())
    (root / "large.bin").write_bytes(os.urandom(SMALL_TASK + 1))  # stays a file of its own
    for path in root.rglob("*.bin"):
        age(path)  # old enough for the stat cache to trust
    return root


def files_of(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` by relative path, with its bytes."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _blob_files(home: Path) -> list[Path]:
    blobs = home / ".shipyard" / "blobs"
    return [p for p in blobs.rglob("*") if p.is_file() and ".tmp" not in p.parts]


def test_many_small_files_go_into_packs_and_check_out_exactly(
    workspace: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    source = many_small_files(tmp_path / "src")
    result = workspace.data.add_with_stats("many", source)
    assert (result.version.files, result.hashed) == (FILES + 2, FILES + 2)
    stored = _blob_files(workspace_dir)
    packs = [p for p in stored if p.suffix == ".pack"]
    assert packs
    assert len(stored) - len(packs) == 2  # the large file and the manifest
    assert result.new_bytes == sum(len(b) for b in files_of(source).values()) - 3000

    workspace.data.checkout("many@v1", tmp_path / "out")
    assert files_of(tmp_path / "out") == files_of(source)
    assert workspace.data.status("many", source).diff.clean

    (source / "d3" / "f00003.bin").write_bytes(b"edited")
    age(source / "d3" / "f00003.bin")
    second = workspace.data.add_with_stats("many", source)
    assert (second.version.ref, second.hashed, second.new_bytes) == ("many@v2", 1, 6)
    workspace.data.checkout("many@v2", tmp_path / "out2")
    assert files_of(tmp_path / "out2") == files_of(source)
    workspace.data.checkout("many@v1", tmp_path / "out1")
    assert files_of(tmp_path / "out1") == files_of(tmp_path / "out")


def test_a_changed_byte_in_a_pack_fails_checkout(
    workspace: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    source = many_small_files(tmp_path / "src")
    workspace.data.add("many", source)
    (pack,) = [p for p in _blob_files(workspace_dir) if p.suffix == ".pack"]
    with pack.open("r+b") as file:
        file.seek(5000)
        byte = file.read(1)
        file.seek(5000)
        file.write(bytes([byte[0] ^ 0xFF]))
    with pytest.raises(IntegrityError, match="pack"):
        workspace.data.checkout("many", tmp_path / "out")
    assert not (tmp_path / "out").exists()
