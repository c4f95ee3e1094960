"""Where step calls run: in this process, one after another, or on a Dask cluster.

An executor gets a batch of calls whose inputs are all known (the steps of one wave of
the graph) and returns, for each, what it returned or why it failed after its retries.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from shipyard.errors import ValidationError

EXECUTORS = ("local", "dask")


@dataclass(frozen=True)
class Call:
    """One step call with its arguments materialized."""

    name: str
    fn: Callable[..., Any]
    args: tuple[Any, ...]
    kwargs: dict[str, Any]
    retries: int


@dataclass(frozen=True)
class Outcome:
    """What one call gave: its value, or the error of its last attempt."""

    value: Any
    error: str | None  # "TypeError: ..." when every attempt failed
    attempts: int
    seconds: float


def attempt(call: Call) -> Outcome:
    """Run ``call``, trying again up to ``call.retries`` times if it raises."""
    started = time.perf_counter()
    error = None
    for number in range(1, call.retries + 2):
        try:
            value = call.fn(*call.args, **call.kwargs)
        except Exception as exc:  # noqa: BLE001 - a step's failure is reported, not raised
            error = f"{type(exc).__name__}: {exc}"
            continue
        return Outcome(value, None, number, time.perf_counter() - started)
    return Outcome(None, error, call.retries + 1, time.perf_counter() - started)


class Executor(Protocol):
    """Runs a batch of independent step calls."""

    def run(self, calls: Sequence[Call]) -> list[Outcome]:
        """Their outcomes, in order."""

    def close(self) -> None:
        """Release what the executor holds."""


class LocalExecutor:
    """Runs calls one after another in this thread (so a step sees the pipeline's run as
    :func:`shipyard.tracking.active.current_run`)."""

    def run(self, calls: Sequence[Call]) -> list[Outcome]:
        """Each call in turn."""
        return [attempt(call) for call in calls]

    def close(self) -> None:
        """Nothing to release."""


class DaskExecutor:
    """Runs the calls of a wave in parallel on a Dask cluster (``dask.distributed``)."""

    def __init__(self, address: str | None) -> None:
        try:
            from distributed import Client
        except ImportError as exc:
            raise ValidationError(
                "the dask executor needs dask.distributed: pip install 'shipyard[dask]'"
            ) from exc
        try:
            self._client: Any = (
                Client(address, timeout=10)  # type: ignore[no-untyped-call]
                if address
                else Client(processes=False)  # type: ignore[no-untyped-call]
            )
        except OSError as exc:
            raise ValidationError(f"cannot reach the Dask cluster at {address!r}: {exc}") from exc

    def run(self, calls: Sequence[Call]) -> list[Outcome]:
        """Submit every call, then gather them."""
        for call in calls:
            _ship_by_value(call.fn)
        futures = [self._client.submit(attempt, call, pure=False) for call in calls]
        return list(self._client.gather(futures))

    def close(self) -> None:
        """Disconnect (a cluster this executor started is shut down)."""
        self._client.close()


def _ship_by_value(fn: Callable[..., Any]) -> None:
    """Send the module of ``fn`` to the workers with the call when it is the user's own
    (a file beside the project, not an installed package): workers need not import it."""
    import cloudpickle

    module = sys.modules.get(fn.__module__)
    path = getattr(module, "__file__", None) or ""
    if module is not None and path and "site-packages" not in path:
        cloudpickle.register_pickle_by_value(module)


def open_executor(kind: str, cluster: str | None) -> Executor:
    """The executor named ``kind`` (``local`` or ``dask``; ``cluster``: a scheduler address)."""
    if kind == "local":
        if cluster:
            raise ValidationError("--cluster only applies to --executor dask")
        return LocalExecutor()
    if kind == "dask":
        return DaskExecutor(cluster)
    raise ValidationError(f"unknown executor {kind!r}: use one of {', '.join(EXECUTORS)}")
