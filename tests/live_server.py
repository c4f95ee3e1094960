"""A real uvicorn server on loopback for tests, in a background thread (shipyard's own)."""

from shipyard.serving.background import BackgroundServer as LiveServer

__all__ = ["LiveServer"]
