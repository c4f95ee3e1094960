"""Artifacts through the server: streamed up, streamed down, digests checked."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

import shipyard
from live_server import LiveServer
from shipyard.errors import IntegrityError
from shipyard.server.app import create_app


@pytest.fixture
def served(platform: Any) -> Iterator[tuple[str, str]]:
    _, secret = platform.access.create_token("bob", role="editor")
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, secret


def test_artifacts_round_trip_through_the_server(
    served: tuple[str, str], platform: Any, tmp_path: Path
) -> None:
    url, token = served
    source = tmp_path / "src"
    (source / "nested").mkdir(parents=True)
    (source / "weights.bin").write_bytes(b"\x00\x01" * (3 << 20))  # several chunks
    (source / "nested" / "notes.txt").write_text("hello")
    with shipyard.connect(url, token=token) as ws:
        with ws.start_run("artifacts") as run:
            stored = run.log_artifact(source, "model")
        assert sorted(e.path for e in stored) == ["model/nested/notes.txt", "model/weights.bin"]
        ws.runs.download_artifacts(run.id, tmp_path / "back")
    back = tmp_path / "back" / "model"
    assert (back / "weights.bin").read_bytes() == (source / "weights.bin").read_bytes()
    assert (back / "nested" / "notes.txt").read_text() == "hello"
    assert [e.path for e in platform.runs.artifacts(run.id)] == [e.path for e in stored]

    weights = next(e for e in stored if e.path.endswith("weights.bin"))
    blob = Path(platform.blobs.backend.local_path(f"{weights.digest[:2]}/{weights.digest[2:]}"))
    blob.write_bytes(b"tampered" * 10)
    with shipyard.connect(url, token=token) as ws, pytest.raises((IntegrityError, httpx.HTTPError)):
        ws.runs.download_artifacts(run.id, tmp_path / "again")
    assert not (tmp_path / "again" / "model" / "weights.bin").exists()


def test_uploads_refuse_escaping_paths(served: tuple[str, str]) -> None:
    url, token = served
    with shipyard.connect(url, token=token) as ws:
        run_id = ws.start_run("x").id
    response = httpx.put(
        f"{url}/api/v1/runs/{run_id}/artifacts/a/%2E%2E/b",
        content=b"x",
        headers={"Authorization": f"Bearer {token}"},
    )
    assert response.status_code in (404, 422)
    assert "error" in response.json()
