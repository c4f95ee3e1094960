"""A workspace on a server: ``sy.connect("http://host:port", token=...)``."""

from __future__ import annotations

from collections.abc import Iterable
from types import TracebackType
from typing import Any

from shipyard.client.blobs import RemoteBlobs
from shipyard.client.data import RemoteDataService
from shipyard.client.governance import RemoteAudit, RemoteSettings
from shipyard.client.http import Api
from shipyard.client.models import RemoteModelService
from shipyard.client.runs import RemoteRunService
from shipyard.entities import DatasetVersion
from shipyard.errors import ConfigError
from shipyard.tracking.active import ActiveRun


class RemoteWorkspace:
    """The Python surface of a workspace, through a server.

    Runs, datasets, models, blobs, the audit trail and settings answer as in an embedded
    workspace; the server's roles decide who may do what. Users and tokens (``access``)
    are managed on the store itself.
    """

    def __init__(self, url: str, token: str | None) -> None:
        self.url = url
        self._api = Api(url, token)
        self.runs = RemoteRunService(self._api)
        self.data = RemoteDataService(self._api)
        self.models = RemoteModelService(self._api)
        self.blobs = RemoteBlobs(self._api)
        self.audit = RemoteAudit(self._api)
        self.settings = RemoteSettings(self._api)

    def start_run(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        inputs: Iterable[DatasetVersion | str] = (),
        tags: dict[str, Any] | None = None,
    ) -> ActiveRun:
        """Start a run on the server; use it as a context manager."""
        return self.runs.start(experiment, name=name, inputs=inputs, tags=tags)

    def __getattr__(self, name: str) -> Any:
        if name == "access":
            raise ConfigError(
                "ws.access is not available through a server: an admin manages users and "
                "tokens on the store itself (`shipyard --home DIR users|tokens ...`, or "
                "sy.connect(DIR) in Python)"
            )
        raise AttributeError(name)

    def close(self) -> None:
        """Close the connection."""
        self._api.close()

    def __enter__(self) -> RemoteWorkspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"RemoteWorkspace({self.url!r})"
