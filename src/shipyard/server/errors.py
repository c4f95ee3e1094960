"""The one JSON error shape of the REST API: ``{"error": {"code", "message", "details"}}``.

This is the second of the two places where errors become output (the CLI entry is the
other). Nothing reaches a client as a traceback: unexpected failures are a 500 with a
generic message, and the exception goes to the server log.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from shipyard.errors import ShipyardError

log = logging.getLogger("shipyard.server")


def error_body(code: str, message: str, details: list[Any] | None = None) -> dict[str, Any]:
    """The error document every failing request answers with."""
    return {"error": {"code": code, "message": message, "details": details or []}}


def install_error_handlers(app: FastAPI) -> None:
    """Map shipyard errors, bad requests and surprises to the JSON error shape."""

    @app.exception_handler(ShipyardError)
    async def shipyard_error(_: Request, exc: ShipyardError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
        return JSONResponse(exc.to_dict(), status_code=exc.http_status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        details = [
            {"location": list(e.get("loc", ())), "message": e.get("msg", "")} for e in exc.errors()
        ]
        first = details[0] if details else {"location": [], "message": "invalid request"}
        where = ".".join(str(part) for part in first["location"])
        message = f"invalid request: {where}: {first['message']}"
        return JSONResponse(error_body("validation_error", message, details), status_code=422)

    @app.exception_handler(HTTPException)
    async def http_error(_: Request, exc: HTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)), status_code=exc.status_code, headers=exc.headers
        )

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error while serving a request")
        message = "internal error: the server failed on this request; its log has the details"
        return JSONResponse(error_body("internal", message), status_code=500)
