"""The root command: global options and the registry of command groups.

A command line names one top-level command, so only the module defining it is imported
and turned into click commands: ``shipyard data status`` never loads the registry's,
the server's or the access commands (and what they import). Without a known command
name (``shipyard --help``, a typo) every module is registered, so help and "no such
command" read exactly as they always did.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from importlib import import_module
from typing import Annotated, Any

import typer

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


# Top-level name -> (module under shipyard.cli, how it is added): "register" calls the
# module's register(app), which adds all of its names; anything else names a typer
# sub-app of the module. The order is the order of registration (and of ``--help``).
_COMMANDS: dict[str, tuple[str, str]] = {
    "init": ("workspace", "register"),
    "quickstart": ("workspace", "register"),
    "server": ("server", "register"),
    "data": ("data", "app"),
    "agent": ("agent", "app"),
    "runs": ("runs", "app"),
    "pipeline": ("pipeline", "app"),
    "models": ("models", "register"),
    "serve": ("serve", "register"),
    "monitor": ("monitor", "app"),
    "lineage": ("models", "register"),
    "audit": ("audit", "app"),
    "db": ("db", "app"),
    "settings": ("settings", "app"),
    "users": ("access", "users_app"),
    "tokens": ("access", "tokens_app"),
}


def command_name(args: Sequence[str]) -> str | None:
    """The known top-level command ``args`` invoke, or None when the whole app must
    answer: no command, an unknown one, or a root option such as ``--help`` before it."""
    value_of_home = False
    for arg in args:
        if value_of_home or arg == "--debug" or arg.startswith("--home="):
            value_of_home = False
        elif arg == "--home":
            value_of_home = True
        else:
            return arg if arg in _COMMANDS else None
    return None


def build_app(only: str | None = None) -> typer.Typer:
    """The typer application with the command ``only`` registered (default: all)."""
    app = typer.Typer(
        name="shipyard",
        help=HELP,
        no_args_is_help=True,
        add_completion=False,
        pretty_exceptions_enable=False,
        context_settings={"help_option_names": ["-h", "--help"]},
    )
    app.callback()(_root)
    registered: set[str] = set()
    for name, (module_name, attribute) in _COMMANDS.items():
        if only not in (None, name):
            continue
        module = import_module(f"shipyard.cli.{module_name}")
        if attribute != "register":
            app.add_typer(getattr(module, attribute), name=name)
        elif module_name not in registered:
            module.register(app)
            registered.add(module_name)
    return app


def build_command(args: Sequence[str] = ()) -> Any:
    """The click command behind the app, for running ``args`` without typer's exit
    handling: only the command they name is built (every command without one)."""
    return _command(command_name(args))


@functools.cache
def _command(name: str | None) -> Any:
    """Built once per process: a long-lived one (the workspace agent) runs many command
    lines, and building a command group takes ~10 ms."""
    return typer.main.get_command(build_app(name))
