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
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import numpy as np

from shipyard.entities import ModelVersion
from shipyard.errors import ValidationError
from shipyard.registry.signature import Signature

if TYPE_CHECKING:
    from shipyard.registry.twin import Twin


LARGE_BATCH = 1024  # rows from which the estimator beats the twin (see LoadedModel)
_UNKNOWN = object()  # the array shortcut not worked out yet


class LoadedModel:
    """A registered model ready to predict; ``raw`` is the deserialized object itself.

    With a compiled ``twin`` (:mod:`shipyard.registry.twin`), checked numeric batches
    under ``LARGE_BATCH`` rows are predicted by the twin, and ``raw`` is deserialized
    (by ``load_raw``) only when first needed: for a large batch (scikit-learn's
    BLAS-backed arithmetic is about twice as fast as onnxruntime's double precision
    there), for input the fast check cannot take, or by a caller who asks for it.
    """

    def __init__(
        self,
        version: ModelVersion,
        raw: Any,
        signature: Signature,
        example: bytes | None = None,
        *,
        twin: Twin | None = None,
        load_raw: Callable[[], Any] | None = None,
    ) -> None:
        if raw is None and (twin is None or load_raw is None):
            raise ValueError("LoadedModel needs the model, or a twin and a way to load it")
        self.version = version
        self.signature = signature
        self._raw = raw
        self._load_raw = load_raw
        self._check = signature.check
        self._values = signature.numeric_values
        self._twin = twin
        self._example = example
        self._array: Any = _UNKNOWN if raw is None else _array_twin(raw, signature, example)

    @property
    def raw(self) -> Any:
        """The deserialized model (loaded now if only its twin was so far)."""
        if self._raw is None:
            assert self._load_raw is not None
            self._raw = self._load_raw()
        return self._raw

    def _on_values(self, values: np.ndarray[Any, Any]) -> Any:
        """What predicts these checked values directly: the twin for a small batch, else
        the estimator's array shortcut (None: the checked DataFrame must be used)."""
        if self._twin is not None and len(values) < LARGE_BATCH:
            return self._twin
        if self._array is _UNKNOWN:
            self._array = _array_twin(self.raw, self.signature, self._example)
        return self._array

    @property
    def has_twin(self) -> bool:
        """Whether checked numeric input is predicted by the compiled twin."""
        return self._twin is not None

    @property
    def ref(self) -> str:
        """``NAME@vN`` of the version this model is."""
        return self.version.ref

    @property
    def classes_(self) -> Any:
        """A classifier's labels, in the column order of ``predict_proba``."""
        if self._raw is None and self.signature.classes is not None:
            return np.asarray(self.signature.classes)
        classes = getattr(self.raw, "classes_", None)
        return classes if classes is not None else self.signature.classes

    def predict(self, data: Any) -> Any:
        """Predictions for ``data`` (a DataFrame, an array or records), checked first."""
        values = self._values(data)
        if values is not None and (direct := self._on_values(values)) is not None:
            with _checked_already():
                return direct.predict(values)
        return self.raw.predict(self._check(data))

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities for ``data``, checked first (classifiers only)."""
        if not self._gives_proba():
            raise ValidationError(f"{self.ref} does not give probabilities (not a classifier)")
        values = self._values(data)
        if values is not None and (direct := self._on_values(values)) is not None:
            with _checked_already():
                return direct.predict_proba(values)
        return self.raw.predict_proba(self._check(data))

    @property
    def gives_probabilities(self) -> bool:
        """Whether :meth:`predict_proba` answers (a classifier)."""
        return self._gives_proba()

    def _gives_proba(self) -> bool:
        if self._twin is not None and self._raw is None:
            return self._twin.has_proba
        return callable(getattr(self.raw, "predict_proba", None))

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
    signature = Signature.from_dict(version.signature)
    twin = _twin_of(version, files)
    if twin is not None:
        return LoadedModel(
            version,
            None,
            signature,
            files.get(EXAMPLE_FILE),
            twin=twin,
            load_raw=lambda: load_model(files, saved, trust=trust),
        )
    raw = load_model(files, saved, trust=trust)
    return LoadedModel(version, raw, signature, files.get(EXAMPLE_FILE))


def _twin_of(version: ModelVersion, files: dict[str, bytes]) -> Twin | None:
    """The version's compiled twin, if it has one and onnxruntime is installed."""
    from shipyard.registry.twin import TWIN_FILE, load_twin

    if not version.details.get("twin") or TWIN_FILE not in files:
        return None
    try:
        return load_twin(files[TWIN_FILE])
    except Exception:  # an onnxruntime that cannot run it: the model itself predicts
        return None


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
