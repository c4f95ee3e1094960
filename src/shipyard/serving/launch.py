"""Load the model, then run uvicorn: in this process, or in ``workers`` processes.

With several workers uvicorn starts each from an import string, so the settings travel
in environment variables and every worker loads (and verifies) the model itself before
it accepts a request.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from shipyard.serving.app import MAX_BODY_BYTES, MAX_INFLIGHT, ModelServer
from shipyard.serving.logbook import EVERY_ROWS, EVERY_SECONDS, PredictionLog

if TYPE_CHECKING:
    from starlette.applications import Starlette

    from shipyard.registry.loaded import LoadedModel

_ENV = "SHIPYARD_SERVE_"  # + REF, HOME, TRUST, MAX_BODY, MAX_INFLIGHT, LOG... (workers only)


@dataclass(frozen=True)
class ServeOptions:
    """What ``shipyard serve`` was asked for."""

    ref: str
    home: str | None = None
    trust: bool = False
    max_body_bytes: int = MAX_BODY_BYTES
    max_inflight: int = MAX_INFLIGHT
    log_dataset: str | None = None  # write the prediction log as versions of this dataset
    log_every_rows: int = EVERY_ROWS
    log_every_seconds: float = EVERY_SECONDS


def load(options: ServeOptions) -> LoadedModel:
    """The model, every file verified; the workspace is closed again afterwards."""
    from shipyard.workspace import open_local

    with open_local(options.home) as ws:
        return ws.models.load(options.ref, trust=options.trust)


def build_app(model: LoadedModel, options: ServeOptions) -> Starlette:
    """The app serving ``model`` with the limits of ``options``."""
    log = None
    if options.log_dataset:
        log = PredictionLog(
            options.home,
            options.log_dataset,
            every_rows=options.log_every_rows,
            every_seconds=options.log_every_seconds,
        )
    server = ModelServer(
        model,
        max_body_bytes=options.max_body_bytes,
        max_inflight=options.max_inflight,
        log=log,
    )
    return server.app()


def serve(
    options: ServeOptions, model: LoadedModel | None, host: str, port: int, workers: int
) -> None:
    """Serve until interrupted: ``model``, loaded already, in this process; or, with
    several ``workers``, each worker loads ``options.ref`` (give it as ``NAME@vN``)."""
    import uvicorn

    if workers <= 1:
        if model is None:
            model = load(options)
        uvicorn.run(build_app(model, options), host=host, port=port, log_level="warning")
        return
    os.environ.update(
        {
            f"{_ENV}REF": options.ref,
            f"{_ENV}HOME": str(Path(options.home).resolve()) if options.home else "",
            f"{_ENV}TRUST": "1" if options.trust else "",
            f"{_ENV}MAX_BODY": str(options.max_body_bytes),
            f"{_ENV}MAX_INFLIGHT": str(options.max_inflight),
            f"{_ENV}LOG": options.log_dataset or "",
            f"{_ENV}LOG_ROWS": str(options.log_every_rows),
            f"{_ENV}LOG_SECONDS": str(options.log_every_seconds),
        }
    )
    uvicorn.run(
        "shipyard.serving.launch:app_from_env",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level="warning",
    )


def app_from_env() -> Starlette:
    """A worker's app: the settings :func:`serve` left in the environment."""
    options = ServeOptions(
        ref=os.environ[f"{_ENV}REF"],
        home=os.environ.get(f"{_ENV}HOME") or None,
        trust=bool(os.environ.get(f"{_ENV}TRUST")),
        max_body_bytes=int(os.environ.get(f"{_ENV}MAX_BODY", MAX_BODY_BYTES)),
        max_inflight=int(os.environ.get(f"{_ENV}MAX_INFLIGHT", MAX_INFLIGHT)),
        log_dataset=os.environ.get(f"{_ENV}LOG") or None,
        log_every_rows=int(os.environ.get(f"{_ENV}LOG_ROWS", EVERY_ROWS)),
        log_every_seconds=float(os.environ.get(f"{_ENV}LOG_SECONDS", EVERY_SECONDS)),
    )
    return build_app(load(options), options)
