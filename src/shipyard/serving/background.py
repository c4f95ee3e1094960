"""An app served by uvicorn on a thread of this process, on loopback and a free port.

For the quickstart (which serves a model for a moment and sends it traffic) and for
tests: the server is real (sockets, HTTP), only its lifetime is a ``with`` block.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Literal

STARTUP_TIMEOUT_S = 10.0
SHUTDOWN_TIMEOUT_S = 300.0


class BackgroundServer:
    """``with BackgroundServer(app) as url:`` serves ``app`` at ``url`` for the block.

    ``lifespan="on"`` runs the app's startup and shutdown (a prediction log is written
    as the block ends); ``"off"`` skips them.
    """

    def __init__(self, app: Any, *, lifespan: Literal["on", "off"] = "off") -> None:
        import uvicorn

        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error", lifespan=lifespan)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> str:
        self.thread.start()
        deadline = time.monotonic() + STARTUP_TIMEOUT_S
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                self.server.should_exit = True
                raise RuntimeError("the background server did not start")
            time.sleep(0.01)
        host, port = self.server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=SHUTDOWN_TIMEOUT_S)  # the app's shutdown may write a log
