"""Options that apply to every command (``--home``, ``--debug``) and the workspace they pick."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shipyard.workspace import Workspace


@dataclass
class GlobalOptions:
    """Set once by the root callback before any command runs."""

    home: str | None = None
    debug: bool = False
    json: bool = False
    emitted: bool = False  # a JSON document went to stdout already


options = GlobalOptions()


def open_workspace() -> Workspace:
    """The workspace named by ``--home``, ``SHIPYARD_HOME`` or the nearest ``.shipyard/``.

    With ``SHIPYARD_SERVER`` set (and no ``--home``), commands act through that server;
    its client offers the same methods for what the server serves.
    """
    from shipyard.workspace import connect

    return connect(options.home)  # type: ignore[return-value]
