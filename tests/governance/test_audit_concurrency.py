"""Many processes writing one workspace at once still build one unbroken chain."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

WRITER = textwrap.dedent(
    """
    import sys
    import shipyard
    worker, count, home = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    ws = shipyard.connect(home)
    for i in range(count):
        ws.settings.set(f"w{worker}-{i}", i)
    ws.close()
    """
)


@pytest.mark.slow
@pytest.mark.parametrize(("processes", "writes"), [(8, 200)], ids=["8x200"])
def test_concurrent_writers_make_one_chain(
    workspace: Any, workspace_dir: Path, processes: int, writes: int
) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(writes), str(workspace_dir)],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(processes)
    ]
    failures = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        if proc.returncode != 0:
            failures.append(err)
    assert not failures, failures[0]
    assert not any("database is locked" in f for f in failures)
    expected = 1 + processes * writes  # workspace.init + every write
    assert workspace.audit.count() == expected
    verdict = workspace.audit.verify()
    assert verdict.ok, verdict.reason
    assert verdict.entries == expected
    assert len(workspace.settings.list()) == processes * writes
