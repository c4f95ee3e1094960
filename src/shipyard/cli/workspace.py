"""Workspace commands: `shipyard init` and `shipyard quickstart`."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.output import JsonFlag, emit, note, stdout

if TYPE_CHECKING:
    import socket


def init(
    directory: Annotated[
        Path | None,
        typer.Argument(help="Folder to turn into a workspace (default: the current folder)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create DIR/.shipyard/ with its config, metadata store and blob folder."""
    from shipyard.workspace import init_workspace

    home, created = init_workspace(directory or Path.cwd())
    document = {"home": str(home), "created": created}
    verb = "Created" if created else "Reusing existing"
    emit(document, as_json, lambda: stdout.print(f"{verb} workspace in {home}"))


def quickstart(
    directory: Annotated[
        Path,
        typer.Option("--dir", help="Folder for the demo workspace and its data."),
    ] = Path("shipyard-quickstart"),
    no_serve: Annotated[
        bool, typer.Option("--no-serve", help="Stop after the lifecycle; do not serve the UI.")
    ] = False,
    port: Annotated[
        int | None,
        typer.Option("--port", min=1, max=65535, help="Port of the UI (default: a free one)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the whole lifecycle on generated credit-risk data and report each step."""
    from shipyard.examples.quickstart import Step, run_quickstart

    def show(step: Step) -> None:
        mark = "[green]✓[/]" if step.ok else "[red]✗[/]"
        line = f"{mark} {step.name} [dim]({step.seconds:.1f}s)[/] {step.detail}"
        (note if as_json else stdout.print)(line)

    report = run_quickstart(directory, on_step=show)
    listening = _listen(port) if not no_serve and report.ok else None
    if listening is not None:
        report.ui_url = f"http://127.0.0.1:{listening.getsockname()[1]}/"
    emit(report.to_dict(), as_json, lambda: _summary(report.ok, report.home))
    if not report.ok:
        raise typer.Exit(1)
    if listening is not None:
        sys.stdout.flush()  # the report is out before the server blocks
        _serve_ui(Path(report.home), listening, str(report.ui_url))


def _listen(port: int | None) -> socket.socket:
    """A socket listening on 127.0.0.1 (``port``, else a free one), bound before the
    report names its address; a port that is taken fails here, in one line."""
    import socket

    from shipyard.errors import ConfigError

    listening = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listening.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        listening.bind(("127.0.0.1", port or 0))
    except OSError as exc:
        listening.close()
        raise ConfigError(f"cannot serve the UI on 127.0.0.1:{port}: {exc.strerror}") from exc
    return listening


def _serve_ui(home: Path, listening: socket.socket, url: str) -> None:
    """The demo workspace's web UI and REST API on loopback (no tokens: only this
    machine can reach it) until Ctrl-C."""
    from shipyard import config
    from shipyard.cli.server import run_api
    from shipyard.platform import open_platform

    note(f"The web UI of the demo workspace is on {url} (Ctrl-C stops it)")
    platform = open_platform(config.resolve(home))
    try:
        run_api(platform, auth=False, sock=listening)
    finally:
        platform.close()


def _summary(ok: bool, home: str) -> None:
    if ok:
        stdout.print(
            f"\nQuickstart finished. Explore it in a browser with "
            f"`shipyard --home {home} server --no-auth`, or with `shipyard --home {home} "
            "audit log`."
        )
    else:
        stdout.print("\n[red]Quickstart stopped at the failed step above.[/]")


def register(app: typer.Typer) -> None:
    """Add the workspace commands to the root app."""
    app.command("init")(init)
    app.command("quickstart")(quickstart)
