"""Workspace resolution: --home, then SHIPYARD_HOME, then the nearest .shipyard/ upwards."""

from __future__ import annotations

from pathlib import Path

import pytest

from shipyard import config
from shipyard.errors import ConfigError, WorkspaceNotFound


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("SHIPYARD_HOME", "SHIPYARD_STORE_URL", "SHIPYARD_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def _make(root: Path) -> Path:
    home = root / ".shipyard"
    home.mkdir(parents=True)
    config.write_config(home)
    return home


def test_nearest_workspace_upwards(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home = _make(clean_env / "proj")
    deep = clean_env / "proj" / "a" / "b"
    deep.mkdir(parents=True)
    monkeypatch.chdir(deep)
    settings = config.resolve()
    assert settings.home == home
    assert settings.store_url == f"sqlite:///{home / 'shipyard.db'}"
    assert settings.artifacts_url == str(home / "blobs")


def test_explicit_home_beats_env_beats_cwd(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    here, env_home, explicit = (_make(clean_env / n) for n in ("here", "env", "explicit"))
    monkeypatch.chdir(here.parent)
    assert config.resolve().home == here
    monkeypatch.setenv("SHIPYARD_HOME", str(env_home.parent))
    assert config.resolve().home == env_home
    assert config.resolve(explicit).home == explicit
    assert config.resolve(explicit.parent).home == explicit


def test_no_workspace_says_run_init(clean_env: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match="shipyard init"):
        config.resolve()


def test_home_that_is_not_a_workspace(clean_env: Path) -> None:
    with pytest.raises(WorkspaceNotFound, match="shipyard init"):
        config.resolve(clean_env)


def test_env_urls_override_the_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _make(clean_env)
    monkeypatch.setenv("SHIPYARD_STORE_URL", "postgresql+psycopg://u@127.0.0.1/db")
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_URL", "s3://bucket/prefix")
    settings = config.resolve()
    assert settings.store_url == "postgresql+psycopg://u@127.0.0.1/db"
    assert settings.artifacts_url == "s3://bucket/prefix"


def test_both_urls_need_no_folder(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SHIPYARD_STORE_URL", "sqlite:////tmp/x.db")
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_URL", "s3://bucket")
    assert config.resolve().home is None


def test_config_file_values_and_relative_paths(clean_env: Path) -> None:
    home = clean_env / ".shipyard"
    home.mkdir()
    (home / "config.toml").write_text(
        '[store]\nurl = "sqlite:///meta/x.db"\n[artifacts]\nurl = "objects"\nfsync = true\n'
        's3_endpoint_url = "http://127.0.0.1:9"\n'
    )
    settings = config.resolve()
    assert settings.store_url == f"sqlite:///{home / 'meta/x.db'}"
    assert settings.artifacts_url == str(home / "objects")
    assert settings.artifacts_options == {"fsync": True}


def test_s3_endpoint_goes_to_s3_stores_only(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _make(clean_env)
    monkeypatch.setenv("SHIPYARD_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    assert config.resolve().artifacts_options == {}
    monkeypatch.setenv("SHIPYARD_ARTIFACTS_URL", "s3://bucket/prefix")
    assert config.resolve().artifacts_options == {"endpoint_url": "http://127.0.0.1:9"}


def test_malformed_config_is_a_clear_error(clean_env: Path) -> None:
    home = clean_env / ".shipyard"
    home.mkdir()
    (home / "config.toml").write_text("[store\nurl=")
    with pytest.raises(ConfigError, match="config.toml"):
        config.resolve()
