"""`shipyard server`: the REST API for a team sharing one workspace."""

from __future__ import annotations

import ipaddress
from typing import Annotated

import typer

from shipyard.cli.output import note
from shipyard.errors import ValidationError


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
    """Serve the REST API under /api/v1 (OpenAPI at /api/v1/openapi.json)."""
    if no_auth and not is_loopback(host):
        raise ValidationError(
            f"--no-auth is only allowed on a loopback address (127.0.0.1, ::1, localhost), "
            f"got --host {host!r}; create tokens with `shipyard tokens create` instead"
        )
    import uvicorn

    from shipyard import config
    from shipyard.cli.state import options
    from shipyard.platform import open_platform
    from shipyard.server.app import create_app

    platform = open_platform(config.resolve(options.home))
    app = create_app(platform, auth=not no_auth)
    note(f"shipyard API on http://{host}:{port}/api/v1 (auth {'off' if no_auth else 'on'})")
    uvicorn.run(app, host=host, port=port, log_level="warning")


def register(app: typer.Typer) -> None:
    """Add `shipyard server` to the root app."""
    app.command("server")(server)
