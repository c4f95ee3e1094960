"""Every route needs a token (401 without), every write route a role (403 below it)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from live_server import LiveServer
from shipyard.server.app import create_app

PUBLIC = {("get", "/api/v1/health")}
WRITES = {"post", "put", "patch", "delete"}
APPROVER_ROUTES = {
    ("put", "/api/v1/models/{name}/policy"),
    ("post", "/api/v1/models/{ref}/approvals/approve"),
    ("post", "/api/v1/models/{ref}/approvals/reject"),
}
# reads a viewer may not make: the audit trail tells who did what
APPROVER_READS = {("get", "/api/v1/audit"), ("get", "/api/v1/audit/verify")}
ADMIN_ROUTES = {("put", "/api/v1/settings/auc"), ("delete", "/api/v1/settings/auc")}
# reads made with POST (a list of digests is too long for a query string)
VIEWER_POSTS = {("post", "/api/v1/blobs/fetch")}


def needed_role(method: str, path: str) -> str | None:
    """The role a route needs above viewer (None: a viewer may call it)."""
    if (method, path) in ADMIN_ROUTES:
        return "admin"
    if (method, path) in APPROVER_ROUTES | APPROVER_READS:
        return "approver"
    return "editor" if method in WRITES and (method, path) not in VIEWER_POSTS else None


@pytest.fixture
def secured(platform: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """The API with auth on, and a token per role."""
    tokens = {}
    for role in ("viewer", "editor", "approver", "admin"):
        _, secret = platform.access.create_token(f"{role}-user", role=role)
        tokens[role] = secret
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, tokens


def routes(url: str) -> list[tuple[str, str]]:
    spec = httpx.get(f"{url}/api/v1/openapi.json").json()
    found = [
        (method, path.replace("{run_id}", "r0").replace("{key}", "auc"))
        for path, methods in spec["paths"].items()
        for method in methods
    ]
    assert len(found) >= 7
    return found


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_every_route_needs_a_token(secured: tuple[str, dict[str, str]]) -> None:
    url, _ = secured
    for method, path in routes(url):
        if (method, path) in PUBLIC:
            continue
        for headers in ({}, bearer("sy_not-a-real-token"), {"Authorization": "Basic abc"}):
            response = httpx.request(method, url + path, headers=headers, json={})
            assert response.status_code == 401, (method, path, headers)
            assert response.json()["error"]["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"


def test_write_routes_need_the_editor_role(secured: tuple[str, dict[str, str]]) -> None:
    url, tokens = secured
    for method, path in routes(url):
        if (method, path) in PUBLIC:
            continue
        response = httpx.request(method, url + path, headers=bearer(tokens["viewer"]), json={})
        needed = needed_role(method, path)
        if needed is not None:
            assert response.status_code == 403, (method, path)
            assert f"role {needed!r}" in response.json()["error"]["message"], (method, path)
        else:
            assert response.status_code not in (401, 403), (method, path)


def test_approving_and_policies_need_the_approver_role(
    secured: tuple[str, dict[str, str]],
) -> None:
    url, tokens = secured
    listed = {route for route in routes(url)}
    assert listed >= APPROVER_ROUTES
    for method, path in APPROVER_ROUTES:
        response = httpx.request(method, url + path, headers=bearer(tokens["editor"]), json={})
        assert response.status_code == 403, (method, path)
        assert "role 'approver'" in response.json()["error"]["message"]


def test_reading_the_audit_trail_needs_the_approver_role(
    secured: tuple[str, dict[str, str]],
) -> None:
    url, tokens = secured
    assert set(routes(url)) >= APPROVER_READS
    for method, path in APPROVER_READS:
        refused = httpx.request(method, url + path, headers=bearer(tokens["editor"]))
        assert refused.status_code == 403, (method, path)
        assert "role 'approver'" in refused.json()["error"]["message"]
        allowed = httpx.request(method, url + path, headers=bearer(tokens["approver"]))
        assert allowed.status_code == 200, (method, path)


def test_changing_settings_needs_the_admin_role(secured: tuple[str, dict[str, str]]) -> None:
    url, tokens = secured
    assert set(routes(url)) >= ADMIN_ROUTES
    for method, path in ADMIN_ROUTES:
        body = {"value": 1}
        response = httpx.request(method, url + path, headers=bearer(tokens["approver"]), json=body)
        assert response.status_code == 403, (method, path)
        assert "role 'admin'" in response.json()["error"]["message"]


def test_the_caller_is_the_actor_of_the_audit_trail(
    secured: tuple[str, dict[str, str]], platform: Any
) -> None:
    url, tokens = secured
    created = httpx.post(
        f"{url}/api/v1/runs", json={"experiment": "shared"}, headers=bearer(tokens["editor"])
    )
    assert created.status_code == 201
    assert created.json()["user"] == "editor-user"
    events = [e for e in platform.audit.entries() if e.action == "run.start"]
    assert [e.actor for e in events] == ["editor-user"]
    listed = httpx.get(f"{url}/api/v1/runs", headers=bearer(tokens["viewer"]))
    assert [r["id"] for r in listed.json()] == [created.json()["id"]]


def test_a_revoked_token_stops_working(secured: tuple[str, dict[str, str]], platform: Any) -> None:
    url, _ = secured
    info, secret = platform.access.create_token("temp", role="viewer")
    assert httpx.get(f"{url}/api/v1/runs", headers=bearer(secret)).status_code == 200
    platform.access.revoke_token(info.id)
    assert httpx.get(f"{url}/api/v1/runs", headers=bearer(secret)).status_code == 401
