"""Fixtures for pipeline tests: a workspace, and pipeline modules written as real files."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from shipyard.workspace import Workspace, open_local


@pytest.fixture
def ws(workspace_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Workspace]:
    """A workspace on SQLite and on PostgreSQL, named by SHIPYARD_HOME (as for the CLI)."""
    monkeypatch.setenv("SHIPYARD_HOME", str(workspace_dir))
    with open_local(workspace_dir) as workspace:
        yield workspace


@pytest.fixture
def write_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """Write a module of pipelines into a folder on sys.path; returns a writer."""
    folder = tmp_path / "modules"
    folder.mkdir()
    monkeypatch.syspath_prepend(str(folder))
    written: list[str] = []

    def write(name: str, source: str) -> Path:
        path = folder / f"{name}.py"
        path.write_text(textwrap.dedent(source))
        sys.modules.pop(name, None)
        written.append(name)
        return path

    yield write
    for name in written:
        sys.modules.pop(name, None)
