"""/api/v1/runs over HTTP: the same services, JSON in and out, one error shape."""

from __future__ import annotations

from typing import Any

import pytest
from httpx import Client


def test_a_run_round_trip(open_api: Client) -> None:
    created = open_api.post("/api/v1/runs", json={"experiment": "credit", "name": "r1"})
    assert created.status_code == 201
    run_id = created.json()["id"]
    assert created.json()["status"] == "running"
    assert (
        open_api.post(f"/api/v1/runs/{run_id}/params", json={"params": {"C": 0.5}}).status_code
        == 200
    )
    points = [
        {"key": "auc", "value": 0.7 + i / 100, "step": i, "timestamp": 1.0 + i} for i in range(5)
    ]
    written = open_api.post(f"/api/v1/runs/{run_id}/metrics", json={"points": points})
    assert written.json() == {"run_id": run_id, "written": 5, "duplicate": False}
    ended = open_api.post(f"/api/v1/runs/{run_id}/end", json={"status": "finished"})
    assert ended.json()["status"] == "finished"
    assert ended.json()["metrics"] == {"auc": pytest.approx(0.74)}
    history = open_api.get(f"/api/v1/runs/{run_id}/metrics/auc").json()
    assert [p["step"] for p in history] == [0, 1, 2, 3, 4]
    listed = open_api.get(
        "/api/v1/runs", params={"filter": "metrics.auc > 0.7", "experiment": "credit"}
    )
    assert [r["id"] for r in listed.json()] == [run_id]
    assert open_api.get("/api/v1/runs", params={"filter": "params.C = '0.5'"}).json()[0][
        "params"
    ] == {"C": "0.5"}


def error_of(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "code"),
    [
        ("get", "/api/v1/runs/nope", None, 404, "not_found"),
        ("post", "/api/v1/runs", {"name": "no experiment"}, 422, "validation_error"),
        ("post", "/api/v1/runs", {"experiment": ""}, 422, "validation_error"),
        ("get", "/api/v1/runs?filter=metrics.auc%20%3E", None, 422, "validation_error"),
        ("get", "/api/v1/runs?limit=-1", None, 422, "validation_error"),
        ("get", "/api/v1/nowhere", None, 404, "not_found"),
        ("post", "/api/v1/runs/nope/end", {"status": "finished"}, 404, "not_found"),
    ],
    ids=[
        "unknown-run",
        "missing-field",
        "empty-field",
        "bad-filter",
        "bad-limit",
        "no-route",
        "end-unknown",
    ],
)
def test_errors_have_one_shape(
    open_api: Client, method: str, path: str, body: Any, status: int, code: str
) -> None:
    response = getattr(open_api, method)(path, **({"json": body} if body is not None else {}))
    assert response.status_code == status
    assert error_of(response)["code"] == code


def test_malformed_json_is_a_422_not_a_500(open_api: Client) -> None:
    response = open_api.post(
        "/api/v1/runs", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert error_of(response)["code"] == "validation_error"


def test_conflicts_and_bad_metric_values(open_api: Client) -> None:
    run_id = open_api.post("/api/v1/runs", json={"experiment": "x"}).json()["id"]
    open_api.post(f"/api/v1/runs/{run_id}/params", json={"params": {"C": 1}})
    again = open_api.post(f"/api/v1/runs/{run_id}/params", json={"params": {"C": 2}})
    assert again.status_code == 409
    assert "params never change" in error_of(again)["message"]
    bad = open_api.post(
        f"/api/v1/runs/{run_id}/metrics",
        json={"points": [{"key": "auc", "value": "high", "step": 0, "timestamp": 1}]},
    )
    assert bad.status_code == 422
    open_api.post(f"/api/v1/runs/{run_id}/end", json={})
    late = open_api.post(f"/api/v1/runs/{run_id}/params", json={"params": {"D": 1}})
    assert late.status_code == 409


def test_openapi_document_and_health(open_api: Client) -> None:
    spec = open_api.get("/api/v1/openapi.json").json()
    assert {"/api/v1/runs", "/api/v1/runs/{run_id}"} <= set(spec["paths"])
    assert open_api.get("/api/v1/health").json()["status"] == "ok"
