"""How commands report: one JSON document on stdout with ``--json``, else rich text."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date, datetime
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

if TYPE_CHECKING:
    from rich.console import Console


class LazyConsole:
    """A rich Console built on first use: a command printing only JSON never imports rich
    (``rich.console`` alone takes 15-25 ms to import on a small machine)."""

    def __init__(self, **options: Any) -> None:
        self._options = options

    @cached_property
    def console(self) -> Console:
        """The Console itself."""
        from rich.console import Console

        return Console(**self._options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.console, name)

    def reset(self) -> None:
        """Build the Console again on next use (for other streams, another terminal)."""
        self.__dict__.pop("console", None)


stdout = LazyConsole(highlight=False, soft_wrap=True)
stderr = LazyConsole(stderr=True, highlight=False, soft_wrap=True)


def _default(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "to_dict"):
        return value.to_dict()
    raise TypeError(f"cannot write {type(value).__name__} as JSON")


def to_json(document: Any) -> str:
    """The JSON text of ``document`` (dates and paths as strings)."""
    return json.dumps(document, indent=2, default=_default, ensure_ascii=False)


def emit(document: Any, as_json: bool, render: Callable[[], None]) -> None:
    """Print ``document`` as JSON, or call ``render`` for people."""
    if as_json:
        from shipyard.cli.state import options

        sys.stdout.write(to_json(document) + "\n")
        options.emitted = True
    else:
        render()


def note(message: str) -> None:
    """A progress or status line for people, on stderr (never mixed into JSON)."""
    stderr.print(message)


JsonFlag = Annotated[
    bool, typer.Option("--json", help="Print exactly one JSON document on stdout.")
]
