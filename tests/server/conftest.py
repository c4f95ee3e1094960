"""A real HTTP server on loopback over a real workspace (SQLite and PostgreSQL)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn

from shipyard import config
from shipyard.platform import open_platform
from shipyard.server.app import create_app


class LiveServer:
    """uvicorn serving an app on 127.0.0.1 and a free port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.server = uvicorn.Server(
            uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan="off")
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("the test server did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


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
