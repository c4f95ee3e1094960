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

FILES, SIZE = 300, 512 * 1024


def _blob_count(home: Path) -> int:
    return sum(
        1
        for p in (home / ".shipyard" / "blobs").rglob("*")
        if p.is_file() and ".tmp" not in p.parts
    )


@pytest.mark.slow
def test_sigkill_mid_add_leaves_no_version(
    workspace: Any, workspace_dir: Path, tmp_path: Path
) -> None:
    source = tmp_path / "many"
    source.mkdir()
    for i in range(FILES):
        (source / f"part-{i:04}.bin").write_bytes(os.urandom(SIZE))
    writer = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "shipyard",
            "--home",
            str(workspace_dir),
            "data",
            "add",
            "many",
            str(source),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
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
