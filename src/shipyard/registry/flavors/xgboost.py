"""The ``xgboost`` flavor: boosters and scikit-learn-API estimators in XGBoost's UBJSON format.

The model loads back as the same XGBoost class it was saved from (a subclass of one
loads as that XGBoost class), with identical predictions.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ValidationError
from shipyard.registry.flavors._base import (
    SavedModel,
    file_bytes,
    one_line,
    require,
    versions,
)

FLAVOR = "xgboost"
FILE = "model.ubj"
CLASSES = frozenset(
    {"Booster", "XGBClassifier", "XGBRegressor", "XGBRanker", "XGBRFClassifier", "XGBRFRegressor"}
)


def matches(model: Any) -> bool:
    """Whether ``model`` is an XGBoost booster or estimator (xgboost is never imported here)."""
    xgb = sys.modules.get("xgboost")
    return xgb is not None and isinstance(model, xgb.Booster | xgb.XGBModel)


def save(model: Any, folder: Path) -> SavedModel:
    """Store ``model`` as ``model.ubj`` with its own ``save_model``."""
    import xgboost as xgb

    name = _xgboost_class(model)
    try:
        booster = model if isinstance(model, xgb.Booster) else model.get_booster()
        model.save_model(str(folder / FILE))
    except Exception as exc:
        raise ValidationError(f"cannot save {type(model).__name__}: {one_line(exc)}") from exc
    config = json.loads(booster.save_config())
    details = {
        "format": "ubjson",
        "estimator": name,
        "objective": config["learner"]["objective"]["name"],
        "feature_names": booster.feature_names,
    }
    packages = versions(xgboost="xgboost", numpy="numpy")
    if name != "Booster":
        packages.update(versions(scikit_learn="sklearn"))
    return SavedModel(FLAVOR, (FILE,), True, details, packages)


def _xgboost_class(model: Any) -> str:
    """The name of the XGBoost class ``model`` is, or derives from."""
    for cls in type(model).__mro__:
        if cls.__module__.startswith("xgboost.") and cls.__name__ in CLASSES:
            return cls.__name__
    raise ValidationError(f"{type(model).__name__} derives from no XGBoost model class")


def load(files: Mapping[str, bytes], details: Mapping[str, Any], trust: bool) -> Any:
    """A new instance of the saved XGBoost class with the stored model loaded into it."""
    xgb = require("xgboost", FLAVOR)
    name = str(details.get("estimator"))
    if name not in CLASSES:
        raise ValidationError(f"unknown XGBoost class {name!r} in the model's details")
    model = getattr(xgb, name)()
    try:
        model.load_model(bytearray(file_bytes(files, FILE, FLAVOR)))
    except Exception as exc:
        raise ValidationError(f"cannot load the xgboost model: {one_line(exc)}") from exc
    return model
