"""Settings: the only module that reads environment variables and config files.

A workspace is a folder ``.shipyard/`` holding ``config.toml``, the SQLite file and the
blob folder. It is found like git finds a repository:

1. an explicit ``home`` (the CLI's ``--home PATH``),
2. else ``SHIPYARD_HOME``,
3. else the nearest ``.shipyard/`` upwards from the current directory.

``SHIPYARD_STORE_URL`` and ``SHIPYARD_ARTIFACTS_URL`` override the config file; when
both are set no local folder is needed at all. ``SHIPYARD_SERVER`` and
``SHIPYARD_TOKEN`` make the clients act through a running server.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ConfigError, WorkspaceNotFound

WORKSPACE_DIRNAME = ".shipyard"
CONFIG_FILENAME = "config.toml"
DATABASE_FILENAME = "shipyard.db"
BLOBS_DIRNAME = "blobs"
CACHE_DIRNAME = "cache"

ENV_HOME = "SHIPYARD_HOME"
ENV_STORE_URL = "SHIPYARD_STORE_URL"
ENV_ARTIFACTS_URL = "SHIPYARD_ARTIFACTS_URL"
ENV_S3_ENDPOINT = "SHIPYARD_S3_ENDPOINT_URL"
ENV_SERVER = "SHIPYARD_SERVER"
ENV_TOKEN = "SHIPYARD_TOKEN"
ENV_ACTOR = "SHIPYARD_ACTOR"

NOT_FOUND_HINT = "no shipyard workspace here: run `shipyard init` to create one"

CONFIG_TEMPLATE = """\
# shipyard workspace settings. Relative paths are relative to this folder.
# Environment variables override these: SHIPYARD_STORE_URL, SHIPYARD_ARTIFACTS_URL.

[store]
# Metadata store. SQLite in this folder by default; for a shared store use e.g.
# url = "postgresql+psycopg://user@127.0.0.1:5432/shipyard"
url = "sqlite:///{database}"

[artifacts]
# Content-addressed blob store: a folder (default) or "s3://bucket/prefix".
url = "{blobs}"
# s3_endpoint_url = "http://127.0.0.1:9000"
# Local folders only: fsync every blob before it is renamed into place (slower; only
# matters for power cuts: a blob left wrong by one is refused on read, never served).
# fsync = true
"""


@dataclass(frozen=True)
class Settings:
    """Where a workspace keeps its data, after files and environment are merged."""

    home: Path | None
    store_url: str
    artifacts_url: str
    artifacts_options: Mapping[str, Any] = field(default_factory=dict)
    server: str | None = None
    token: str | None = None
    actor: str | None = None

    @property
    def cache_dir(self) -> Path:
        """Where this machine keeps caches of the workspace (the stat cache, ...)."""
        if self.home is not None:
            return self.home / CACHE_DIRNAME
        import hashlib

        tag = hashlib.sha256(f"{self.store_url}|{self.artifacts_url}".encode()).hexdigest()[:16]
        return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "shipyard" / tag


def find_home(start: Path | None = None) -> Path | None:
    """The nearest ``.shipyard/`` folder at or above ``start`` (default: cwd)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / WORKSPACE_DIRNAME
        if candidate.is_dir():
            return candidate
    return None


def as_home(path: str | os.PathLike[str]) -> Path:
    """Accept either a project folder (holding ``.shipyard/``) or the ``.shipyard/`` folder."""
    folder = Path(path).expanduser().resolve()
    if (folder / WORKSPACE_DIRNAME).is_dir():
        return folder / WORKSPACE_DIRNAME
    if (folder / CONFIG_FILENAME).is_file():
        return folder
    raise WorkspaceNotFound(f"{str(folder)!r} is not a shipyard workspace: run `shipyard init`")


def resolve(
    home: str | os.PathLike[str] | None = None, env: Mapping[str, str] | None = None
) -> Settings:
    """Find the workspace and merge its config file with the environment.

    Raises :class:`WorkspaceNotFound` (telling the user to run ``shipyard init``)
    when no workspace is found and the environment does not name both stores.
    """
    env = os.environ if env is None else env
    store_env = env.get(ENV_STORE_URL) or None
    artifacts_env = env.get(ENV_ARTIFACTS_URL) or None
    found = _locate(home, env)
    if found is None and not (store_env and artifacts_env):
        raise WorkspaceNotFound(NOT_FOUND_HINT)
    file_values = _read_config(found) if found else {}
    store_url = store_env or _absolute_url(file_values.get("store", {}).get("url"), found)
    artifacts = file_values.get("artifacts", {})
    artifacts_url = artifacts_env or _absolute_url(artifacts.get("url"), found)
    artifacts_url = artifacts_url or str(_require(found) / BLOBS_DIRNAME)
    return Settings(
        home=found,
        store_url=store_url or _default_store_url(found),
        artifacts_url=artifacts_url,
        artifacts_options=_artifact_options(artifacts_url, artifacts, env),
        server=env.get(ENV_SERVER) or None,
        token=env.get(ENV_TOKEN) or None,
        actor=env.get(ENV_ACTOR) or None,
    )


def server(env: Mapping[str, str] | None = None) -> tuple[str | None, str | None]:
    """``SHIPYARD_SERVER`` and ``SHIPYARD_TOKEN``: act through a server when set."""
    env = os.environ if env is None else env
    return env.get(ENV_SERVER) or None, env.get(ENV_TOKEN) or None


def write_config(home: Path) -> Path:
    """Write a fresh ``config.toml`` into ``home`` (relative paths, so the folder can move)."""
    path = home / CONFIG_FILENAME
    path.write_text(CONFIG_TEMPLATE.format(database=DATABASE_FILENAME, blobs=BLOBS_DIRNAME))
    return path


def _artifact_options(
    url: str, section: Mapping[str, Any], env: Mapping[str, str]
) -> dict[str, Any]:
    """Backend options from ``[artifacts]``: S3's endpoint, or fsync for a local folder."""
    if url.startswith("s3://"):
        endpoint = env.get(ENV_S3_ENDPOINT) or section.get("s3_endpoint_url")
        return {"endpoint_url": endpoint} if endpoint else {}
    if "fsync" in section:
        if not isinstance(section["fsync"], bool):
            raise ConfigError(f"[artifacts] fsync must be true or false, got {section['fsync']!r}")
        return {"fsync": section["fsync"]}
    return {}


def _locate(home: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if home is not None:
        return as_home(home)
    if env.get(ENV_HOME):
        return as_home(env[ENV_HOME])
    return find_home()


def _read_config(home: Path) -> dict[str, Any]:
    path = home / CONFIG_FILENAME
    if not path.is_file():
        return {}
    try:
        return tomllib.loads(path.read_text())
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read {path}: {exc}; fix the file or delete it") from exc


def _absolute_url(url: str | None, home: Path | None) -> str | None:
    """Resolve a relative folder or ``sqlite:///relative.db`` against the workspace folder."""
    if not url or home is None:
        return url
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        relative = url.removeprefix("sqlite:///")
        return f"sqlite:///{home / relative}" if relative else url
    if "://" not in url and not Path(url).is_absolute():
        return str(home / url)
    return url


def _default_store_url(home: Path | None) -> str:
    return f"sqlite:///{_require(home) / DATABASE_FILENAME}"


def _require(home: Path | None) -> Path:
    if home is None:
        raise WorkspaceNotFound(NOT_FOUND_HINT)
    return home
