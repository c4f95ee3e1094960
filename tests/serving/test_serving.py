"""`shipyard serve`'s HTTP app on a real server: predictions, the v2 protocol, every error."""

from __future__ import annotations

import json
import math
from typing import Any

import httpx
import numpy as np
import pandas as pd
import pytest

from live_server import LiveServer
from shipyard.registry.loaded import LoadedModel
from shipyard.serving.app import ModelServer


def records(frame: pd.DataFrame) -> list[dict[str, Any]]:
    return json.loads(frame.to_json(orient="records"))


def test_records_and_split_give_the_models_predictions(
    client: httpx.Client, model: LoadedModel, credit: pd.DataFrame, features: list[str]
) -> None:
    rows = credit[features].head(20)
    expected = model.predict(rows).tolist()
    by_records = client.post("/predict?probabilities=true", json={"inputs": records(rows)})
    assert by_records.status_code == 200
    body = by_records.json()
    assert body["predictions"] == expected
    assert body["model"] == "credit-risk@v1"
    assert len(body["request_id"]) == 32
    assert all(math.isclose(sum(p), 1.0) for p in body["probabilities"])
    assert np.allclose(body["probabilities"], model.predict_proba(rows))
    split = {"columns": features, "data": json.loads(rows.to_json(orient="values"))}
    by_split = client.post("/predict", json={"inputs": split}).json()
    assert by_split["predictions"] == expected
    assert "probabilities" not in by_split  # asked for only: it is a second model call
    assert by_split["request_id"] != body["request_id"]


def test_a_large_batch(
    client: httpx.Client, model: LoadedModel, credit: pd.DataFrame, features: list[str]
) -> None:
    rows = pd.concat([credit[features]] * 3, ignore_index=True).dropna()  # a worker thread
    assert len(rows) > 1024
    answer = client.post("/predict", json={"inputs": records(rows)})
    assert answer.status_code == 200
    assert answer.json()["predictions"] == model.predict(rows).tolist()


def test_the_v2_protocol(
    client: httpx.Client, model: LoadedModel, credit: pd.DataFrame, features: list[str]
) -> None:
    assert client.get("/v2/health/live").status_code == 200
    assert client.get("/v2/health/ready").status_code == 200
    meta = client.get("/v2/models/credit-risk").json()
    assert meta["name"] == "credit-risk"
    assert meta["versions"] == ["1"]
    assert [i["name"] for i in meta["inputs"]] == features
    rows = credit[features].head(4)
    tensors = [
        {
            "name": c,
            "shape": [4],
            "datatype": "BYTES",
            "data": json.loads(rows[c].to_json(orient="values")),
        }
        for c in features
    ]
    asked = [{"name": "predictions"}, {"name": "probabilities"}]
    answer = client.post(
        "/v2/models/credit-risk/infer", json={"id": "r-1", "inputs": tensors, "outputs": asked}
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["model_name"], body["model_version"], body["id"]) == ("credit-risk", "1", "r-1")
    outputs = {o["name"]: o for o in body["outputs"]}
    assert outputs["predictions"]["data"] == model.predict(rows).tolist()
    assert outputs["probabilities"]["shape"] == [4, 2]
    long_id = {"id": "x" * 129, "inputs": tensors}
    refused = client.post("/v2/models/credit-risk/infer", json=long_id)
    assert refused.status_code == 422
    assert "longer than 128" in error_of(refused)["message"]
    missing = client.get("/v2/models/other")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"


def test_health_and_metrics(
    client: httpx.Client, credit: pd.DataFrame, features: list[str]
) -> None:
    assert client.get("/health/live").json() == {"status": "live"}
    assert client.get("/health/ready").json()["model"] == "credit-risk@v1"
    client.post("/predict", json={"inputs": records(credit[features].head(3))})
    client.post("/predict", content=b"{")
    text = client.get("/metrics").text
    assert (
        'shipyard_requests_total{endpoint="predict",model="credit-risk@v1",status="200"} 1.0'
        in text
    )
    assert 'status="400"} 1.0' in text
    assert 'shipyard_predicted_rows_total{model="credit-risk@v1"} 3.0' in text
    assert "shipyard_request_seconds_bucket" in text


