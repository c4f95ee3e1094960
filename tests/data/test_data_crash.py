"""A `data add` killed midway leaves no version; the next add reuses what was stored."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from test_packed_datasets import files_of, many_small_files

FILES, SIZE = 300, 512 * 1024


def _blob_count(home: Path) -> int:
    return sum(
        1
        for p in (home / ".shipyard" / "blobs").rglob("*")
        if p.is_file() and ".tmp" not in p.parts
    )


def start_add(home: Path, name: str, source: Path) -> subprocess.Popen[bytes]:
    """``shipyard data add NAME SOURCE`` in a process of its own, to be killed."""
    return subprocess.Popen(
        [sys.executable, "-m", "shipyard", "--home", str(home), "data", "add", name, str(source)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


@pytest.mark.slow
def test_sigkill_mid_add_leaves_no_version(
    workspace: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "many"
    source.mkdir()
    for i in range(FILES):
        (source / f"part-{i:04}.bin").write_bytes(os.urandom(SIZE))
    writer = start_add(workspace_dir, "many", source)
    deadline = time.monotonic() + 60
    while _blob_count(workspace_dir) < 20 and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    assert writer.poll() is None, "the add finished before it could be killed; make it bigger"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    stored = _blob_count(workspace_dir)
    assert 0 < stored < FILES
    assert workspace.data.list() == []
    assert workspace.audit.entries()[-1].action == "workspace.init"

    result = workspace.data.add_with_stats("many", source)
    assert result.version.ref == "many@v1"
    assert result.new_bytes <= (FILES - stored + 1) * SIZE  # what was stored is reused
    restored = tmp_path / "restored"
    workspace.data.checkout("many", restored)
    assert sorted(p.name for p in restored.iterdir()) == sorted(p.name for p in source.iterdir())


@pytest.mark.slow
def test_sigkill_mid_packed_add_keeps_finished_packs_only(
    workspace: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    source = many_small_files(
        tmp_path / "src", files=9000, size=16 << 10
    )  # about two and a half packs
    writer = start_add(workspace_dir, "many", source)
    deadline = time.monotonic() + 60
    packs = workspace_dir / ".shipyard" / "blobs" / "packs"
    while not any(packs.glob("*.pack")) and writer.poll() is None and time.monotonic() < deadline:
        time.sleep(0.002)
    assert writer.poll() is None, "the add finished before it could be killed; make it bigger"
    writer.send_signal(signal.SIGKILL)
    writer.wait()
    assert workspace.data.list() == []

    result = workspace.data.add_with_stats("many", source)
    total = sum(len(b) for b in files_of(source).values())
    assert result.new_bytes < total - (60 << 20)  # the finished pack was reused
    workspace.data.checkout("many", tmp_path / "out")
    assert files_of(tmp_path / "out") == files_of(source)
