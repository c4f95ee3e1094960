"""A workspace on PostgreSQL and S3 (no local folder at all) versions and restores data."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from trees import tree_of

from shipyard import connect


@pytest.mark.s3
def test_postgres_and_s3_workspace(
    pg_url: str,
    s3_bucket: Any,
    tree: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SHIPYARD_STORE_URL", pg_url)
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_URL", s3_bucket.url("team/blobs"))
    monkeypatch.setenv("SHIPYARD_S3_ENDPOINT_URL", s3_bucket.endpoint_url)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    with connect() as ws:
        assert ws.home is None
        version = ws.data.add("raw", tree, message="shared")
        assert any(key.startswith("team/blobs/") for key in s3_bucket.object_keys())
    with connect() as other:  # a second client sees the same store
        assert other.data.get("raw").digest == version.digest
        other.data.checkout("raw", tmp_path / "restored")
        assert other.audit.verify().ok
    assert tree_of(tmp_path / "restored") == tree_of(tree)
