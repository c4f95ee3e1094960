"""The REST application: FastAPI under /api/v1, the OpenAPI document at /api/v1/openapi.json;
the web UI at / (shipyard.server.ui)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, FastAPI

from shipyard._version import __version__
from shipyard.platform import Platform
from shipyard.server import artifacts, audit, blobs, datasets, models, runs, settings, ui
from shipyard.server.errors import install_error_handlers

API = "/api/v1"


def create_app(platform: Platform, *, auth: bool = True) -> FastAPI:
    """The app serving ``platform``'s services; ``auth=False`` trusts every caller."""
    app = FastAPI(
        title="shipyard",
        version=__version__,
        openapi_url=f"{API}/openapi.json",
        docs_url=f"{API}/docs",
        redoc_url=None,
    )
    app.state.platform = platform
    app.state.auth = auth
    install_error_handlers(app)
    api = APIRouter(prefix=API)

    @api.get("/health", tags=["health"])
    def health() -> dict[str, Any]:
        """Liveness: the server answers (no token needed)."""
        return {"status": "ok", "version": __version__, "auth": auth}

    api.include_router(runs.router)
    api.include_router(artifacts.router)
    api.include_router(blobs.router)
    api.include_router(datasets.router)
    api.include_router(models.router)
    api.include_router(audit.router)
    api.include_router(settings.router)
    app.include_router(api)
    app.include_router(ui.router)
    return app
