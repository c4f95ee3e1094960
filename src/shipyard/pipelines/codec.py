"""How step outputs become bytes (stored as blobs) and come back.

A DataFrame is stored as Parquet, a numeric array as ``.npy``, plain JSON values as
canonical JSON, anything else with cloudpickle. The stored bytes name the output (their
BLAKE3 digest feeds the cache keys of the steps downstream), so an output that comes out
the same from a re-run step leaves the steps after it cached.

Pickled outputs are read back only from the workspace's own blob store, by the
pipelines that wrote them: a workspace is trusted as its code is.
"""

from __future__ import annotations

import io
import json
from typing import Any


def encode(value: Any) -> tuple[str, bytes]:
    """``value`` as (format, bytes)."""
    kind = type(value).__module__.split(".")[0]
    if kind == "pandas" and type(value).__name__ == "DataFrame":
        encoded = _parquet(value)
        if encoded is not None:
            return "parquet", encoded
    if kind == "numpy" and type(value).__name__ == "ndarray" and value.dtype.kind in "biufcmM":
        import numpy as np

        buffer = io.BytesIO()
        np.save(buffer, value, allow_pickle=False)
        return "npy", buffer.getvalue()
    as_json = _json(value)
    if as_json is not None:
        return "json", as_json
    import cloudpickle

    return "pickle", cloudpickle.dumps(value)


def decode(kind: str, data: bytes) -> Any:
    """The value stored as ``data`` in format ``kind``."""
    if kind == "parquet":
        import pandas as pd

        return pd.read_parquet(io.BytesIO(data))
    if kind == "npy":
        import numpy as np

        return np.load(io.BytesIO(data), allow_pickle=False)
    if kind == "json":
        return json.loads(data)
    if kind == "pickle":
        import pickle

        return pickle.loads(data)  # noqa: S301 - the workspace's own outputs (module docstring)
    raise ValueError(f"unknown output format {kind!r}")


def _parquet(frame: Any) -> bytes | None:
    """Parquet bytes of ``frame`` if it comes back equal (column names that are not
    strings, object columns of mixed types: None, and it is pickled instead)."""
    import pandas as pd

    buffer = io.BytesIO()
    try:
        frame.to_parquet(buffer)
        back = pd.read_parquet(io.BytesIO(buffer.getvalue()))
        pd.testing.assert_frame_equal(back, frame, check_exact=True)
    except Exception:  # noqa: BLE001 - any refusal means "not as Parquet"
        return None
    return buffer.getvalue()


def _json(value: Any) -> bytes | None:
    """Canonical JSON of ``value`` if it is plain JSON that comes back equal, else None."""
    if not isinstance(value, str | int | float | bool | list | dict) and value is not None:
        return None
    try:
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError):
        return None
    return text.encode() if json.loads(text) == value else None
