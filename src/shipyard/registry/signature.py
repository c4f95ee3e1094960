"""Model signatures: what a model takes and gives, inferred from an example, enforced on input.

A signature lists the input columns (name, type family, the example's dtype, whether
missing values are allowed), the output's type and shape, and a classifier's labels.
``Signature.check`` runs before every ``predict``: the common case (the same columns,
the same dtypes, no missing values) costs a few microseconds; anything else is checked
column by column and refused with a message naming the column and what was wrong.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from shipyard.errors import SignatureMismatch, ValidationError

# dtype.kind -> type family; a family accepts the kinds listed in ACCEPTS
_FAMILY = {"f": "float", "i": "integer", "u": "integer", "b": "boolean", "M": "datetime"}
ACCEPTS = {
    "float": frozenset("fiu"),
    "integer": frozenset("iu"),
    "boolean": frozenset("b"),
    "datetime": frozenset("M"),
    "string": frozenset("OUS"),
    "category": frozenset("OUS"),
}


@dataclass(frozen=True)
class ColumnSpec:
    """One input column: its name, type family, the example's dtype, and nullability."""

    name: str
    type: str
    dtype: str
    nullable: bool


@dataclass(frozen=True)
class Signature:
    """The inputs and outputs of a model."""

    columns: tuple[ColumnSpec, ...]
    input_kind: str  # "dataframe" or "array"
    output: dict[str, Any] = field(default_factory=dict)
    classes: list[Any] | None = None

    @cached_property
    def _index(self) -> Any:
        import pandas as pd

        return pd.Index(self.names)

    @cached_property
    def _dtypes(self) -> tuple[np.dtype[Any], ...] | None:
        """The example's dtypes when all are plain numpy ones (the fast path's key)."""
        if all(_is_numpy(c.dtype) for c in self.columns):
            return tuple(np.dtype(c.dtype) for c in self.columns)
        return None

    @cached_property
    def _all_float(self) -> bool:
        """Every column takes any number (any mix of numeric dtypes is valid input)."""
        return all(c.type == "float" for c in self.columns)

    @cached_property
    def _all_required(self) -> bool:
        return not any(c.nullable for c in self.columns)

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape stored with the model version."""
        return {
            "inputs": [asdict(c) for c in self.columns],
            "input_kind": self.input_kind,
            "output": self.output,
            "classes": self.classes,
        }

    def example_to_json(self, example: Any) -> bytes:
        """The example rows as JSON (kept with the version; see :meth:`example_from_json`)."""
        import json

        import pandas as pd

        rows = example.to_numpy() if isinstance(example, pd.DataFrame) else np.asarray(example)
        data = [[_plain(value) for value in row] for row in rows.tolist()]
        return json.dumps({"columns": self.names, "data": data}).encode()

    def example_from_json(self, data: bytes) -> Any:
        """The example rows a version keeps, with the signature's dtypes."""
        import json

        import pandas as pd

        document = json.loads(data)
        if self.input_kind == "array":
            return np.asarray(document["data"], dtype=self.columns[0].dtype)
        frame = pd.DataFrame(document["data"], columns=document["columns"])
        return frame.astype({c.name: c.dtype for c in self.columns})

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> Signature:
        """The signature a stored document describes."""
        return cls(
            columns=tuple(ColumnSpec(**c) for c in document["inputs"]),
            input_kind=document["input_kind"],
            output=dict(document.get("output") or {}),
            classes=document.get("classes"),
        )

    @cached_property
    def names(self) -> list[str]:
        """The input column names, in order."""
        return [c.name for c in self.columns]

    def check(self, data: Any) -> Any:
        """``data`` if it fits the signature (columns reordered when needed), else raise."""
        import pandas as pd

        if isinstance(data, pd.DataFrame):
            return self._check_frame(data)
        if isinstance(data, np.ndarray):
            return self._check_array(data)
        if isinstance(data, dict | list):
            return self._check_frame(_frame_from(data))
        raise SignatureMismatch(
            f"input must be a pandas DataFrame, a numpy array, or records, "
            f"got {type(data).__name__} instead"
        )

    def numeric_values(self, data: Any) -> np.ndarray[Any, Any] | None:
        """The values of ``data`` as one float array when it is a DataFrame with exactly
        the signature's columns and numeric dtypes and holds only finite numbers (the
        common case, checked in a few microseconds); None when it needs the full check."""
        import pandas as pd

        if (
            data.__class__ is not pd.DataFrame
            or self._dtypes is None
            or not data.columns.equals(self._index)
        ):
            return None
        if not self._all_float and tuple(data.dtypes) != self._dtypes:
            return None  # an integer column must be given integers: the full check says so
        values: np.ndarray[Any, Any] = data.to_numpy()  # numeric columns: one float array
        if values.dtype.kind in "iu" or (values.dtype.kind == "f" and all_finite(values)):
            return values
        return None

    def _check_frame(self, frame: Any) -> Any:
        if self.input_kind == "array":
            return self._check_array(frame.to_numpy())
        if not frame.columns.equals(self._index):
            frame = self._align(frame)
        dtypes = tuple(frame.dtypes)
        if dtypes != self._dtypes:
            for spec, dtype in zip(self.columns, dtypes, strict=True):
                _check_type(spec, dtype)
        elif self._all_required:
            values = frame.to_numpy()
            if values.dtype.kind == "f" and all_finite(values):
                return frame
        for spec in self.columns:
            _check_missing(spec, frame[spec.name].to_numpy())
        return frame

    def _align(self, frame: Any) -> Any:
        names = self.names
        have = set(map(str, frame.columns))
        missing = [n for n in names if n not in have]
        extra = [str(c) for c in frame.columns if str(c) not in set(names)]
        if missing:
            raise SignatureMismatch(
                f"input is missing column(s) {', '.join(map(repr, missing[:5]))}",
                details=[{"column": n, "problem": "missing"} for n in missing],
            )
        if extra:
            raise SignatureMismatch(
                f"input has column(s) the model does not take: {', '.join(map(repr, extra[:5]))}",
                details=[{"column": n, "problem": "unexpected"} for n in extra],
            )
        return frame[names]

    def _check_array(self, array: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        if array.ndim != 2 or array.shape[1] != len(self.columns):
            raise SignatureMismatch(
                f"input must be a 2-D array of {len(self.columns)} columns, "
                f"got shape {tuple(array.shape)}"
            )
        for spec in self.columns:
            _check_type(spec, array.dtype)
        if array.dtype.kind == "f":
            for index, spec in enumerate(self.columns):
                _check_missing(spec, array[:, index])
        return array


def all_finite(values: np.ndarray[Any, Any]) -> bool:
    """True when a float array holds no NaN or infinity.

    One BLAS dot product of the values with themselves: a NaN or an infinity makes it
    non-finite, so a finite result proves the array finite; only if it overflowed (values
    beyond 1e154) does the exact element-wise check run.
    """
    flat = values.ravel(order="K")  # a view for any contiguous array
    with np.errstate(over="ignore", invalid="ignore"):
        if np.isfinite(flat @ flat):
            return True
    return bool(np.isfinite(values).all())


def infer_signature(example: Any, predictions: Any, classes: Any = None) -> Signature:
    """The signature of a model from an input example and its predictions on it."""
    import pandas as pd

    if isinstance(example, pd.DataFrame):
        columns = tuple(_column(str(name), example[name]) for name in example.columns)
        kind = "dataframe"
    elif isinstance(example, np.ndarray) and example.ndim == 2:
        columns = tuple(_column(f"{i}", pd.Series(example[:, i])) for i in range(example.shape[1]))
        kind = "array"
    else:
        raise ValidationError(
            "the example must be a pandas DataFrame or a 2-D numpy array of a few input rows, "
            f"got {type(example).__name__} instead"
        )
    if len(example) == 0:
        raise ValidationError("the example must hold at least one row")
    output = np.asarray(predictions)
    return Signature(
        columns=columns,
        input_kind=kind,
        output={"type": _family(output.dtype), "shape": [None, *output.shape[1:]]},
        classes=None if classes is None else np.asarray(classes).tolist(),
    )


def allow_missing(signature: Signature, columns: set[str]) -> Signature:
    """``signature`` with missing values allowed in ``columns`` (for example, the columns
    the training data itself has gaps in: a few example rows rarely show them)."""
    from dataclasses import replace

    widened = tuple(
        replace(c, nullable=True) if c.name in columns and c.type != "integer" else c
        for c in signature.columns
    )
    return replace(signature, columns=widened)


def _plain(value: Any) -> Any:
    """A JSON-able form of one example value (missing values become null)."""
    if value is None or (isinstance(value, float) and value != value):
        return None
    if isinstance(value, int | float | str | bool):
        return value
    return str(value)


def _column(name: str, series: Any) -> ColumnSpec:
    dtype = series.dtype
    return ColumnSpec(
        name=name, type=_family(dtype), dtype=str(dtype), nullable=bool(series.isna().any())
    )


def _family(dtype: Any) -> str:
    if str(dtype) == "category":
        return "category"
    return _FAMILY.get(getattr(dtype, "kind", "O"), "string")


def _is_numpy(dtype: str) -> bool:
    try:
        return np.dtype(dtype).kind in "fiub"
    except TypeError:
        return False


def _check_type(spec: ColumnSpec, dtype: Any) -> None:
    kind = "O" if str(dtype) in ("category", "string") else getattr(dtype, "kind", "O")
    if kind not in ACCEPTS[spec.type]:
        raise SignatureMismatch(
            f"column {spec.name!r} must be {spec.type} ({spec.dtype}), got {dtype}",
            details=[{"column": spec.name, "problem": "type", "expected": spec.type}],
        )


def _check_missing(spec: ColumnSpec, values: np.ndarray[Any, Any]) -> None:
    if values.dtype.kind == "f":
        if np.isinf(values).any():
            raise SignatureMismatch(
                f"column {spec.name!r} holds infinite values",
                details=[{"column": spec.name, "problem": "infinite"}],
            )
        missing = bool(np.isnan(values).any())
    elif values.dtype.kind == "O" and not spec.nullable:
        import pandas as pd

        missing = bool(pd.isna(values).any())
    else:
        return
    if missing and not spec.nullable:
        raise SignatureMismatch(
            f"column {spec.name!r} holds missing values (NaN/None) and the model's signature "
            "does not allow them",
            details=[{"column": spec.name, "problem": "missing values"}],
        )


def _frame_from(data: dict[str, Any] | list[Any]) -> Any:
    import pandas as pd

    try:
        return pd.DataFrame(data)
    except (ValueError, TypeError) as exc:
        raise SignatureMismatch(f"input records cannot form a table: {exc}") from exc
