"""shipyard: the whole machine-learning lifecycle in one package.

``import shipyard as sy; ws = sy.connect()`` opens the nearest workspace. Importing this
package does no I/O and loads nothing heavy: the public names below are imported on
first use, so ``shipyard --help`` and ``import shipyard`` stay fast.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from shipyard._version import __version__

if TYPE_CHECKING:
    from shipyard.errors import ShipyardError
    from shipyard.pipelines import pipeline, step
    from shipyard.tracking.autolog import autolog
    from shipyard.workspace import Workspace, connect, init_workspace

__all__ = [
    "ShipyardError",
    "Workspace",
    "__version__",
    "autolog",
    "connect",
    "init_workspace",
    "pipeline",
    "step",
]

_LAZY = {
    "autolog": "shipyard.tracking.autolog",
    "pipeline": "shipyard.pipelines",
    "step": "shipyard.pipelines",
    "ShipyardError": "shipyard.errors",
    "Workspace": "shipyard.workspace",
    "connect": "shipyard.workspace",
    "init_workspace": "shipyard.workspace",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'shipyard' has no attribute {name!r}")
    return getattr(import_module(module), name)
