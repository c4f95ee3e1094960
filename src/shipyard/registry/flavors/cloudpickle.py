"""The ``cloudpickle`` flavor: the unsafe last resort, only ever with ``trust=True``.

Loading a pickle can run any code the file holds, so a model is stored this way only
when its owner asks for it, and loads only when the reader asks for it too.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ValidationError
from shipyard.registry.flavors._base import (
    SavedModel,
    file_bytes,
    one_line,
    type_name,
    versions,
    write,
)

FLAVOR = "cloudpickle"
FILE = "model.pkl"


def check_predicts(model: Any) -> None:
    """Refuse an object without a callable ``predict``: it is not a model."""
    if not callable(getattr(model, "predict", None)):
        raise ValidationError(f"{type_name(model)} has no predict method, so it is not a model")


def save(model: Any, folder: Path, reason: str, modules: tuple[str, ...] = ()) -> SavedModel:
    """Store ``model`` as ``model.pkl``; ``reason`` says why no safe flavor would do.

    ``modules`` are top-level modules beyond the model's own whose packages it needs.
    """
    check_predicts(model)
    import cloudpickle

    try:
        data = cloudpickle.dumps(model)
    except Exception as exc:
        name = type_name(model)
        raise ValidationError(f"cloudpickle cannot store {name}: {one_line(exc)}") from exc
    write(folder, FILE, data)
    details = {
        "format": "cloudpickle",
        "class": type_name(model),
        "python": platform.python_version(),
        "reason": reason,
    }
    return SavedModel(FLAVOR, (FILE,), False, details, _packages(model, modules))


def _packages(model: Any, modules: tuple[str, ...]) -> dict[str, str]:
    """The versions of cloudpickle and of the distributions providing ``model`` and ``modules``."""
    from importlib.metadata import packages_distributions, version

    found = versions(cloudpickle="cloudpickle")
    distributions = packages_distributions()
    for top in (type(model).__module__.partition(".")[0], *modules):
        for distribution in distributions.get(top, []):
            found[distribution] = version(distribution)
    return found


def load(files: Mapping[str, bytes], details: Mapping[str, Any], trust: bool) -> Any:
    """Unpickle the model, only with ``trust=True``."""
    if not trust:
        raise ValidationError(
            "this model is stored with cloudpickle, an unsafe format that can run any code "
            "when loaded: load it with trust=True only if you trust who saved it"
        )
    data = file_bytes(files, FILE, FLAVOR)
    import cloudpickle

    try:
        return cloudpickle.loads(data)
    except Exception as exc:
        raise ValidationError(f"cannot load the cloudpickle model: {one_line(exc)}") from exc
