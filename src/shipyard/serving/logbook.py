"""The prediction log: what a served model was asked and answered, as dataset versions.

The serving path only appends ``(rows, predictions, request id, time)`` to a list under
a lock; a background thread builds the table and writes it as a version of the dataset
``NAME-predictions`` every ``every_rows`` rows or ``every_seconds`` seconds, and once
more when the server stops. Every version is a window of production traffic, stored
like any table (schema, profile, personal data), which is what ``shipyard monitor drift
TRAINING WINDOW`` compares.

A write that fails (a locked database, a store that is down) keeps its rows for the
next attempt; after :data:`MAX_ATTEMPTS` failures in a row they are dropped with an
error in the server's log, so a broken store cannot grow the server's memory without
bound. Nothing the log does ever fails a prediction.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.entities import DatasetVersion

log = logging.getLogger("shipyard.serving")

EVERY_ROWS = 10_000
EVERY_SECONDS = 60.0
MAX_ATTEMPTS = 3
CLOSE_TIMEOUT_S = 300.0
PREDICTION, REQUEST_ID, LOGGED_AT = "prediction", "request_id", "logged_at"

Entry = tuple["pd.DataFrame", np.ndarray[Any, Any], str, float]


class PredictionLog:
    """Buffers predicted rows and writes them as versions of one dataset."""

    def __init__(
        self,
        home: str | None,
        dataset: str,
        *,
        every_rows: int = EVERY_ROWS,
        every_seconds: float = EVERY_SECONDS,
    ) -> None:
        from shipyard.data.refs import check_name

        check_name(dataset)
        self.home = home
        self.dataset = dataset
        self.every_rows = max(1, every_rows)
        self.every_seconds = max(0.1, every_seconds)
        self.versions: list[DatasetVersion] = []
        self._entries: list[Entry] = []
        self._rows = 0
        self._failures = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="shipyard-prediction-log")
        self._thread.daemon = True
        self._thread.start()

    def record(self, frame: pd.DataFrame, predictions: Any, request_id: str) -> None:
        """Keep the rows of one answered request (on the serving path: an append)."""
        entry = (frame, np.asarray(predictions), request_id, time.time())
        with self._lock:
            self._entries.append(entry)
            self._rows += len(frame)
            full = self._rows >= self.every_rows
        if full:
            self._wake.set()

    def close(self) -> None:
        """Write what is left and stop the writer (waits for a write under way)."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=CLOSE_TIMEOUT_S)
        if self._thread.is_alive() or self._rows:
            log.error("the prediction log stopped with %d rows not written", self._rows)

    def _run(self) -> None:
        last = time.monotonic()
        while not self._closed:
            self._wake.wait(timeout=max(0.0, last + self.every_seconds - time.monotonic()))
            self._wake.clear()
            if time.monotonic() - last >= self.every_seconds or self._rows >= self.every_rows:
                self._write()
                last = time.monotonic()
        self._write()  # what was recorded up to close, a write under way included

    def _write(self) -> None:
        with self._lock:
            entries, self._entries = self._entries, []
        if not entries:
            return
        try:
            window = _table(entries)
            newest = datetime.fromtimestamp(entries[-1][3], UTC).isoformat()
            message = f"{len(window)} predictions up to {newest}"
            from shipyard.workspace import open_local

            with open_local(self.home) as ws:
                self.versions.append(ws.data.add(self.dataset, window, message=message))
        except Exception:  # the log must never stop serving
            self._failed(entries)
            return
        self._failures = 0
        with self._lock:
            self._rows -= sum(len(frame) for frame, *_ in entries)

    def _failed(self, entries: list[Entry]) -> None:
        self._failures += 1
        rows = sum(len(frame) for frame, *_ in entries)
        if self._failures >= MAX_ATTEMPTS:
            log.exception("the prediction log could not be written: %d rows dropped", rows)
            self._failures = 0
            with self._lock:
                self._rows -= rows
            return
        log.warning("the prediction log could not be written; %d rows kept for later", rows)
        with self._lock:
            self._entries[:0] = entries  # first in line for the next attempt


def _table(entries: list[Entry]) -> pd.DataFrame:
    """One table of the entries: their rows, then what was answered, under which
    request, when (named ``shipyard_...`` where the input has such a column already)."""
    import pandas as pd

    taken = set(entries[0][0].columns)
    names = {
        k: k if k not in taken else f"shipyard_{k}" for k in (PREDICTION, REQUEST_ID, LOGGED_AT)
    }
    frames = []
    for frame, predictions, request_id, at in entries:
        logged = frame.copy()
        logged[names[PREDICTION]] = predictions.tolist()
        logged[names[REQUEST_ID]] = request_id
        logged[names[LOGGED_AT]] = at
        frames.append(logged)
    window = pd.concat(frames, ignore_index=True)
    window[names[LOGGED_AT]] = pd.to_datetime(window[names[LOGGED_AT]], unit="s", utc=True)
    return window
