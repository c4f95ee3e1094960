"""A model loaded from the registry: predictions on input checked against its signature."""

from __future__ import annotations

from typing import Any

from shipyard.entities import ModelVersion
from shipyard.errors import ValidationError
from shipyard.models.signature import Signature


class LoadedModel:
    """A registered model ready to predict; ``raw`` is the deserialized object itself."""

    def __init__(self, version: ModelVersion, raw: Any, signature: Signature) -> None:
        self.version = version
        self.raw = raw
        self.signature = signature
        self._check = signature.check
        self._predict = raw.predict
        self._proba = getattr(raw, "predict_proba", None)

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
        return self._predict(self._check(data))

    def predict_proba(self, data: Any) -> Any:
        """Class probabilities for ``data``, checked first (classifiers only)."""
        if self._proba is None:
            raise ValidationError(f"{self.ref} does not give probabilities (not a classifier)")
        return self._proba(self._check(data))

    def __repr__(self) -> str:
        return f"LoadedModel({self.ref!r}, flavor={self.version.flavor!r})"
