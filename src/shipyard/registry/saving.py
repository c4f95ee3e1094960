"""Packing a live model for the registry: signature, safe format, and a round-trip check.

The model must predict on the example; it is saved in its safest format; the saved
bytes are loaded back and must predict what the live object predicted. Only a model
that passes all three is handed on to be stored (locally, or uploaded to a server).
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ValidationError

if TYPE_CHECKING:
    from shipyard.registry.flavors import SavedModel
    from shipyard.registry.signature import Signature


EXAMPLE_FILE = "example.json"


@dataclass(frozen=True)
class PackedModel:
    """A model saved into ``folder`` (temporary) with its format and signature; ``files``
    are the saved files plus the example rows (``example.json``)."""

    saved: SavedModel
    signature: Signature
    folder: Path
    files: tuple[str, ...]


@contextmanager
def packed(
    model: Any, example: Any, *, trust: bool = False, nullable: set[str] | None = None
) -> Iterator[PackedModel]:
    """Save ``model`` into a temporary folder, checked; the folder goes away on exit.

    ``nullable`` names columns where missing values are allowed (for example those the
    training data has gaps in), whatever the example shows.
    """
    from shipyard.registry.flavors import load_model, save_model
    from shipyard.registry.signature import allow_missing, infer_signature

    predictions = predict_example(model, example)
    signature = infer_signature(example, predictions, getattr(model, "classes_", None))
    signature = allow_missing(signature, nullable or set())
    with tempfile.TemporaryDirectory(prefix="shipyard-model-") as name:
        folder = Path(name)
        saved = save_model(model, folder, trust=trust)
        files = {rel: (folder / rel).read_bytes() for rel in saved.files}
        reloaded = load_model(files, saved, trust=True)  # our own bytes, just written
        check_round_trip(reloaded, saved.flavor, example, predictions)
        saved = _with_twin(saved, model, signature, example, folder)
        (folder / EXAMPLE_FILE).write_bytes(_example_bytes(signature, example))
        yield PackedModel(saved, signature, folder, (*saved.files, EXAMPLE_FILE))


def _with_twin(
    saved: SavedModel,
    model: Any,
    signature: Signature,
    example: Any,
    folder: Path,
) -> SavedModel:
    """``saved`` plus the compiled twin of a scikit-learn model, when one can be trusted
    (see :mod:`shipyard.registry.twin`)."""
    if saved.flavor != "sklearn":
        return saved
    from shipyard.registry.twin import TARGET_OPSET, TWIN_FILE, compile_twin

    def reference(values: Any) -> tuple[Any, Any]:
        rows = _frame_like(example, values)
        proba = getattr(model, "predict_proba", None)
        return model.predict(rows), None if proba is None else proba(rows)

    data = compile_twin(model, signature.numeric_values(example), reference)
    if data is None:
        return saved
    (folder / TWIN_FILE).write_bytes(data)
    from shipyard.registry.flavors._base import versions

    twin = {"format": "onnx", "file": TWIN_FILE, "opset": TARGET_OPSET}
    return replace(
        saved,
        files=(*saved.files, TWIN_FILE),
        details={**saved.details, "twin": twin},
        packages={**saved.packages, **versions(onnxruntime="onnxruntime", skl2onnx="skl2onnx")},
    )


def _frame_like(example: Any, values: Any) -> Any:
    """``values`` (rows of numbers) as a DataFrame with the columns and dtypes of
    ``example``."""
    import pandas as pd

    frame = pd.DataFrame(values, columns=example.columns)
    return frame.astype(example.dtypes.to_dict())


def _example_bytes(signature: Signature, example: Any) -> bytes:
    return signature.example_to_json(example[:5] if hasattr(example, "__getitem__") else example)


def predict_example(model: Any, example: Any) -> Any:
    """The model's predictions on ``example``; ValidationError when it cannot predict."""
    if not callable(getattr(model, "predict", None)):
        raise ValidationError(
            f"a model must have a predict method; {type(model).__name__} has none"
        )
    if example is None:
        raise ValidationError(
            "log_model needs example=: a few input rows (a DataFrame or a 2-D array); the "
            "signature is inferred from them and the model is checked on them"
        )
    try:
        return model.predict(example)
    except Exception as exc:  # any failure of user code on the example refuses the model
        raise ValidationError(
            f"the model's predict fails on the example ({type(exc).__name__}: {exc}); "
            "nothing was logged"
        ) from exc


def check_round_trip(reloaded: Any, flavor: str, example: Any, expected: Any) -> None:
    """ValidationError unless the reloaded model predicts ``expected`` on ``example``."""
    import numpy as np

    got = np.asarray(reloaded.predict(example))
    want = np.asarray(expected)
    same = got.shape == want.shape and (
        np.array_equal(got, want)
        or (got.dtype.kind in "fc" and np.allclose(got, want, rtol=1e-6, atol=1e-9, equal_nan=True))
    )
    if not same:
        raise ValidationError(
            f"the saved {flavor} model predicts differently from the live object on the "
            "example; nothing was logged"
        )
