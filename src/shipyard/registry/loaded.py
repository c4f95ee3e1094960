"""A model loaded from the registry: predictions on input checked against its signature.

Input is checked against the signature before the model sees it. When the checked
input is all numeric, the model is given the values as one array instead of the
DataFrame (the column names and order are checked already, so the estimator's own
per-call DataFrame handling is repeated work). That shortcut is enabled only after the
model, given the kept example rows both ways, predicts exactly the same; otherwise the
DataFrame is passed through as it came.
"""

from __future__ import annotations

import contextlib
import copy
import sys
import warnings
from typing import Any

import numpy as np

from shipyard.entities import ModelVersion
from shipyard.errors import ValidationError
from shipyard.registry.signature import Signature


class LoadedModel:
    """A registered model ready to predict; ``raw`` is the deserialized object itself."""

    def __init__(
        self,
        version: ModelVersion,
        raw: Any,
        signature: Signature,
        example: bytes | None = None,
    ) -> None:
        self.version = version
        self.raw = raw
        self.signature = signature
        self._check = signature.check
        self._values = signature.numeric_values
        self._predict = raw.predict
        self._proba = getattr(raw, "predict_proba", None)
        self._on_values = _array_twin(raw, signature, example)

    @property
    def ref(self) -> str:
        """``NAME@vN`` of the version this model is."""
        return self.version.ref

    @property
    def classes_(self) -> Any:
        """A classifier's labels, in the column order of ``predict_proba``."""
        classes = getattr(self.raw, "classes_", None)
        return classes if classes is not None else self.signature.classes

    def predict(self, data: Any) -> Any:
        """Predictions for ``data`` (a DataFrame, an array or records), checked first."""
        if self._on_values is not None:
            values = self._values(data)
            if values is not None:
                with _checked_already():
                    return self._on_values.predict(values)
        return self._predict(self._check(data))

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities for ``data``, checked first (classifiers only)."""
        if self._proba is None:
            raise ValidationError(f"{self.ref} does not give probabilities (not a classifier)")
        if self._on_values is not None:
            values = self._values(data)
            if values is not None:
                with _checked_already():
                    return self._on_values.predict_proba(values)
        return self._proba(self._check(data))

    def __repr__(self) -> str:
        return f"LoadedModel({self.ref!r}, flavor={self.version.flavor!r})"


def require_trust(version: ModelVersion, trust: bool) -> None:
    """ValidationError when ``version`` is in a format that runs code and ``trust`` is off."""
    if not version.safe and not trust:
        raise ValidationError(
            f"{version.ref} is stored as {version.flavor}, a format that runs code when it "
            "is loaded; load it with trust=True only if you trust whoever logged it"
        )


def load_files(version: ModelVersion, files: dict[str, bytes], *, trust: bool) -> LoadedModel:
    """The model ``version`` whose saved files (already checked against their digests)
    are ``files``: deserialized in its flavor, wrapped with its signature."""
    from shipyard.registry.flavors import SavedModel, load_model
    from shipyard.registry.saving import EXAMPLE_FILE

    require_trust(version, trust)
    saved = SavedModel(
        flavor=version.flavor,
        files=tuple(files),
        safe=version.safe,
        details=version.details,
        packages=version.packages,
    )
    raw = load_model(files, saved, trust=trust)
    return LoadedModel(
        version, raw, Signature.from_dict(version.signature), files.get(EXAMPLE_FILE)
    )


def _array_twin(raw: Any, signature: Signature, example: bytes | None) -> Any:
    """A shallow copy of ``raw`` that takes plain arrays, if it provably predicts the same
    on the example rows as ``raw`` on the DataFrame; None otherwise."""
    if example is None or signature.input_kind != "dataframe":
        return None
    try:
        frame = signature.example_from_json(example)
        values = signature.numeric_values(frame)
        if values is None:
            return None
        twin = copy.copy(raw)
        if "feature_names_in_" in vars(twin):
            del twin.feature_names_in_  # names are checked by the signature instead
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            if not _same(twin.predict(values), raw.predict(frame)):
                return None
            if hasattr(raw, "predict_proba") and not _same(
                twin.predict_proba(values), raw.predict_proba(frame)
            ):
                return None
    except Exception:  # any doubt means no shortcut: the DataFrame path always works
        return None
    return twin


def _checked_already() -> contextlib.AbstractContextManager[Any]:
    """Tell scikit-learn not to scan the values for NaN and infinity again (the signature
    check just did); nothing to tell other libraries."""
    sklearn = sys.modules.get("sklearn")
    if sklearn is None:
        return contextlib.nullcontext()
    return sklearn.config_context(assume_finite=True)  # type: ignore[no-any-return]


def _same(left: Any, right: Any) -> bool:
    return bool(np.array_equal(np.asarray(left), np.asarray(right)))
