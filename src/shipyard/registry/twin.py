"""A compiled twin of a scikit-learn model: the same function as an ONNX graph.

Loading a scikit-learn model means importing scikit-learn (over a second here), which
dominates a fresh process's start, as when a server scales out. When a sklearn model
is logged, it is also converted (skl2onnx) to an ONNX graph computing in double
precision, its *twin*, kept only if, run by onnxruntime on the example rows and on
rows mixed from them, it predicts exactly what the model predicts and gives the same
probabilities to ``PROBA_TOLERANCE``. Anything else
(a non-numeric input, a converter that is missing or fails, a graph that computes in
single precision as tree ensembles do, any disagreement) means no twin, and nothing
changes. The twin is stored with the version as ``twin.onnx``, checked against its
digest like every file, and predicts for the loaded model without importing
scikit-learn; the estimator itself is still deserialized on first use of ``raw``.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import Any

import numpy as np

TWIN_FILE = "twin.onnx"
PROBA_TOLERANCE = 1e-9  # relative; double-precision graphs agree to ~1e-15
TARGET_OPSET = {"": 17, "ai.onnx.ml": 3}  # what the pinned onnxruntime runs
PROOF_ROWS = 512


class Twin:
    """An onnxruntime session answering ``predict`` (and ``predict_proba``) on arrays."""

    def __init__(self, session: Any) -> None:
        self._run = session.run
        self._input = session.get_inputs()[0].name
        outputs = [output.name for output in session.get_outputs()]
        self._label = outputs[0]
        self._proba = outputs[1] if len(outputs) > 1 else None

    @property
    def has_proba(self) -> bool:
        """Whether the graph gives class probabilities."""
        return self._proba is not None

    def predict(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Predictions for a 2-D array of the signature's columns."""
        out: np.ndarray[Any, Any] = self._run([self._label], {self._input: _doubles(values)})[0]
        return out.ravel() if out.ndim == 2 and out.shape[1] == 1 else out

    def predict_proba(self, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        """Class probabilities for a 2-D array of the signature's columns."""
        if self._proba is None:
            raise AttributeError("this twin gives no probabilities")
        out: np.ndarray[Any, Any] = self._run([self._proba], {self._input: _doubles(values)})[0]
        return out


Reference = Callable[[np.ndarray[Any, Any]], tuple[Any, Any]]


def compile_twin(
    model: Any, values: np.ndarray[Any, Any] | None, reference: Reference
) -> bytes | None:
    """The serialized twin of ``model``, or None when there is none to trust.

    ``values`` are the example rows as one numeric array (None when they are not all
    numeric); ``reference`` gives what the model itself predicts on rows like them:
    (predictions, probabilities or None). The twin must agree on the example rows and on
    ``PROOF_ROWS`` rows mixed from their values column by column.
    """
    if values is None or len(values) == 0:
        return None
    try:
        from skl2onnx import to_onnx
    except ImportError:  # a trimmed install without skl2onnx: no twin
        return None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            options = {"zipmap": False} if hasattr(model, "predict_proba") else None
            graph = to_onnx(model, _doubles(values[:1]), options=options, target_opset=TARGET_OPSET)
            data: bytes = graph.SerializeToString()
            twin = load_twin(data)
            for rows in (values, _mixed_rows(values)):
                if twin is None or not _agrees(twin, rows, *reference(rows)):
                    return None
    except Exception:  # no converter for this estimator, or a graph onnxruntime refuses
        return None
    return data


def load_twin(data: bytes) -> Twin | None:
    """The twin serialized as ``data``, or None when onnxruntime is not installed."""
    try:
        import onnxruntime
    except ImportError:
        return None
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    session = onnxruntime.InferenceSession(
        data, sess_options=options, providers=["CPUExecutionProvider"]
    )
    return Twin(session)


def _agrees(twin: Twin, values: np.ndarray[Any, Any], predictions: Any, probabilities: Any) -> bool:
    expected = np.asarray(predictions)
    got = twin.predict(values)
    if got.shape != expected.shape or not _same(got, expected):
        return False
    if probabilities is None:
        return True
    if not twin.has_proba:
        return False
    proba = np.asarray(probabilities, dtype=np.float64)
    twin_proba = twin.predict_proba(values)
    return twin_proba.shape == proba.shape and bool(
        np.allclose(twin_proba, proba, rtol=PROBA_TOLERANCE, atol=PROBA_TOLERANCE * 1e-3)
    )


def _mixed_rows(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """``PROOF_ROWS`` rows whose every column takes a value seen in that column of
    ``values`` (drawn with a fixed seed): inputs between the examples, within their range."""
    rng = np.random.default_rng(0)
    picks = rng.integers(0, len(values), size=(PROOF_ROWS, values.shape[1]))
    return np.take_along_axis(values, picks, axis=0)


def _same(got: np.ndarray[Any, Any], expected: np.ndarray[Any, Any]) -> bool:
    """Labels exactly; a regressor's numbers to ``PROBA_TOLERANCE`` (the graph sums in
    another order than scikit-learn)."""
    if expected.dtype.kind == "f" and got.dtype.kind == "f":
        return bool(np.allclose(got, expected, rtol=PROBA_TOLERANCE, atol=PROBA_TOLERANCE * 1e-3))
    return bool(np.array_equal(got, expected))


def _doubles(values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    return np.ascontiguousarray(values, dtype=np.float64)
