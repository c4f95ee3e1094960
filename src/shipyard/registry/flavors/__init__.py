"""Save and load trained models in safe formats ("flavors") for the model registry.

=============  ===============================================  ==============  =====
flavor         models                                           file            safe
=============  ===============================================  ==============  =====
lightgbm       ``lightgbm.Booster``, ``LGBMClassifier``, ...    ``model.txt``   yes
xgboost        ``xgboost.Booster``, ``XGBClassifier``, ...      ``model.ubj``   yes
onnx           ``onnx.ModelProto`` or its bytes                 ``model.onnx``  yes
sklearn        scikit-learn estimators and pipelines (skops)    ``model.skops`` yes
cloudpickle    anything else with ``predict``, only if trusted  ``model.pkl``   no
=============  ===============================================  ==============  =====

A model that no safe flavor can keep (a pipeline calling a function of the user's,
a class of the user's) is refused unless ``trust=True``, which stores it with
cloudpickle; such a model then loads only with ``trust=True`` too. Loading takes the
files' bytes, already verified by the registry, and imports a model library only for
its own flavor.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ValidationError
from shipyard.registry.flavors import cloudpickle, lightgbm, onnx, sklearn, xgboost
from shipyard.registry.flavors._base import NotSafe, SavedLike, SavedModel, type_name

__all__ = ["FLAVORS", "SavedLike", "SavedModel", "detect_flavor", "load_model", "save_model"]

FLAVORS = ("sklearn", "lightgbm", "xgboost", "onnx", "cloudpickle")
# The safe flavors, in the order detect_flavor tries them (LightGBM's and XGBoost's
# estimators are scikit-learn estimators too).
_SAFE: dict[str, tuple[Callable[[Any], bool], Callable[[Any, Path], SavedModel]]] = {
    "lightgbm": (lightgbm.matches, lightgbm.save),
    "xgboost": (xgboost.matches, xgboost.save),
    "onnx": (onnx.matches, onnx.save),
    "sklearn": (sklearn.matches, sklearn.save),
}
_LOADERS: dict[str, Callable[[Mapping[str, bytes], Mapping[str, Any], bool], Any]] = {
    "lightgbm": lightgbm.load,
    "xgboost": xgboost.load,
    "onnx": onnx.load,
    "sklearn": sklearn.load,
    "cloudpickle": cloudpickle.load,
}


def detect_flavor(model: Any) -> str | None:
    """The safe flavor for ``model``, or None when there is none."""
    for flavor, (matches, _) in _SAFE.items():
        if matches(model):
            return flavor
    return None


def save_model(model: Any, folder: Path, *, trust: bool = False) -> SavedModel:
    """Write ``model`` into ``folder`` in its flavor and say how it was saved.

    Without a safe flavor the model is refused, unless ``trust=True`` stores it with
    cloudpickle. Raises :class:`ValidationError` for an object that is not a model.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    flavor = detect_flavor(model)
    modules: tuple[str, ...] = ()
    if flavor is None:
        cloudpickle.check_predicts(model)
        reason = f"{type_name(model)} has no safe format"
    else:
        try:
            return _SAFE[flavor][1](model, folder)
        except NotSafe as exc:
            reason, modules = str(exc), exc.modules
    if not trust:
        raise ValidationError(
            f"{reason}, so it cannot be saved safely; trust=True stores it with cloudpickle "
            "(loadable only with trust=True)"
        )
    return cloudpickle.save(model, folder, reason, modules)


def load_model(files: Mapping[str, bytes], saved: SavedLike, *, trust: bool = False) -> Any:
    """Rebuild a model from the bytes of its files (``{name: bytes}``) and its record.

    ``trust=True`` is needed for models saved unsafely (cloudpickle).
    """
    loader = _LOADERS.get(saved.flavor)
    if loader is None:
        raise ValidationError(f"unknown model flavor {saved.flavor!r}; known: {', '.join(FLAVORS)}")
    return loader(files, saved.details, trust)
