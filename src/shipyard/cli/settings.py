"""`shipyard settings`: audited workspace settings."""

from __future__ import annotations

import json
from dataclasses import asdict
from typing import Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, stdout
from shipyard.cli.state import open_workspace

app = typer.Typer(help="Workspace settings (every change is audited).", no_args_is_help=True)


def _parse_value(text: str) -> Any:
    """A JSON value if ``text`` is one (``3``, ``true``, ``[1]``), else the string itself."""
    try:
        return json.loads(text)
    except ValueError:
        return text


@app.command("list")
def list_settings(as_json: JsonFlag = False) -> None:
    """List every setting."""
    with open_workspace() as ws:
        items = ws.settings.list()

    def render() -> None:
        for item in items:
            stdout.print(f"{item.key} = {json.dumps(item.value)}")
        if not items:
            stdout.print("No settings yet.")

    emit({"settings": [asdict(item) for item in items]}, as_json, render)


@app.command("get")
def get(key: str, as_json: JsonFlag = False) -> None:
    """Print one setting."""
    with open_workspace() as ws:
        item = ws.settings.get(key)
    emit(asdict(item), as_json, lambda: stdout.print(json.dumps(item.value)))


@app.command("set")
def set_(
    key: str,
    value: Annotated[str, typer.Argument(help="A JSON value, or any text (kept as a string).")],
    as_json: JsonFlag = False,
) -> None:
    """Set KEY to VALUE."""
    with open_workspace() as ws:
        item = ws.settings.set(key, _parse_value(value))
    emit(asdict(item), as_json, lambda: stdout.print(f"{item.key} = {json.dumps(item.value)}"))


@app.command("unset")
def unset(key: str, as_json: JsonFlag = False) -> None:
    """Remove KEY."""
    with open_workspace() as ws:
        ws.settings.unset(key)
    emit({"key": key, "removed": True}, as_json, lambda: stdout.print(f"removed {key}"))
