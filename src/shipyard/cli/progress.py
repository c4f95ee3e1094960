"""A progress bar on stderr that appears only for work that takes more than a second.

Nothing is drawn when stderr is not a terminal (a log file, a pipe, CI): a bar there is
noise, and drawing it would cost time the work needs.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from shipyard.cli.output import stderr

SHOW_AFTER_S = 1.0


class DelayedProgress:
    """Counts files and bytes; draws a rich bar once the work has run for a second."""

    def __init__(self, label: str) -> None:
        self.label = label
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._files = self._bytes = self._total_files = self._total_bytes = 0
        self._bar: Any = None
        self._task: Any = None

    def start(self, files: int, size: int) -> None:
        """Record the work ahead."""
        with self._lock:
            self._total_files, self._total_bytes = files, size

    def advance(self, files: int, size: int) -> None:
        """Count work done; show or refresh the bar."""
        with self._lock:
            self._files += files
            self._bytes += size
            if (
                self._bar is None
                and time.monotonic() - self._started >= SHOW_AFTER_S
                and stderr.is_terminal  # asked last: it builds the console (imports rich)
            ):
                self._show()
            if self._bar is not None:
                self._bar.update(self._task, completed=self._bytes, files=self._files)

    def _show(self) -> None:
        from rich.progress import (
            BarColumn,
            DownloadColumn,
            Progress,
            TextColumn,
            TimeRemainingColumn,
            TransferSpeedColumn,
        )

        self._bar = Progress(
            TextColumn(f"{self.label} [progress.percentage]{{task.fields[files]}} files"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=stderr.console,
            transient=True,
        )
        self._task = self._bar.add_task(self.label, total=self._total_bytes or None, files=0)
        self._bar.start()

    def close(self) -> None:
        """Remove the bar."""
        with self._lock:
            if self._bar is not None:
                self._bar.stop()
                self._bar = None


@contextmanager
def progress_bar(label: str) -> Iterator[DelayedProgress]:
    """A DelayedProgress that is always cleaned up."""
    bar = DelayedProgress(label)
    try:
        yield bar
    finally:
        bar.close()
