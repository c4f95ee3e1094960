"""Run artifacts: files and folders into the blob store, listed, restored byte for byte."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import Conflict, IntegrityError, NotFound, ValidationError


def _tree(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()
    }


@pytest.fixture
def outputs(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    (root / "plots").mkdir(parents=True)
    (root / "model.bin").write_bytes(bytes(range(256)) * 100)
    (root / "plots" / "roc.svg").write_text("<svg/>")
    return root


def test_log_list_and_download(workspace: Any, outputs: Path, tmp_path: Path) -> None:
    with workspace.start_run() as run:
        run.log_artifact(outputs, "out")
        run.log_artifact(outputs / "model.bin")
    listed = {e.path: e for e in workspace.runs.artifacts(run.id)}
    assert sorted(listed) == ["model.bin", "out/model.bin", "out/plots/roc.svg"]
    assert listed["model.bin"].digest == listed["out/model.bin"].digest  # stored once
    workspace.runs.download_artifacts(run.id, tmp_path / "all")
    assert _tree(tmp_path / "all" / "out") == _tree(outputs)
    workspace.runs.download_artifacts(run.id, tmp_path / "plots", "out/plots")
    assert _tree(tmp_path / "plots") == {"out/plots/roc.svg": b"<svg/>"}
    assert workspace.audit.entries()[-2].action == "run.artifacts"


def test_bad_artifact_requests(workspace: Any, outputs: Path, tmp_path: Path) -> None:
    with workspace.start_run() as run:
        with pytest.raises(ValidationError, match="plain relative path"):
            run.log_artifact(outputs, "../escape")
        with pytest.raises(NotFound):
            run.log_artifact(tmp_path / "missing")
    with pytest.raises(Conflict):
        run.log_artifact(outputs)
    with pytest.raises(NotFound, match="no artifacts"):
        workspace.runs.download_artifacts(run.id, tmp_path / "none")


def test_a_corrupt_artifact_is_refused(workspace: Any, outputs: Path, tmp_path: Path) -> None:
    with workspace.start_run() as run:
        (entry,) = run.log_artifact(outputs / "model.bin")
    stored = Path(workspace.blobs.backend.local_path(f"{entry.digest[:2]}/{entry.digest[2:]}"))
    stored.write_bytes(b"tampered")
    with pytest.raises(IntegrityError):
        workspace.runs.download_artifacts(run.id, tmp_path / "dest")
    assert not (tmp_path / "dest").exists()
