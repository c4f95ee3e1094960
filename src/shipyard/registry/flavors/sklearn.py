"""The ``sklearn`` flavor: scikit-learn estimators and pipelines stored with skops.

skops stores an object tree without pickle and, on load, builds only the types it is
told to trust. Saving records the types beyond skops' own defaults; a model is safe
when all of them come from scikit-learn, numpy, scipy, skops or the standard
containers, and none is a known way to run code or touch files.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import IntegrityError, ValidationError
from shipyard.registry.flavors._base import (
    NotSafe,
    SavedModel,
    file_bytes,
    one_line,
    versions,
    write,
)

FLAVOR = "sklearn"
FILE = "model.skops"
WELL_KNOWN_MODULES = frozenset({"sklearn", "numpy", "scipy", "skops", "builtins", "collections"})
# Callables that well-known modules hold but a model has no business calling.
DANGEROUS_NAMES = frozenset(
    {
        "__import__",
        "breakpoint",
        "compile",
        "delattr",
        "eval",
        "exec",
        "fromfile",
        "getattr",
        "globals",
        "input",
        "load",
        "loads",
        "locals",
        "memmap",
        "open",
        "setattr",
        "system",
        "vars",
    }
)


def matches(model: Any) -> bool:
    """Whether ``model`` is a scikit-learn estimator (checked without importing sklearn)."""
    base = sys.modules.get("sklearn.base")
    return base is not None and isinstance(model, base.BaseEstimator)


def unsafe_types(types: list[str]) -> list[str]:
    """The types among ``types`` that a safe load must not build."""
    return [
        name
        for name in types
        if name.partition(".")[0] not in WELL_KNOWN_MODULES
        or name.rpartition(".")[2] in DANGEROUS_NAMES
    ]


def save(model: Any, folder: Path) -> SavedModel:
    """Store ``model`` as ``model.skops``; :class:`NotSafe` when skops cannot keep it safe."""
    import skops.io

    name = type(model).__name__
    try:
        data = skops.io.dumps(model)
    except Exception as exc:
        raise NotSafe(f"skops cannot store {name} ({one_line(exc)})") from exc
    types = sorted(skops.io.get_untrusted_types(data=data))
    foreign = unsafe_types(types)
    if foreign:
        listed = ", ".join(foreign)
        modules = tuple(sorted({type_.partition(".")[0] for type_ in foreign}))
        message = f"{name} uses types outside scikit-learn, numpy and scipy ({listed})"
        raise NotSafe(message, modules)
    write(folder, FILE, data)
    return SavedModel(
        flavor=FLAVOR,
        files=(FILE,),
        safe=True,
        details={"format": "skops", "trusted_types": types},
        packages=versions(scikit_learn="sklearn", skops="skops", numpy="numpy", scipy="scipy"),
    )


def load(files: Mapping[str, bytes], details: Mapping[str, Any], trust: bool) -> Any:
    """Rebuild the estimator, trusting exactly the types recorded when it was saved."""
    types = [str(name) for name in details.get("trusted_types", [])]
    foreign = unsafe_types(types)
    if foreign and not trust:
        raise ValidationError(
            f"this sklearn model needs types that are not safe to load ({', '.join(foreign)}); "
            "load it with trust=True only if you trust who saved it"
        )
    data = file_bytes(files, FILE, FLAVOR)
    import skops.io
    from skops.io.exceptions import UntrustedTypesFoundException

    try:
        return skops.io.loads(data, trusted=types)
    except UntrustedTypesFoundException as exc:
        raise IntegrityError(
            f"the stored sklearn model holds types not recorded when it was saved: {one_line(exc)}"
        ) from exc
    except Exception as exc:
        raise ValidationError(f"cannot load the sklearn model: {one_line(exc)}") from exc
