"""``shipyard.autolog()``: record scikit-learn training without changing the training code.

The ``fit`` of every classifier, regressor and clusterer (and of pipelines and
hyper-parameter searches) is wrapped; transformers fitted on their own are not runs.
Inside ``with ws.start_run(...)`` a fit logs into that run; outside one, it gets a run
of its own in the experiment ``autolog`` (of the workspace ``sy.connect()`` finds). A
fit records the estimator's parameters, its score on the training data
(``training_score``), its class, and, when the training data came from ``ws.data.load``
(directly or as a selection of it), the dataset version as the run's input, and the
fitted model itself as a registry version (named ``model_name``, or after its class),
with the first rows of the training data as its example. Fits nested in another fit (a
pipeline's steps) are not logged twice.
"""

from __future__ import annotations

import contextlib
import functools
import threading
from collections.abc import Callable
from typing import Any

from shipyard.errors import Conflict, ShipyardError
from shipyard.tracking.active import ActiveRun, current_run

DEFAULT_EXPERIMENT = "autolog"
_state = threading.local()
_patched: dict[type, Callable[..., Any]] = {}
_settings: dict[str, Any] = {"log_models": True, "model_name": None}


def autolog(
    *,
    disable: bool = False,
    experiment: str = DEFAULT_EXPERIMENT,
    log_models: bool = True,
    model_name: str | None = None,
) -> None:
    """Start (or with ``disable=True`` stop) recording scikit-learn fits.

    With ``log_models`` each fitted model is registered (as ``model_name``, default the
    estimator's class name); a model no safe format can hold is not registered and the
    run gets the reason as its ``shipyard.autolog.model`` tag instead.
    """
    _settings.update(log_models=log_models, model_name=model_name)
    if disable:
        for cls, original in _patched.items():
            cls.fit = original  # type: ignore[attr-defined]
        _patched.clear()
        return
    from sklearn.model_selection import GridSearchCV, RandomizedSearchCV
    from sklearn.pipeline import Pipeline
    from sklearn.utils import all_estimators

    models = [cls for _, cls in all_estimators(type_filter=["classifier", "regressor", "cluster"])]
    for cls in (*models, Pipeline, GridSearchCV, RandomizedSearchCV):
        fit = cls.__dict__.get("fit")
        if fit is not None and cls not in _patched:
            _patched[cls] = fit
            cls.fit = _wrap(fit, experiment)


def _wrap(fit: Callable[..., Any], experiment: str) -> Callable[..., Any]:
    @functools.wraps(fit)
    def fit_and_log(estimator: Any, *args: Any, **kwargs: Any) -> Any:
        if getattr(_state, "depth", 0):
            return fit(estimator, *args, **kwargs)
        _state.depth = 1
        try:
            return _fit_in_run(fit, experiment, estimator, args, kwargs)
        finally:
            _state.depth = 0

    return fit_and_log


def _fit_in_run(
    fit: Callable[..., Any],
    experiment: str,
    estimator: Any,
    args: tuple[Any, ...],
    kwargs: dict[str, Any],
) -> Any:
    X = args[0] if args else kwargs.get("X")
    y = args[1] if len(args) > 1 else kwargs.get("y")
    run = current_run()
    if run is not None:
        fitted = fit(estimator, *args, **kwargs)
        _record(run, estimator, X, y)
        return fitted
    from shipyard.workspace import connect

    with connect() as ws, ws.start_run(experiment, name=type(estimator).__name__) as own:
        fitted = fit(estimator, *args, **kwargs)
        _record(own, estimator, X, y)
    return fitted


def _record(run: ActiveRun, estimator: Any, X: Any, y: Any) -> None:
    from shipyard.data.service import DATASET_ATTR

    name = type(estimator).__name__
    params = {k: _text(v) for k, v in estimator.get_params(deep=False).items()}
    try:
        run.log_params({**params, "estimator": name})
    except Conflict:  # a second estimator in the same run: keep both, apart
        with contextlib.suppress(Conflict):
            run.log_params({f"{name}.{k}": v for k, v in params.items()})
    source = getattr(X, "attrs", {}).get(DATASET_ATTR)
    if source:
        run.add_inputs([source])
    if y is not None and hasattr(estimator, "score"):
        with contextlib.suppress(TypeError, ValueError):  # some cannot score their data
            run.log_metric("training_score", float(estimator.score(X, y)))
    if _settings["log_models"] and X is not None:
        _log_model(run, estimator, X, name)


def _log_model(run: ActiveRun, estimator: Any, X: Any, name: str) -> None:
    """Register the fitted estimator; a refusal becomes a tag, never a failed fit."""
    example = X.iloc[:5] if hasattr(X, "iloc") else X[:5]
    try:
        version = run.log_model(estimator, name=_settings["model_name"] or name, example=example)
    except ShipyardError as exc:
        run.set_tags({"shipyard.autolog.model": f"not registered: {exc.message}"[:500]})
    else:
        run.set_tags({"shipyard.autolog.model": version.ref})


def _text(value: Any) -> str:
    text = repr(value) if not isinstance(value, str | int | float | bool | None) else str(value)
    return text if len(text) <= 500 else text[:497] + "..."
