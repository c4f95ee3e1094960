"""The composition root: builds the stores from settings and hands them to the services.

Nothing else in shipyard decides which backend to use. Stores are opened lazily, so a
command that only reads metadata never touches the blob store (or imports s3fs), and
importing this module does not import SQLAlchemy (building a Platform does).
"""

from __future__ import annotations

import copy
import getpass
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING

from shipyard.config import Settings

if TYPE_CHECKING:
    from shipyard.data.service import DatasetService
    from shipyard.governance.access import AccessService
    from shipyard.governance.audit import AuditTrail
    from shipyard.pipelines.service import PipelineService
    from shipyard.registry.service import ModelService
    from shipyard.storage.content import ContentStore
    from shipyard.storage.sql.engine import Database
    from shipyard.tracking.service import RunService
    from shipyard.workspace.settings import SettingsService


def local_actor() -> str:
    """The operating-system user: the actor of an embedded workspace."""
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


_SHARED_BY_ACTORS = frozenset({"audit", "blobs"})  # stores, not services: actor-free


@dataclass
class Platform:
    """Every store and service of one workspace, built once and shared."""

    settings: Settings
    actor: str
    role: str = "admin"  # an embedded workspace's local user holds every role
    db: Database = field(init=False)

    def __post_init__(self) -> None:
        from shipyard.storage.sql.engine import Database

        self.db = Database(self.settings.store_url)

    @cached_property
    def audit(self) -> AuditTrail:
        """The audit trail over the metadata store."""
        from shipyard.governance.audit import AuditTrail

        return AuditTrail(self.db)

    @cached_property
    def blobs(self) -> ContentStore:
        """The content-addressed blob store (opened on first use)."""
        return open_content_store(self.settings)

    @cached_property
    def workspace_settings(self) -> SettingsService:
        """Workspace settings, audited."""
        from shipyard.workspace.settings import SettingsService

        return SettingsService(self.db, self.audit, self.actor)

    @cached_property
    def datasets(self) -> DatasetService:
        """Dataset versions over both stores."""
        from shipyard.data.service import DatasetService

        return DatasetService(
            self.db, lambda: self.blobs, self.audit, self.actor, self.settings.cache_dir
        )

    @cached_property
    def access(self) -> AccessService:
        """Users, roles and API tokens (audited); authentication for the server."""
        from shipyard.governance.access import AccessService

        return AccessService(self.db, self.audit, self.actor)

    @cached_property
    def runs(self) -> RunService:
        """Experiment tracking."""
        from shipyard.tracking.service import RunService

        return RunService(self.db, self.audit, self.actor, self.datasets, lambda: self.models)

    @cached_property
    def models(self) -> ModelService:
        """The model registry."""
        from shipyard.registry.service import ModelService

        return ModelService(
            self.db,
            lambda: self.blobs,
            self.audit,
            self.actor,
            self.role,
            self.datasets,
            lambda: self.runs,
        )

    @cached_property
    def pipelines(self) -> PipelineService:
        """Pipeline runs over the tracking, data and blob stores."""
        from shipyard.pipelines.service import PipelineService

        return PipelineService(self)

    def as_actor(self, actor: str, role: str | None = None) -> Platform:
        """The same stores, acting as ``actor`` holding ``role`` (one per server request)."""
        other = copy.copy(self)
        other.actor = actor
        other.role = role or self.role
        for name, attribute in vars(Platform).items():  # services are built for one actor
            if isinstance(attribute, cached_property) and name not in _SHARED_BY_ACTORS:
                other.__dict__.pop(name, None)
        return other

    def close(self) -> None:
        """Release database connections."""
        self.db.dispose()


def open_content_store(settings: Settings) -> ContentStore:
    """The content-addressed blob store ``settings`` name."""
    from shipyard.storage.blobs import open_backend
    from shipyard.storage.content import ContentStore

    backend = open_backend(settings.artifacts_url, options=dict(settings.artifacts_options))
    return ContentStore(backend)


def open_platform(
    settings: Settings, *, actor: str | None = None, migrate: bool = True
) -> Platform:
    """Build the platform for ``settings``; bring the schema up to date unless told not to."""
    platform = Platform(settings=settings, actor=actor or settings.actor or local_actor())
    if migrate:
        from shipyard.storage.sql.migrate import ensure_schema

        ensure_schema(platform.db)
    return platform
