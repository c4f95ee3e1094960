"""The metric buffer: ``log_metric`` appends to memory and returns in microseconds.

Points are written in batches, one transaction each: when the buffer holds
``max_points``, when its oldest point is ``max_age`` seconds old (a background timer),
when the run ends or fails, on ``flush()``, and at interpreter exit. Each batch gets an
id when it is taken from the buffer; a batch that fails to write is kept, with the same
id, and sent first at the next flush. The writer uses the id to apply a batch once even
when an answer was lost and the batch arrives twice, so every point lands exactly once.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
import uuid
import weakref
from collections.abc import Callable

Point = tuple[str, int, float, float]  # key, step, value, timestamp
Writer = Callable[[list[Point], str], object]  # (points, batch id)

MAX_POINTS = 1000
MAX_AGE_S = 2.0

_live: weakref.WeakSet[MetricBuffer] = weakref.WeakSet()


class MetricBuffer:
    """Collects metric points for one run and hands them to ``write`` in batches."""

    def __init__(
        self, write: Writer, *, max_points: int = MAX_POINTS, max_age: float = MAX_AGE_S
    ) -> None:
        self._write = write
        self._max_points = max_points
        self._max_age = max_age
        self._points: list[Point] = []
        self._failed: tuple[list[Point], str] | None = None  # retried first, same id
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._timer: threading.Timer | None = None
        _live.add(self)

    def add(self, point: Point) -> None:
        """Buffer one point (flushing first when the buffer is full)."""
        with self._lock:
            self._points.append(point)
            full = len(self._points) >= self._max_points
            if not full and self._timer is None and self._max_age > 0:
                self._timer = threading.Timer(self._max_age, self._flush_from_timer)
                self._timer.daemon = True
                self._timer.start()
        if full:
            self.flush()

    def flush(self) -> int:
        """Write every buffered point now; returns how many were written."""
        with self._flush_lock:
            written = 0
            if self._failed is not None:
                written += self._send(*self._failed)
            with self._lock:
                batch, self._points = self._points, []
                self._cancel_timer()
            if batch:
                written += self._send(batch, uuid.uuid4().hex)
            return written

    def _send(self, batch: list[Point], batch_id: str) -> int:
        try:
            self._write(batch, batch_id)
        except BaseException:
            self._failed = (batch, batch_id)  # the same id next time: applied at most once
            raise
        self._failed = None
        return len(batch)

    def pending(self) -> int:
        """How many points wait to be written."""
        with self._lock:
            return len(self._points) + (len(self._failed[0]) if self._failed else 0)

    def close(self) -> None:
        """Flush and stop the timer."""
        self.flush()
        _live.discard(self)

    def _flush_from_timer(self) -> None:
        with self._lock:
            self._timer = None
        with contextlib.suppress(Exception):  # the points stay buffered for the next flush
            self.flush()

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None


@atexit.register
def _flush_all_at_exit() -> None:
    for buffer in list(_live):
        try:
            buffer.flush()
        except Exception:  # at exit there is no one left to tell
            continue
