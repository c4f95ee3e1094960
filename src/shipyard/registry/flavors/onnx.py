"""The ``onnx`` flavor: ONNX models (``onnx.ModelProto`` or its bytes) run by onnxruntime.

The model loads back as an :class:`OnnxModel`, or an :class:`OnnxClassifierModel` when
the graph has a probability output. Their ``predict`` takes a pandas DataFrame or a
2-D array: a graph with one input gets the whole table (cast to the input's element
type, float32 by default); a graph with several inputs gets one column per input,
picked by name from a DataFrame or by position from an array.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from shipyard.errors import ConfigError, ValidationError
from shipyard.registry.flavors._base import (
    SavedModel,
    file_bytes,
    one_line,
    require,
    versions,
    write,
)

FLAVOR = "onnx"
FILE = "model.onnx"
ELEMENT_TYPES = {
    "tensor(float)": "float32",
    "tensor(double)": "float64",
    "tensor(int64)": "int64",
    "tensor(int32)": "int32",
    "tensor(bool)": "bool",
    "tensor(string)": "object",
}


def matches(model: Any) -> bool:
    """Whether ``model`` is an ONNX ModelProto, or bytes that onnxruntime can run."""
    if isinstance(model, bytes | bytearray):
        try:
            _session(bytes(model))
        except (ConfigError, ValidationError):
            return False
        return True
    onnx = sys.modules.get("onnx")
    return onnx is not None and isinstance(model, onnx.ModelProto)


def _session(data: bytes) -> Any:
    """An onnxruntime session on the CPU for the serialized model ``data``."""
    ort = require("onnxruntime", FLAVOR)
    try:
        return ort.InferenceSession(data, providers=["CPUExecutionProvider"])
    except Exception as exc:
        raise ValidationError(f"not a runnable ONNX model: {one_line(exc)}") from exc


def save(model: Any, folder: Path) -> SavedModel:
    """Store ``model`` as ``model.onnx`` after checking that onnxruntime can run it."""
    data = bytes(model) if isinstance(model, bytes | bytearray) else model.SerializeToString()
    session = _session(data)
    details = {
        "format": "onnx",
        "inputs": [_describe(arg) for arg in session.get_inputs()],
        "outputs": [_describe(arg) for arg in session.get_outputs()],
        "probability_output": _probability_output(session),
    }
    write(folder, FILE, data)
    packages = versions(onnxruntime="onnxruntime", numpy="numpy")
    if "onnx" in sys.modules:
        packages.update(versions(onnx="onnx"))
    return SavedModel(FLAVOR, (FILE,), True, details, packages)


def _describe(arg: Any) -> dict[str, Any]:
    return {"name": arg.name, "type": arg.type, "shape": list(arg.shape)}


def _probability_output(session: Any) -> str | None:
    """The output holding class probabilities: a map per row, or one named ``*prob*``."""
    for arg in session.get_outputs()[1:]:
        if arg.type.startswith("seq(map(") or "prob" in arg.name.lower():
            return str(arg.name)
    return None


def load(files: Mapping[str, bytes], details: Mapping[str, Any], trust: bool) -> Any:
    """An :class:`OnnxModel` (or :class:`OnnxClassifierModel`) over a new session."""
    session = _session(file_bytes(files, FILE, FLAVOR))
    probability = _probability_output(session)
    if probability is not None:
        return OnnxClassifierModel(session, probability)
    return OnnxModel(session)


class OnnxModel:
    """A loaded ONNX model: ``predict`` returns the graph's first output."""

    def __init__(self, session: Any) -> None:
        self.session = session
        self.input_names = [arg.name for arg in session.get_inputs()]
        self.output_names = [arg.name for arg in session.get_outputs()]

    def predict(self, X: Any) -> Any:
        """The first output for ``X``, flattened when it has a single column."""
        (result,) = self.session.run(self.output_names[:1], self._feed(X))
        if result.ndim == 2 and result.shape[1] == 1:
            return result.ravel()
        return result

    def _feed(self, X: Any) -> dict[str, Any]:
        """The session's inputs made from a DataFrame or 2-D array."""
        import numpy as np

        inputs = self.session.get_inputs()
        types = [np.dtype(ELEMENT_TYPES.get(arg.type, "float32")) for arg in inputs]
        if len(inputs) == 1:
            table = np.asarray(X, dtype=types[0])
            if table.ndim != 2:
                raise ValidationError(f"the ONNX model needs a 2-D input, not {table.ndim}-D")
            return {inputs[0].name: table}
        if hasattr(X, "columns"):
            missing = [arg.name for arg in inputs if arg.name not in X.columns]
            if missing:
                raise ValidationError(f"the input lacks the columns {', '.join(missing)}")
            columns = [X[arg.name].to_numpy() for arg in inputs]
        else:
            table = np.asarray(X)
            if table.ndim != 2 or table.shape[1] != len(inputs):
                raise ValidationError(f"the ONNX model needs {len(inputs)} columns, one per input")
            columns = [table[:, index] for index in range(len(inputs))]
        return {
            arg.name: np.asarray(column, dtype=kind).reshape(-1, 1)
            for arg, column, kind in zip(inputs, columns, types, strict=True)
        }


class OnnxClassifierModel(OnnxModel):
    """A loaded ONNX classifier: ``predict_proba`` returns one column per class."""

    def __init__(self, session: Any, probability_output: str) -> None:
        super().__init__(session)
        self.probability_output = probability_output

    def predict_proba(self, X: Any) -> Any:
        """Class probabilities for ``X`` as a 2-D float array (maps become columns)."""
        import numpy as np

        (result,) = self.session.run([self.probability_output], self._feed(X))
        if isinstance(result, list):
            keys = sorted(result[0]) if result else []
            return np.asarray([[row[key] for key in keys] for row in result], dtype=np.float32)
        return result
