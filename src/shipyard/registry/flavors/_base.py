"""What every flavor shares: the record of a saved model and small helpers."""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any, Protocol

from shipyard.errors import ConfigError, IntegrityError


@dataclass(frozen=True)
class SavedModel:
    """How a model was saved: its flavor, files, safety, details and package versions."""

    flavor: str
    files: tuple[str, ...]
    safe: bool
    details: dict[str, Any]
    packages: dict[str, str]


class SavedLike(Protocol):
    """Anything that names a flavor and its details, like :class:`SavedModel`."""

    @property
    def flavor(self) -> str: ...

    @property
    def details(self) -> Mapping[str, Any]: ...


class NotSafe(Exception):
    """A model that its flavor cannot store safely; the message says why (internal).

    ``modules`` names the top-level modules of the offending types, whose packages a
    cloudpickle copy of the model needs.
    """

    def __init__(self, message: str, modules: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.modules = modules


def require(module: str, flavor: str) -> ModuleType:
    """Import ``module`` for ``flavor`` or fail with the install hint."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConfigError(
            f"the {flavor} flavor needs the package {module}: pip install 'shipyard[flavors]'"
        ) from exc


def versions(**modules: str) -> dict[str, str]:
    """``{package: version}`` for ``package=module`` pairs whose module is importable."""
    found: dict[str, str] = {}
    for package, module in modules.items():
        try:
            found[package.replace("_", "-")] = str(importlib.import_module(module).__version__)
        except (ImportError, AttributeError):
            continue
    return found


def file_bytes(files: Mapping[str, bytes], name: str, flavor: str) -> bytes:
    """The bytes of ``name`` among the stored files of a ``flavor`` model."""
    try:
        return bytes(files[name])
    except KeyError:
        raise IntegrityError(f"the stored {flavor} model lacks its file {name}") from None


def write(folder: Path, name: str, data: bytes) -> None:
    """Write ``data`` as ``folder/name``."""
    (folder / name).write_bytes(data)


def one_line(exc: BaseException) -> str:
    """The first line of an exception's message, or its class name."""
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__


def type_name(obj: Any) -> str:
    """``module.Class`` of an object, for messages and details."""
    cls = type(obj)
    return f"{cls.__module__}.{cls.__qualname__}"
