"""Find a pipeline by ``MODULE:NAME`` and turn ``-p KEY=VALUE`` texts into its parameters."""

from __future__ import annotations

import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

from shipyard.errors import NotFound, ValidationError
from shipyard.pipelines.graph import Pipeline

_TRUE, _FALSE = {"true", "yes", "1", "on"}, {"false", "no", "0", "off"}


def load_pipeline(target: str) -> Pipeline:
    """The pipeline ``MODULE:NAME`` names: a module importable from the current folder
    (``pipelines.credit:training``) or a file (``flows/credit.py:training``)."""
    module_name, colon, attribute = target.rpartition(":")
    if not colon or not module_name or not attribute:
        raise ValidationError(
            f"expected MODULE:NAME (e.g. pipelines:credit_training), got {target!r}"
        )
    module = _import(module_name)
    found = getattr(module, attribute, None)
    if found is None:
        raise NotFound(f"module {module_name!r} has no {attribute!r}")
    if not isinstance(found, Pipeline):
        raise ValidationError(f"{target!r} is not a pipeline: decorate it with @shipyard.pipeline")
    return found


def _import(name: str) -> ModuleType:
    try:
        if name.endswith(".py") or os.sep in name:
            return _import_file(Path(name))
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(name)
    except (ValidationError, NotFound):
        raise
    except ModuleNotFoundError as exc:
        raise NotFound(f"cannot import {name!r}: {exc}") from exc
    except Exception as exc:  # the module's own code failed: say so in one line
        raise ValidationError(f"importing {name!r} failed: {type(exc).__name__}: {exc}") from exc


def _import_file(path: Path) -> ModuleType:
    if not path.is_file():
        raise NotFound(f"no such file: {str(path)!r}")
    name = _free_module_name(path)
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ValidationError(f"cannot import {str(path)!r} as a Python module")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # steps pickled for a Dask cluster find their module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module


def _free_module_name(path: Path) -> str:
    """The file's stem, unless a module of that name from elsewhere is loaded already
    (a ``json.py`` must not replace the standard library's)."""
    loaded = sys.modules.get(path.stem)
    if loaded is None or getattr(loaded, "__file__", None) == str(path):
        return path.stem
    return f"shipyard_pipeline_{path.stem}"


def parse_params(pipeline: Pipeline, pairs: list[str]) -> dict[str, Any]:
    """``KEY=VALUE`` texts as the pipeline's parameters, each converted to the type of its
    default (or annotation): ``C=0.5`` is a float where ``C: float = 1.0``."""
    known = pipeline.parameters
    params: dict[str, Any] = {}
    for pair in pairs:
        key, equals, text = pair.partition("=")
        if not equals or not key:
            raise ValidationError(f"-p takes KEY=VALUE, got {pair!r}")
        if key not in known:
            names = ", ".join(known) or "none"
            raise ValidationError(f"pipeline {pipeline.name!r} has no parameter {key!r} ({names})")
        params[key] = _convert(key, text, known[key])
    return params


def _convert(key: str, text: str, parameter: inspect.Parameter) -> Any:
    kind = _kind(parameter)
    try:
        if kind == "bool":
            if text.lower() not in _TRUE | _FALSE:
                raise ValueError("expected true or false")
            return text.lower() in _TRUE
        if kind == "int":
            return int(text)
        if kind == "float":
            return float(text)
    except ValueError as exc:
        article = "an" if kind == "int" else "a"
        raise ValidationError(f"parameter {key!r} takes {article} {kind}, got {text!r}") from exc
    if kind == "str":
        return text
    import yaml

    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _kind(parameter: inspect.Parameter) -> str | None:
    """``bool``, ``int``, ``float`` or ``str`` from the default, else the annotation."""
    default = parameter.default
    if default is not inspect.Parameter.empty and default is not None:
        name = type(default).__name__
        return name if name in ("bool", "int", "float", "str") else None
    annotation = parameter.annotation
    name = annotation if isinstance(annotation, str) else getattr(annotation, "__name__", "")
    return name if name in ("bool", "int", "float", "str") else None
