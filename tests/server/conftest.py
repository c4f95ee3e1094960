"""A real HTTP server on loopback over a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from live_server import LiveServer
from shipyard import config
from shipyard.platform import open_platform
from shipyard.server.app import create_app


@pytest.fixture
def platform(workspace_dir: Path) -> Iterator[Any]:
    platform = open_platform(config.resolve(workspace_dir))
    yield platform
    platform.close()


@pytest.fixture
def open_api(platform: Any) -> Iterator[httpx.Client]:
    """The API with auth off (what `shipyard server --no-auth` serves on loopback)."""
    with LiveServer(create_app(platform, auth=False)) as url, httpx.Client(base_url=url) as client:
        yield client
