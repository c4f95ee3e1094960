"""Options that apply to every command (``--home``, ``--debug``) and the workspace they pick."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
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
    owns_process: bool = False  # run as the `shipyard` program, not called from Python
    # Set by the workspace agent: hands out the workspaces it keeps open (by ``--home``).
    opener: Callable[[str | None], Workspace] | None = None


options = GlobalOptions()


def open_workspace() -> Workspace:
    """The workspace named by ``--home``, ``SHIPYARD_HOME`` or the nearest ``.shipyard/``.

    With ``SHIPYARD_SERVER`` set (and no ``--home``), commands act through that server;
    its client offers the same methods for what the server serves.
    """
    if options.opener is not None:
        return options.opener(options.home)
    with _long_lived(freeze=options.owns_process):  # mostly the import of SQLAlchemy
        from shipyard.workspace import connect

        return connect(options.home)  # type: ignore[return-value]


@contextmanager
def _long_lived(*, freeze: bool) -> Iterator[None]:
    """Hold the collector off while the block builds what lives as long as the process
    (imported modules, a workspace's engine); with ``freeze``, move every object alive
    when it ends to the permanent generation, which no collection walks again.

    Importing SQLAlchemy starts some sixty collections that free nothing, and later
    ones walk its ~30,000 objects again: 10-20 ms of a ``data add``. Freeze only when
    the CLI is the process: garbage in reference cycles alive at that moment (a
    caller's, say) would never be collected.
    """
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if freeze:
            gc.freeze()
        if enabled:
            gc.enable()