def error_of(answer: httpx.Response) -> dict[str, Any]:
    body = answer.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return body["error"]


@pytest.mark.parametrize(
    ("body", "status", "code", "words"),
    [
        (b"{not json", 400, "malformed_json", "not valid JSON"),
        (b"[" * 100_000, 400, "malformed_json", "nests too deeply"),
        (b"[1, 2]", 422, "validation_error", '"inputs"'),
        (b'{"inputs": []}', 422, "validation_error", "non-empty"),
        (b'{"inputs": {"columns": ["a"], "data": [[1, 2]]}}', 422, "validation_error", "1 values"),
        (b'{"inputs": [{"nothing": 1}]}', 422, "signature_mismatch", "missing column"),
    ],
)
def test_bad_bodies(client: httpx.Client, body: bytes, status: int, code: str, words: str) -> None:
    answer = client.post("/predict", content=body)
    assert answer.status_code == status
    error = error_of(answer)
    assert error["code"] == code
    assert words in error["message"]


def test_wrong_types_and_missing_values_name_the_column(
    client: httpx.Client, credit: pd.DataFrame, features: list[str]
) -> None:
    row = records(credit[features].head(1))[0]
    answer = client.post("/predict", json={"inputs": [{**row, "age": "old"}]})
    assert answer.status_code == 422
    assert "'age'" in error_of(answer)["message"]
    answer = client.post("/predict", json={"inputs": [{**row, "age": None}]})
    assert answer.status_code == 422
    assert error_of(answer)["details"][0]["column"] == "age"
    infinite = client.post(
        "/predict", content=json.dumps({"inputs": [{**row, "income": float("inf")}]})
    )
    assert infinite.status_code in (400, 422)  # Infinity is not JSON; either way no 5xx


def test_routes_and_methods(client: httpx.Client) -> None:
    assert error_of(client.get("/nowhere"))["code"] == "not_found"
    wrong = client.get("/predict")
    assert wrong.status_code == 405
    assert error_of(wrong)["code"] == "method_not_allowed"


def test_limits(model: LoadedModel, credit: pd.DataFrame, features: list[str]) -> None:
    small = ModelServer(model, max_body_bytes=1024)
    with LiveServer(small.app()) as url, httpx.Client(base_url=url) as http:
        big = {"inputs": records(credit[features].head(50))}
        answer = http.post("/predict", json=big)
        assert answer.status_code == 413
        assert error_of(answer)["code"] == "too_large"
        streamed = http.post("/predict", content=iter([json.dumps(big).encode()]))
        assert streamed.status_code == 413  # no content-length: counted as it arrives
    full = ModelServer(model, max_inflight=1)
    full.inflight = 1  # as if one request were being answered
    with LiveServer(full.app()) as url, httpx.Client(base_url=url) as http:
        answer = http.post("/predict", json={"inputs": records(credit[features].head(1))})
        assert answer.status_code == 503
        assert answer.headers["retry-after"] == "1"
        assert error_of(answer)["code"] == "overloaded"
        assert http.get("/health/live").status_code == 200  # health is never refused


def test_predictions_are_plain_json(
    client: httpx.Client, credit: pd.DataFrame, features: list[str]
) -> None:
    rows = {"inputs": records(credit[features].head(2))}
    body = client.post("/predict?probabilities=1", json=rows).json()
    assert all(isinstance(p, int) for p in body["predictions"])
    assert np.asarray(body["probabilities"]).shape == (2, 2)


def test_values_json_cannot_spell_become_null() -> None:
    from shipyard.serving.payload import to_list

    assert to_list(np.array([1.5, np.nan, np.inf])) == [1.5, None, None]
    assert to_list(np.array([[0.25, 0.75]])) == [[0.25, 0.75]]
