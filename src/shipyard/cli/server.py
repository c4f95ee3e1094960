"""`shipyard server`: the REST API for a team sharing one workspace."""

from __future__ import annotations

import contextlib
import ipaddress
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.output import note
from shipyard.errors import ValidationError

if TYPE_CHECKING:
    import socket

    from shipyard.platform import Platform


def is_loopback(host: str) -> bool:
    """True for addresses only this machine can reach."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def server(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port.")] = 8000,
    no_auth: Annotated[
        bool,
        typer.Option("--no-auth", help="Trust every caller (only allowed on a loopback address)."),
    ] = False,
) -> None:
    """Serve the web UI at / and the REST API under /api/v1 (OpenAPI at
    /api/v1/openapi.json)."""
    if no_auth and not is_loopback(host):
        raise ValidationError(
            f"--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), "
            f"got --host {host!r}; create tokens with `shipyard tokens create` instead"
        )
    from shipyard import config
    from shipyard.cli.state import options
    from shipyard.platform import open_platform

    platform = open_platform(config.resolve(options.home))
    state = "off" if no_auth else "on"
    note(f"shipyard on http://{host}:{port}/ (web UI; API under /api/v1; auth {state})")
    try:
        run_api(platform, auth=not no_auth, host=host, port=port)
    finally:
        platform.close()


def run_api(
    platform: Platform,
    *,
    auth: bool,
    host: str = "127.0.0.1",
    port: int = 8000,
    sock: socket.socket | None = None,
) -> None:
    """Serve the API and the web UI of ``platform`` until Ctrl-C (on ``sock`` when given:
    a socket bound already, so its address was known before)."""
    import uvicorn

    from shipyard.server.app import create_app

    config = uvicorn.Config(
        create_app(platform, auth=auth), host=host, port=port, log_level="warning"
    )
    with contextlib.suppress(KeyboardInterrupt):  # Ctrl-C is how it is meant to end
        uvicorn.Server(config).run(sockets=[sock] if sock else None)


def register(app: typer.Typer) -> None:
    """Add `shipyard server` to the root app."""
    app.command("server")(server)
