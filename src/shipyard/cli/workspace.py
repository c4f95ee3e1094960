"""Workspace commands: `shipyard init` and `shipyard quickstart`."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from shipyard.cli.output import JsonFlag, emit, note, stdout


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
    as_json: JsonFlag = False,
) -> None:
    """Run the whole lifecycle on generated credit-risk data and report each step."""
    from shipyard.examples.quickstart import Step, run_quickstart

    def show(step: Step) -> None:
        mark = "[green]✓[/]" if step.ok else "[red]✗[/]"
        line = f"{mark} {step.name} [dim]({step.seconds:.1f}s)[/] {step.detail}"
        (note if as_json else stdout.print)(line)

    report = run_quickstart(directory, on_step=show)
    if not no_serve and report.ok:
        note(
            "Nothing to serve yet: the UI arrives with the server; pass --no-serve to silence this."
        )
    emit(report.to_dict(), as_json, lambda: _summary(report.ok, report.home))
    if not report.ok:
        raise typer.Exit(1)


def _summary(ok: bool, home: str) -> None:
    if ok:
        stdout.print(f"\nQuickstart finished. Explore it with: shipyard --home {home} audit log")
    else:
        stdout.print("\n[red]Quickstart stopped at the failed step above.[/]")


def register(app: typer.Typer) -> None:
    """Add the workspace commands to the root app."""
    app.command("init")(init)
    app.command("quickstart")(quickstart)
