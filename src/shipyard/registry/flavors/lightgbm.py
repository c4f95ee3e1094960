"""The ``lightgbm`` flavor: boosters and scikit-learn-API estimators in LightGBM's text format.

A booster loads back as a ``lightgbm.Booster``. An estimator loads back as a
:class:`LightGBMModel` (regressors, rankers) or :class:`LightGBMClassifierModel`,
whose ``predict`` and ``predict_proba`` answer like the estimator's did.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ValidationError
from shipyard.registry.flavors._base import (
    NotSafe,
    SavedModel,
    file_bytes,
    one_line,
    require,
    versions,
    write,
)

FLAVOR = "lightgbm"
FILE = "model.txt"


def matches(model: Any) -> bool:
    """Whether ``model`` is a LightGBM booster or estimator (lightgbm is never imported here)."""
    lgb = sys.modules.get("lightgbm")
    return lgb is not None and isinstance(model, lgb.Booster | lgb.LGBMModel)


def save(model: Any, folder: Path) -> SavedModel:
    """Store ``model`` as ``model.txt`` (the booster's ``model_to_string``)."""
    import lightgbm as lgb

    details: dict[str, Any] = {"format": "lightgbm-text", "estimator": type(model).__name__}
    if isinstance(model, lgb.Booster):
        booster, details["kind"] = model, "booster"
        objective = model.params.get("objective")
    else:
        try:
            booster = model.booster_
        except Exception as exc:
            raise ValidationError(f"cannot save {type(model).__name__}: {one_line(exc)}") from exc
        details["kind"] = "classifier" if isinstance(model, lgb.LGBMClassifier) else "regressor"
        objective = model.objective_
        if details["kind"] == "classifier":
            details.update(_classes(model))
        if hasattr(model, "feature_names_in_"):
            details["feature_names_in"] = [str(name) for name in model.feature_names_in_]
    details["objective"] = "custom" if callable(objective) else objective
    details["feature_names"] = booster.feature_name()
    write(folder, FILE, booster.model_to_string().encode())
    return SavedModel(
        flavor=FLAVOR,
        files=(FILE,),
        safe=True,
        details=details,
        packages=versions(lightgbm="lightgbm", numpy="numpy"),
    )


def _classes(model: Any) -> dict[str, Any]:
    classes = model.classes_
    labels = classes.tolist()
    try:
        json.dumps(labels)
    except TypeError as exc:
        raise NotSafe(f"the class labels of {type(model).__name__} are not plain values") from exc
    return {"classes": labels, "classes_dtype": classes.dtype.str}


def load(files: Mapping[str, bytes], details: Mapping[str, Any], trust: bool) -> Any:
    """The saved booster, or the estimator's predictions around it."""
    lgb = require("lightgbm", FLAVOR)
    text = file_bytes(files, FILE, FLAVOR).decode()
    try:
        booster = lgb.Booster(model_str=text)
    except Exception as exc:
        raise ValidationError(f"cannot load the lightgbm model: {one_line(exc)}") from exc
    kind = details.get("kind")
    if kind == "booster":
        return booster
    if kind == "classifier":
        return LightGBMClassifierModel(booster, details)
    return LightGBMModel(booster, details)


class LightGBMModel:
    """A loaded LightGBM regressor or ranker: ``predict`` is the booster's."""

    def __init__(self, booster: Any, details: Mapping[str, Any]) -> None:
        self.booster = booster
        self.objective = details.get("objective")
        self.n_features_in_ = booster.num_feature()
        if "feature_names_in" in details:
            import numpy as np

            self.feature_names_in_ = np.asarray(details["feature_names_in"], dtype=object)

    def predict(self, X: Any, **kwargs: Any) -> Any:
        """Predictions for ``X``; keyword arguments go to ``Booster.predict``."""
        return self.booster.predict(X, **kwargs)


class LightGBMClassifierModel(LightGBMModel):
    """A loaded LightGBM classifier: labels from ``classes_``, probabilities per class."""

    def __init__(self, booster: Any, details: Mapping[str, Any]) -> None:
        import numpy as np

        super().__init__(booster, details)
        self.classes_ = np.asarray(details["classes"], dtype=np.dtype(details["classes_dtype"]))
        self.n_classes_ = len(self.classes_)

    def predict(self, X: Any, **kwargs: Any) -> Any:
        """The most probable class label of each row (raw scores for a custom objective)."""
        import numpy as np

        proba = self.predict_proba(X, **kwargs)
        if self._raw(kwargs):
            return proba
        return self.classes_[np.argmax(proba, axis=1)]

    def predict_proba(self, X: Any, **kwargs: Any) -> Any:
        """Probabilities, one column per class of ``classes_``."""
        import numpy as np

        result = self.booster.predict(X, **kwargs)
        if self._raw(kwargs) or result.ndim != 1:
            return result
        return np.vstack((1.0 - result, result)).transpose()

    def _raw(self, kwargs: Mapping[str, Any]) -> bool:
        """Whether the booster's output is returned as is, as the estimator would."""
        wanted = ("raw_score", "pred_leaf", "pred_contrib")
        return self.objective == "custom" or any(kwargs.get(key) for key in wanted)
