"""An active run: the object ``ws.start_run()`` returns, with the logging methods.

``log_metric`` validates and buffers (microseconds); params are written at once and are
immutable; the context manager ends the run as finished, or as failed when the block
raises (killed on Ctrl-C), flushing every buffered point first, and re-raises.
"""

from __future__ import annotations

import contextvars
import numbers
import re
import threading
import time
from math import isfinite
from types import TracebackType
from typing import TYPE_CHECKING, Any, Protocol

from shipyard.errors import ValidationError
from shipyard.tracking.buffer import MetricBuffer

if TYPE_CHECKING:
    from collections.abc import Sequence
    from pathlib import Path

    from shipyard.entities import FileEntry, ModelVersion, Run
    from shipyard.tracking.buffer import Point


class RunBackend(Protocol):
    """What an active run writes through: the run service, or a client of a server."""

    def write_params(self, run_id: str, params: dict[str, str]) -> None: ...
    def write_tags(self, run_id: str, tags: dict[str, str]) -> None: ...
    def write_inputs(self, run_id: str, refs: Sequence[Any]) -> None: ...
    def write_metrics(
        self, run_id: str, points: Sequence[Point], batch_id: str | None = None
    ) -> bool: ...
    def write_artifacts(
        self, run_id: str, source: str | Path, artifact_path: str = ""
    ) -> list[FileEntry]: ...
    def log_model(
        self,
        run_id: str,
        model: Any,
        *,
        name: str,
        example: Any,
        trust: bool = False,
        description: str = "",
    ) -> ModelVersion: ...
    def finish(self, run_id: str, status: str) -> None: ...
    def get(self, run_id: str) -> Run: ...


_current: contextvars.ContextVar[ActiveRun | None] = contextvars.ContextVar(
    "shipyard_current_run", default=None
)
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.\-/ ]{1,250}")


class ActiveRun:
    """A run in progress; use it as a context manager."""

    def __init__(self, service: RunBackend, run_id: str) -> None:
        self.id = run_id
        self._service = service
        self._buffer = MetricBuffer(lambda batch, ids: service.write_metrics(run_id, batch, ids))
        self._steps: dict[str, int] = {}
        self._steps_lock = threading.Lock()
        self._ended = False
        self._token: contextvars.Token[ActiveRun | None] | None = None

    def log_param(self, key: str, value: Any) -> None:
        """Set one param (a param never changes once set)."""
        self.log_params({key: value})

    def log_params(self, params: dict[str, Any]) -> None:
        """Set several params in one write."""
        self._service.write_params(self.id, {check_key(k): str(v) for k, v in params.items()})

    def set_tags(self, tags: dict[str, Any]) -> None:
        """Set tags (they may change; the audit trail keeps every value)."""
        self._service.write_tags(self.id, {check_key(k): str(v) for k, v in tags.items()})

    def log_metric(
        self, key: str, value: float, step: int | None = None, timestamp: float | None = None
    ) -> None:
        """Buffer one point; ``step`` defaults to the key's previous step + 1 (from 0)."""
        if key.__class__ is not str or not KEY_PATTERN.fullmatch(key):
            check_key(key)
        if value.__class__ is not float or not isfinite(value):
            value = check_number(key, value)
        with self._steps_lock:
            if step is None:
                step = self._steps.get(key, -1) + 1
            self._steps[key] = step
        self._buffer.add((key, step, value, time.time() if timestamp is None else timestamp))

    def log_metrics(self, metrics: dict[str, float], step: int | None = None) -> None:
        """Buffer several points at one step."""
        for key, value in metrics.items():
            self.log_metric(key, value, step)

    def log_artifact(self, source: str | Path, artifact_path: str = "") -> list[FileEntry]:
        """Store a file or a folder as artifacts of this run (blobs, verified on read)."""
        return self._service.write_artifacts(self.id, source, artifact_path)

    def log_model(
        self,
        model: Any,
        *,
        name: str,
        example: Any,
        trust: bool = False,
        description: str = "",
    ) -> ModelVersion:
        """Register ``model`` as the next version of ``name`` (see ``ws.models``).

        ``example`` (a few input rows) gives the signature and is predicted on before and
        after saving; a model that fails on it is refused. ``trust=True`` allows a format
        that runs code when loaded, for objects no safe format can hold.
        """
        self.flush()
        return self._service.log_model(
            self.id, model, name=name, example=example, trust=trust, description=description
        )

    def add_inputs(self, inputs: list[str]) -> None:
        """Link more dataset versions (refs) to this run."""
        self._service.write_inputs(self.id, inputs)

    def flush(self) -> int:
        """Write buffered points now; returns how many."""
        return self._buffer.flush()

    def end(self, status: str = "finished") -> None:
        """Flush and close the run with ``status`` (finished, failed or killed)."""
        if self._ended:
            return
        try:
            self._buffer.close()
        finally:
            self._ended = True
            self._service.finish(self.id, status)

    def info(self) -> Run:
        """The run as stored now (flushes first)."""
        self.flush()
        return self._service.get(self.id)

    def __enter__(self) -> ActiveRun:
        self._token = _current.set(self)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._token is not None:
            _current.reset(self._token)
            self._token = None
        if exc_type is None:
            self.end("finished")
        else:
            self.end("killed" if issubclass(exc_type, KeyboardInterrupt) else "failed")

    def __repr__(self) -> str:
        return f"ActiveRun({self.id!r})"


def current_run() -> ActiveRun | None:
    """The innermost run entered with ``with ws.start_run(...)`` in this context, if any."""
    return _current.get()


def check_key(key: Any) -> str:
    """A param, metric or tag name: letters, digits, ``_ . - / space``, at most 250."""
    if isinstance(key, str) and KEY_PATTERN.fullmatch(key):
        return key
    raise ValidationError(
        "names of params, metrics and tags must be 1-250 letters, digits, spaces or "
        f"'_ . - /', got {key!r} instead"
    )


def check_number(key: str, value: Any) -> float:
    """A metric value as a float; ValidationError for anything that is not a number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValidationError(
            f"metric {key!r} must be a number, got {value!r} ({type(value).__name__}) instead"
        )
    number = float(value)
    if not isfinite(number):  # SQLite cannot store NaN; infinities do not compare usefully
        raise ValidationError(f"metric {key!r} must be a finite number, got {value!r} instead")
    return number
