"""The root command: global options and the registry of command groups."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from shipyard.cli import access, audit, data, db, models, runs, server, settings, workspace
from shipyard.cli.state import options

HELP = """shipyard: version data, track and register models, serve and monitor them,
with an audit trail of every change.

Start with `shipyard quickstart` to see the whole loop on demo data, or `shipyard init`
to make the current folder a workspace."""


def _version(value: bool) -> None:
    if value:
        from shipyard._version import __version__

        typer.echo(f"shipyard {__version__}")
        raise typer.Exit()


def _root(
    home: Annotated[
        str | None,
        typer.Option(
            "--home",
            metavar="PATH",
            help="Workspace to use (a folder holding .shipyard/). "
            "Default: $SHIPYARD_HOME, else the nearest .shipyard/ upwards.",
        ),
    ] = None,
    debug: Annotated[
        bool, typer.Option("--debug", help="Show the full traceback when a command fails.")
    ] = False,
    version: Annotated[
        bool,
        typer.Option(
            "--version", "-V", callback=_version, is_eager=True, help="Print the version."
        ),
    ] = False,
) -> None:
    options.home = home
    options.debug = debug


def build_app() -> typer.Typer:
    """The typer application with every command group registered."""
    app = typer.Typer(
        name="shipyard",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    workspace.register(app)
    server.register(app)
    app.add_typer(data.app, name="data")
    app.add_typer(runs.app, name="runs")
    models.register(app)
    app.add_typer(audit.app, name="audit")
    app.add_typer(db.app, name="db")
    app.add_typer(settings.app, name="settings")
    app.add_typer(access.users_app, name="users")
    app.add_typer(access.tokens_app, name="tokens")
    return app


def build_command() -> Any:
    """The click command behind the app, for running without typer's exit handling."""
    return typer.main.get_command(build_app())
