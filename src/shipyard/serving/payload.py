"""Request bodies to DataFrames, predictions to JSON: the shapes ``shipyard serve`` speaks.

- ``POST /predict``: ``{"inputs": [{"col": value, ...}, ...]}`` (records) or
  ``{"inputs": {"columns": [...], "data": [[...], ...]}}`` (split);
- ``POST /v2/models/NAME/infer`` (Open Inference Protocol v2): ``{"inputs": [{"name",
  "shape", "datatype", "data"}, ...]}``, one tensor per column.

A body of the wrong shape is a :class:`BadRequest` (422), malformed JSON a 400; what
the columns hold is the model signature's business.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

# numpy dtype kind -> Open Inference Protocol datatype
V2_DATATYPES = {"f": "FP64", "i": "INT64", "u": "UINT64", "b": "BOOL", "O": "BYTES", "U": "BYTES"}


class BadRequest(Exception):
    """A request the server refuses before the model sees it."""

    def __init__(
        self, status: int, code: str, message: str, details: list[Any] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message
        self.details = details or []


def parse_json(body: bytes) -> Any:
    """The JSON document of ``body``; 400 when it is not JSON."""
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest(400, "malformed_json", f"the body is not valid JSON: {exc}") from exc
    except RecursionError as exc:  # thousands of nested brackets
        raise BadRequest(400, "malformed_json", "the body nests too deeply") from exc


def _shape_error(message: str) -> BadRequest:
    return BadRequest(422, "validation_error", message)


def predict_frame(document: Any) -> pd.DataFrame:
    """The rows of a ``/predict`` body, as records or split."""
    import pandas as pd

    if not isinstance(document, dict) or "inputs" not in document:
        raise _shape_error('the body must be an object with "inputs"')
    inputs = document["inputs"]
    if isinstance(inputs, list):
        if not inputs or not all(isinstance(row, dict) for row in inputs):
            raise _shape_error('"inputs" must be a non-empty list of objects (one per row)')
        return pd.DataFrame.from_records(inputs)
    if isinstance(inputs, dict):
        columns, data = inputs.get("columns"), inputs.get("data")
        if not isinstance(columns, list) or not isinstance(data, list) or not data:
            raise _shape_error('split "inputs" needs "columns" and a non-empty "data" list')
        if any(not isinstance(row, list) or len(row) != len(columns) for row in data):
            raise _shape_error(f'every row of "data" must be a list of {len(columns)} values')
        return pd.DataFrame(data, columns=columns)
    raise _shape_error('"inputs" must be a list of records or {"columns", "data"}')


def v2_frame(document: Any) -> pd.DataFrame:
    """The columns of an Open Inference Protocol v2 request, one tensor per column."""
    import pandas as pd

    if not isinstance(document, dict) or not isinstance(document.get("inputs"), list):
        raise _shape_error('the body must be an object with an "inputs" list of tensors')
    columns: dict[str, Any] = {}
    rows = None
    for tensor in document["inputs"]:
        if not isinstance(tensor, dict) or not {"name", "data"} <= tensor.keys():
            raise _shape_error('every input tensor needs "name" and "data"')
        data = tensor["data"]
        if not isinstance(data, list):
            raise _shape_error(f'tensor {tensor["name"]!r}: "data" must be a list')
        flat = np.asarray(data, dtype=object).reshape(-1).tolist() if data else []
        if rows is None:
            rows = len(flat)
        if len(flat) != rows or not flat:
            raise _shape_error("every input tensor must hold one value per row, rows > 0")
        columns[str(tensor["name"])] = flat
    if not columns:
        raise _shape_error('"inputs" holds no tensor')
    return pd.DataFrame(columns).infer_objects()


def to_list(values: Any) -> list[Any]:
    """Model output as plain JSON values (a NaN or an infinity, which JSON cannot
    spell, as null)."""
    array = np.asarray(values)
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        spelled = array.astype(object)
        spelled[~np.isfinite(array)] = None
        return spelled.tolist()  # type: ignore[no-any-return]
    return array.tolist()  # type: ignore[no-any-return]


def v2_output(name: str, values: Any) -> dict[str, Any]:
    """One output tensor of a v2 response."""
    array = np.asarray(values)
    return {
        "name": name,
        "shape": list(array.shape),
        "datatype": V2_DATATYPES.get(array.dtype.kind, "BYTES"),
        "data": to_list(array.reshape(-1)),
    }


def v2_wants(document: dict[str, Any], name: str) -> bool:
    """Whether a v2 request asks for the output ``name`` (no ``outputs``: predictions
    only, as the protocol lets a server choose)."""
    asked = document.get("outputs")
    if not isinstance(asked, list):
        return name == "predictions"
    return any(isinstance(o, dict) and o.get("name") == name for o in asked)
