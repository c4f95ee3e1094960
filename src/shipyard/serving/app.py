"""The HTTP app of ``shipyard serve``: one loaded model on plain Starlette.

The prediction path does no more than it must: read the body (refused past the size
limit, 413), parse it (400), shape it into a DataFrame (422), let the model's signature
check it (422 naming the column), predict (probabilities only when asked: each is a
call of the model), answer. Small batches are predicted on the event loop (well under
a millisecond with a compiled twin, a few for a scikit-learn pipeline without one);
batches from ``THREAD_ROWS`` rows on a worker thread, so health checks and metrics
keep answering. Past ``max_inflight`` requests at once the server
answers 503 with ``Retry-After`` instead of queueing without bound. Every error body is
``{"error": {"code", "message", "details"}}``; nothing answers with a traceback.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from shipyard.errors import ShipyardError
from shipyard.serving.payload import (
    BadRequest,
    parse_json,
    predict_frame,
    to_list,
    v2_frame,
    v2_output,
    v2_wants,
)
from shipyard.serving.telemetry import Telemetry

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.registry.loaded import LoadedModel
    from shipyard.serving.logbook import PredictionLog

log = logging.getLogger("shipyard.serving")

MAX_BODY_BYTES = 16 << 20
MAX_INFLIGHT = 64
THREAD_ROWS = 1024  # batches from this size are predicted on a worker thread
MAX_ID = 128  # characters of a v2 request's own id (it is logged with every row)

Handler = Callable[[Request], Awaitable[Response]]


def error_response(
    error: BadRequest | ShipyardError, headers: dict[str, str] | None = None
) -> JSONResponse:
    """The JSON error shape, with the status the error carries."""
    if isinstance(error, BadRequest):
        body = {"error": {"code": error.code, "message": error.message, "details": error.details}}
        return JSONResponse(body, status_code=error.status, headers=headers)
    status = error.http_status if error.http_status < 500 else 422
    return JSONResponse(error.to_dict(), status_code=status, headers=headers)


class ModelServer:
    """The routes over one loaded model."""

    def __init__(
        self,
        model: LoadedModel,
        *,
        max_body_bytes: int = MAX_BODY_BYTES,
        max_inflight: int = MAX_INFLIGHT,
        log: PredictionLog | None = None,
    ) -> None:
        self.model = model
        self.log = log
        self.name = model.version.name
        self.max_body_bytes = max_body_bytes
        self.max_inflight = max_inflight
        self.inflight = 0
        self.telemetry = Telemetry(model.ref)
        self._proba = _gives_proba(model)

    def app(self) -> Starlette:
        """The Starlette application."""
        routes = [
            Route("/predict", self._guarded("predict", self.predict), methods=["POST"]),
            Route("/health/live", self.live, methods=["GET"]),
            Route("/health/ready", self.ready, methods=["GET"]),
            Route("/metrics", self.metrics, methods=["GET"]),
            Route("/v2/health/live", self.live, methods=["GET"]),
            Route("/v2/health/ready", self.ready, methods=["GET"]),
            Route("/v2/models/{name}", self.v2_metadata, methods=["GET"]),
            Route(
                "/v2/models/{name}/infer", self._guarded("infer", self.v2_infer), methods=["POST"]
            ),
        ]
        return Starlette(
            routes=routes,
            exception_handlers={404: _not_found, 405: _not_allowed},
            lifespan=self._lifespan,
        )

    @asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        """On shutdown, the prediction log writes what it still holds."""
        yield
        if self.log is not None:
            await run_in_threadpool(self.log.close)

    def _guarded(self, endpoint: str, handler: Handler) -> Handler:
        """``handler`` behind the in-flight limit, timed and counted, errors as JSON."""

        async def guarded(request: Request) -> Response:
            started = time.perf_counter()
            if self.inflight >= self.max_inflight:
                response: Response = error_response(
                    BadRequest(503, "overloaded", "the server is at capacity; retry shortly"),
                    headers={"Retry-After": "1"},
                )
            else:
                self.inflight += 1
                try:
                    response = await handler(request)
                except (BadRequest, ShipyardError) as exc:
                    response = error_response(exc)
                except Exception:  # the last line of defence: logged, never a traceback
                    log.exception("prediction failed")
                    response = error_response(
                        BadRequest(500, "internal", "the model failed on this input")
                    )
                finally:
                    self.inflight -= 1
            self.telemetry.observe(endpoint, response.status_code, time.perf_counter() - started)
            return response

        return guarded

    async def _body(self, request: Request) -> Any:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            raise self._too_large()
        chunks, size = [], 0
        async for chunk in request.stream():
            size += len(chunk)
            if size > self.max_body_bytes:
                raise self._too_large()
            chunks.append(chunk)
        return parse_json(b"".join(chunks))

    def _too_large(self) -> BadRequest:
        limit = self.max_body_bytes
        return BadRequest(413, "too_large", f"the body is over the limit of {limit} bytes")

    async def _predict(
        self,
        frame: pd.DataFrame,
        request_id: str,
        *,
        predictions: bool = True,
        probabilities: bool = False,
    ) -> tuple[Any, Any]:
        if probabilities and not self._proba:
            raise BadRequest(422, "validation_error", f"{self.model.ref} gives no probabilities")
        asked = (frame, request_id, predictions, probabilities)
        if len(frame) >= THREAD_ROWS:
            return await run_in_threadpool(self._predict_now, *asked)
        return self._predict_now(*asked)

    def _predict_now(
        self, frame: pd.DataFrame, request_id: str, predictions: bool, probabilities: bool
    ) -> tuple[Any, Any]:
        labels = self.model.predict(frame) if predictions or self.log else None
        scores = self.model.predict_proba(frame) if probabilities else None
        self.telemetry.rows(len(frame))
        if self.log is not None:
            try:
                self.log.record(frame, labels, request_id)
            except Exception:  # the log never fails a prediction
                log.exception("a prediction could not be logged")
        return (labels if predictions else None), scores

    async def predict(self, request: Request) -> Response:
        """``POST /predict`` (``?probabilities=true``: a classifier's too)."""
        wanted = request.query_params.get("probabilities", "").lower() in ("1", "true", "yes")
        frame = predict_frame(await self._body(request))
        request_id = uuid.uuid4().hex
        predictions, probabilities = await self._predict(frame, request_id, probabilities=wanted)
        document = {
            "predictions": to_list(predictions),
            "model": self.model.ref,
            "request_id": request_id,
        }
        if probabilities is not None:
            document["probabilities"] = to_list(probabilities)
        return JSONResponse(document)

    async def v2_infer(self, request: Request) -> Response:
        """``POST /v2/models/{name}/infer``."""
        self._require_name(request)
        document = await self._body(request)
        frame = v2_frame(document)
        given = document.get("id")
        if isinstance(given, str) and len(given) > MAX_ID:
            raise BadRequest(422, "validation_error", f'"id" is longer than {MAX_ID} characters')
        request_id = given if isinstance(given, str) and given else uuid.uuid4().hex
        predictions, probabilities = await self._predict(
            frame,
            request_id,
            predictions=v2_wants(document, "predictions"),
            probabilities=v2_wants(document, "probabilities"),
        )
        outputs = [
            v2_output(name, values)
            for name, values in (("predictions", predictions), ("probabilities", probabilities))
            if values is not None
        ]
        return JSONResponse(
            {
                "model_name": self.name,
                "model_version": str(self.model.version.version),
                "id": request_id,
                "outputs": outputs,
            }
        )

    async def v2_metadata(self, request: Request) -> Response:
        """``GET /v2/models/{name}``: the model's inputs and outputs."""
        try:
            self._require_name(request)
        except BadRequest as exc:
            return error_response(exc)
        signature = self.model.signature
        inputs = [
            {"name": c.name, "datatype": _v2_type(c.type), "shape": [-1]} for c in signature.columns
        ]
        outputs = [{"name": "predictions", "datatype": "BYTES", "shape": [-1]}]
        if self._proba:
            outputs.append({"name": "probabilities", "datatype": "FP64", "shape": [-1, -1]})
        return JSONResponse(
            {
                "name": self.name,
                "versions": [str(self.model.version.version)],
                "platform": f"shipyard-{self.model.version.flavor}",
                "inputs": inputs,
                "outputs": outputs,
            }
        )

    def _require_name(self, request: Request) -> None:
        asked = request.path_params["name"]
        if asked != self.name:
            raise BadRequest(
                404, "not_found", f"no model {asked!r} here (this serves {self.name!r})"
            )

    async def live(self, _: Request) -> Response:
        """Liveness: the process answers."""
        return JSONResponse({"status": "live"})

    async def ready(self, _: Request) -> Response:
        """Readiness: the model is loaded (it is, once this app exists)."""
        return JSONResponse({"status": "ready", "model": self.model.ref})

    async def metrics(self, _: Request) -> Response:
        """Prometheus text format."""
        body, content_type = self.telemetry.exposition()
        return Response(body, media_type=content_type)


def _gives_proba(model: LoadedModel) -> bool:
    try:
        return model.gives_probabilities
    except Exception:  # noqa: BLE001 - a model that cannot say gives none
        return False


def _v2_type(family: str) -> str:
    return {"float": "FP64", "integer": "INT64", "boolean": "BOOL"}.get(family, "BYTES")


async def _not_found(request: Request, _: Exception) -> Response:
    return error_response(BadRequest(404, "not_found", f"no route {request.url.path}"))


async def _not_allowed(request: Request, _: Exception) -> Response:
    message = f"{request.method} is not allowed on {request.url.path}"
    return error_response(BadRequest(405, "method_not_allowed", message))
