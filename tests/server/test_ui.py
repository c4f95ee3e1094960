"""The web UI at /: pages over a real workspace, escaping, and sign-in when auth is on."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pandas as pd
import pytest

from live_server import LiveServer
from shipyard.server.app import create_app


@pytest.fixture
def filled(platform: Any) -> Any:
    """A dataset (with markup in its message), a finished run using it."""
    frame = pd.DataFrame({"email": ["a@example.com", "b@example.com"], "x": [1, 2]})
    version = platform.datasets.add("people", frame, message="<script>alert(1)</script>")
    with platform.runs.start("exp", name="first", inputs=[version]) as run:
        run.log_params({"C": 0.5})
        run.log_metric("auc", 0.875)
    return platform


@pytest.fixture
def open_ui(filled: Any) -> Iterator[httpx.Client]:
    with LiveServer(create_app(filled, auth=False)) as url, httpx.Client(base_url=url) as client:
        yield client


def test_every_page_shows_the_workspace(open_ui: httpx.Client, filled: Any) -> None:
    home = open_ui.get("/")
    assert home.status_code == 200
    assert "text/html" in home.headers["content-type"]
    assert "people@v1" in home.text
    assert "intact" in home.text
    run_id = filled.runs.search(limit=1)[0].id
    pages = {
        "/ui/datasets": "people@v1",
        "/ui/datasets/people": "email (email)",  # the personal data found in it
        "/ui/runs": "auc 0.875",
        f"/ui/runs/{run_id}": "people@v1",
        "/ui/models": "no models yet",
        "/ui/audit": "dataset.add",
    }
    for path, expected in pages.items():
        page = open_ui.get(path)
        assert page.status_code == 200, path
        assert expected in page.text, path


def test_text_from_the_store_is_escaped(open_ui: httpx.Client) -> None:
    page = open_ui.get("/ui/datasets/people").text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page


def test_unknown_things_are_404_pages(open_ui: httpx.Client) -> None:
    for path in ("/ui/runs/nope", "/ui/datasets/nothing", "/ui/models/nobody"):
        page = open_ui.get(path)
        assert page.status_code == 404, path
        assert "text/html" in page.headers["content-type"]


def test_with_auth_a_viewer_token_signs_in(filled: Any) -> None:
    _, secret = filled.access.create_token("reader", role="viewer")
    with LiveServer(create_app(filled, auth=True)) as url, httpx.Client(base_url=url) as client:
        away = client.get("/ui/runs")
        assert (away.status_code, away.headers["location"]) == (303, "/ui/login?next=/ui/runs")
        refused = client.post("/ui/login", data={"token": "not-a-token"})
        assert refused.status_code == 401
        assert "token" in refused.text
        signed = client.post("/ui/login", data={"token": secret, "next": "/ui/runs"})
        assert (signed.status_code, signed.headers["location"]) == (303, "/ui/runs")
        cookie = signed.headers["set-cookie"].lower()
        assert "httponly" in cookie
        assert "samesite=lax" in cookie
        home = client.get("/")
        assert home.status_code == 200  # the cookie is kept by the client
        assert "audit chain" not in home.text  # a viewer does not see the audit trail ...
        assert client.get("/ui/audit").status_code == 403  # ... as in the API
        assert client.get("/api/v1/runs").status_code == 401  # the API still wants a header
        evil = client.post("/ui/login", data={"token": secret, "next": "//evil.example"})
        assert evil.headers["location"] == "/"  # never sent off the site
        assert client.get("/ui/logout").status_code == 303
        assert client.get("/").status_code == 303  # signed out


def test_an_approver_sees_the_audit_trail_and_a_revoked_token_signs_out(filled: Any) -> None:
    token, secret = filled.access.create_token("auditor", role="approver")
    with LiveServer(create_app(filled, auth=True)) as url, httpx.Client(base_url=url) as client:
        client.post("/ui/login", data={"token": secret})
        assert "audit chain" in client.get("/").text
        trail = client.get("/ui/audit")
        assert trail.status_code == 200
        assert "dataset.add" in trail.text
        filled.access.revoke_token(token.id)
        assert client.get("/ui/audit").status_code == 303  # back to sign-in
