"""Shared fixtures: metadata stores on SQLite and PostgreSQL, and workspaces over them.

PostgreSQL tests use the real server on 127.0.0.1:5432 (database ``test``), each test
in a fresh schema that is dropped afterwards. When the server cannot be reached the
tests are skipped with a loud banner at the end of the run; under CI (``CI`` or
``SHIPYARD_REQUIRE_SERVICES`` set) they fail instead, so CI can never skip them.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from services import missing_service, skipped_services

pytest_plugins = ["s3_server"]

PG_SERVER = os.environ.get("SHIPYARD_TEST_PG", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
STORE_KINDS = ("sqlite", "postgresql")


def _libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://")


@pytest.fixture(scope="session")
def pg_admin() -> Iterator[object]:
    """An autocommit psycopg connection to the test database, or a skip/fail."""
    import psycopg

    try:
        conn = psycopg.connect(_libpq_url(PG_SERVER), autocommit=True, connect_timeout=3)
    except psycopg.OperationalError as exc:
        missing_service("PostgreSQL", str(exc).strip().splitlines()[0])
    yield conn
    conn.close()


@pytest.fixture
def pg_url(pg_admin: object) -> Iterator[str]:
    """A SQLAlchemy URL whose search_path is a fresh schema, dropped after the test."""
    schema = f"sy_test_{uuid.uuid4().hex[:12]}"
    pg_admin.execute(f'CREATE SCHEMA "{schema}"')  # type: ignore[attr-defined]
    yield f"{PG_SERVER}?options=-csearch_path%3D{schema}"
    pg_admin.execute(f'DROP SCHEMA "{schema}" CASCADE')  # type: ignore[attr-defined]


@pytest.fixture(params=STORE_KINDS)
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A metadata store URL: SQLite in tmp_path, or PostgreSQL in a fresh schema."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'meta.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def workspace_dir(tmp_path: Path, store_url: str, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A fresh workspace folder whose metadata store is ``store_url``."""
    from shipyard import init_workspace

    monkeypatch.setenv("SHIPYARD_STORE_URL", store_url)
    monkeypatch.setenv("SHIPYARD_ACTOR", "tester")
    monkeypatch.delenv("SHIPYARD_HOME", raising=False)
    monkeypatch.delenv("SHIPYARD_ARTIFACTS_URL", raising=False)
    root = tmp_path / "project"
    init_workspace(root)
    return root


@pytest.fixture
def workspace(workspace_dir: Path) -> Iterator[object]:
    """An open Workspace over ``workspace_dir``."""
    from shipyard import connect

    with connect(workspace_dir) as ws:
        yield ws


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly when tests of a backend service did not run."""
    if not skipped_services:
        return
    names = ", ".join(sorted(skipped_services))
    terminalreporter.write_sep("!", f"SKIPPED: tests of {names} did not run", red=True, bold=True)
    terminalreporter.write_line(
        "These backends were NOT tested. Start the services (see README) or run `bash .ci/run`."
    )
