"""The Python front door: create a workspace, connect to one, reach its services."""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from shipyard import config
from shipyard.errors import ConfigError
from shipyard.platform import Platform, open_platform

if TYPE_CHECKING:
    from shipyard.client.workspace import RemoteWorkspace
    from shipyard.data.service import DatasetService
    from shipyard.entities import DatasetVersion
    from shipyard.governance.access import AccessService
    from shipyard.governance.audit import AuditTrail
    from shipyard.pipelines.service import PipelineService
    from shipyard.registry.service import ModelService
    from shipyard.storage.content import ContentStore
    from shipyard.tracking.active import ActiveRun
    from shipyard.tracking.service import RunService
    from shipyard.workspace.settings import SettingsService


class Workspace:
    """One workspace: its stores and every lifecycle service, through one object."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    @property
    def home(self) -> Path | None:
        """The ``.shipyard/`` folder (None when both stores come from the environment)."""
        return self._platform.settings.home

    @property
    def actor(self) -> str:
        """Who the writes of this workspace object are attributed to."""
        return self._platform.actor

    @property
    def access(self) -> AccessService:
        """Users, roles and API tokens of a shared server (every change audited)."""
        return self._platform.access

    @property
    def audit(self) -> AuditTrail:
        """The hash-chained audit trail."""
        return self._platform.audit

    @property
    def blobs(self) -> ContentStore:
        """The content-addressed blob store."""
        return self._platform.blobs

    @property
    def data(self) -> DatasetService:
        """Dataset versions: add, load, diff, checkout, validate."""
        return self._platform.datasets

    @property
    def runs(self) -> RunService:
        """Experiment tracking: look runs up, read metric histories."""
        return self._platform.runs

    @property
    def models(self) -> ModelService:
        """The model registry: register, load, evaluate, promote."""
        return self._platform.models

    def start_run(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        inputs: Iterable[DatasetVersion | str] = (),
        tags: dict[str, Any] | None = None,
    ) -> ActiveRun:
        """Start a run; use it as a context manager (it ends as finished or failed)."""
        return self._platform.runs.start(experiment, name=name, inputs=inputs, tags=tags)

    @property
    def pipelines(self) -> PipelineService:
        """Pipelines: run them, every step cached and tracked."""
        return self._platform.pipelines

    @property
    def settings(self) -> SettingsService:
        """Workspace settings (audited key-value pairs)."""
        return self._platform.workspace_settings

    def close(self) -> None:
        """Release connections; the object must not be used afterwards."""
        self._platform.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Workspace(home={str(self.home)!r}, store={self._platform.db!r})"


def connect(
    target: str | os.PathLike[str] | None = None,
    *,
    token: str | None = None,
    actor: str | None = None,
) -> Workspace | RemoteWorkspace:
    """Open a workspace: a server URL, a path, ``SHIPYARD_SERVER``, or the nearest one."""
    if isinstance(target, str) and target.startswith(("http://", "https://")):
        return _remote(target, token)
    if target is None:
        server, env_token = config.server()
        if server:
            return _remote(server, token or env_token)
    return open_local(target, actor=actor)


def open_local(
    target: str | os.PathLike[str] | None = None, *, actor: str | None = None
) -> Workspace:
    """Open a workspace on its stores directly (never through a server)."""
    return Workspace(open_platform(config.resolve(target), actor=actor))


def _remote(url: str, token: str | None) -> RemoteWorkspace:
    from shipyard.client.workspace import RemoteWorkspace

    return RemoteWorkspace(url, token)


def init_workspace(
    directory: str | os.PathLike[str] | None = None, *, actor: str | None = None
) -> tuple[Path, bool]:
    """Create ``DIRECTORY/.shipyard/`` (idempotent); returns the home and whether it was new."""
    root = Path(directory or Path.cwd()).expanduser().resolve()
    if root.exists() and not root.is_dir():
        raise ConfigError(f"cannot create a workspace in {str(root)!r}: it is a file, not a folder")
    home = root / config.WORKSPACE_DIRNAME
    created = not (home / config.CONFIG_FILENAME).is_file()
    home.mkdir(parents=True, exist_ok=True)
    if created:
        config.write_config(home)
    (home / config.BLOBS_DIRNAME).mkdir(exist_ok=True)
    settings = config.resolve(home)
    platform = open_platform(settings, actor=actor)
    try:
        if created:
            _record_init(platform, home)
    finally:
        platform.close()
    return home, created


def _record_init(platform: Platform, home: Path) -> None:
    with platform.db.write() as conn:
        platform.audit.record(
            conn,
            actor=platform.actor,
            action="workspace.init",
            entity_kind="workspace",
            entity_id=str(home),
            payload={"store": platform.db.dialect},
        )
