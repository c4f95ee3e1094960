"""`shipyard agent`: a resident process that keeps the workspace warm for data commands."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, stdout
from shipyard.cli.state import options

app = typer.Typer(
    help="""A resident process per workspace that runs `data status` and `data add` warm.

It keeps shipyard loaded and the workspace open, and watches the folders it has
scanned (inotify), so a command re-reads only what changed: on 20,000 files, a status
with nothing changed answers in tens of milliseconds. Output and errors are those of
the command run alone; without an agent, commands run as usual. Set SHIPYARD_NO_AGENT=1
to bypass it for one command.""",
    no_args_is_help=True,
)


def _home() -> Path:
    from shipyard import config
    from shipyard.errors import ConfigError

    settings = config.resolve(options.home)
    if settings.home is None or settings.server:
        raise ConfigError("the agent serves a local workspace folder; this one has none")
    return settings.home


@app.command("start")
def start(
    idle: Annotated[
        float,
        typer.Option("--idle-minutes", help="Leave after this long without a command."),
    ] = 240.0,
    as_json: JsonFlag = False,
) -> None:
    """Start the agent of this workspace in the background (nothing if one runs)."""
    from shipyard.agent import control
    from shipyard.workspace import open_local

    home = _home()
    open_local(home).close()  # a missing or unreadable workspace fails here, in one line
    info, started = control.start(home, idle * 60)
    verb = "started" if started else "already running"
    emit({**info, "started_now": started}, as_json, lambda: _show(f"agent {verb}", info))


@app.command("stop")
def stop(as_json: JsonFlag = False) -> None:
    """Stop the agent of this workspace (nothing if none runs)."""
    from shipyard.agent import control

    info = control.stop(_home())
    message = "no agent was running" if info is None else f"agent stopped (pid {info['pid']})"
    emit({"stopped": info is not None, **(info or {})}, as_json, lambda: stdout.print(message))


@app.command("status")
def status(as_json: JsonFlag = False) -> None:
    """Whether an agent serves this workspace, and what it keeps."""
    from shipyard.agent import control

    try:
        info = control.ping(_home())
    except control.AgentBusy as busy:
        info = {"pid": busy.pid, "busy": True}
    document = {"running": info is not None, **(info or {})}

    def render() -> None:
        if info is None:
            stdout.print("no agent serves this workspace")
        else:
            _show("agent running", info)

    emit(document, as_json, render)


def _show(headline: str, info: dict[str, Any]) -> None:
    if info.get("busy"):
        stdout.print(f"{headline}: pid {info['pid']}, busy with a command")
        return
    stdout.print(
        f"{headline}: pid {info['pid']}, {info['served']} commands served, "
        f"{info['folders_watched']} folders watched, socket {info['socket']}"
    )
