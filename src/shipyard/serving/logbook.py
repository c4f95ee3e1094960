"""The prediction log: what a served model was asked and answered, as dataset versions.

Each prediction request's rows are kept in memory with the prediction, the request id
and the time (the hot path only appends to a list); a background thread turns them into
a version of the dataset ``NAME-predictions`` every ``every_rows`` rows or
``every_seconds`` seconds, and once more when the server stops. Every version is a window
of production traffic, stored like any table (schema, profile, personal data), which is
what ``shipyard monitor drift TRAINING WINDOW`` compares.
"""

from __future__ import annotations

import logging
import threading
import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.entities import DatasetVersion

log = logging.getLogger("shipyard.serving")

EVERY_ROWS = 10_000
EVERY_SECONDS = 60.0
PREDICTION, REQUEST_ID, LOGGED_AT = "prediction", "request_id", "logged_at"


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
        self.every_rows = every_rows
        self.every_seconds = every_seconds
        self.versions: list[DatasetVersion] = []
        self._frames: list[pd.DataFrame] = []
        self._rows = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="shipyard-prediction-log")
        self._thread.daemon = True
        self._thread.start()

    def record(self, frame: pd.DataFrame, predictions: Any, request_id: str) -> None:
        """Keep the rows of one answered request (called on the serving path)."""
        logged = frame.copy()
        logged[PREDICTION] = list(predictions)
        logged[REQUEST_ID] = request_id
        logged[LOGGED_AT] = datetime.now(UTC)
        with self._lock:
            self._frames.append(logged)
            self._rows += len(logged)
            full = self._rows >= self.every_rows
        if full:
            self._wake.set()

    def close(self) -> None:
        """Write what is left and stop the writer."""
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=60)

    def _run(self) -> None:
        last = time.monotonic()
        while True:
            self._wake.wait(timeout=max(0.0, last + self.every_seconds - time.monotonic()))
            self._wake.clear()
            due = time.monotonic() - last >= self.every_seconds
            if self._closed or due or self._rows >= self.every_rows:
                self._flush()
                last = time.monotonic()
            if self._closed:
                return

    def _flush(self) -> None:
        with self._lock:
            frames, self._frames, self._rows = self._frames, [], 0
        if not frames:
            return
        import pandas as pd

        from shipyard.workspace import open_local

        window = pd.concat(frames, ignore_index=True)
        message = f"{len(window)} predictions up to {window[LOGGED_AT].max().isoformat()}"
        try:
            with open_local(self.home) as ws:
                self.versions.append(ws.data.add(self.dataset, window, message=message))
        except Exception:  # a log that cannot be written must not stop serving
            log.exception("the prediction log could not be written (%d rows lost)", len(window))
