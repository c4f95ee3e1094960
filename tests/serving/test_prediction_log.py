"""The prediction log: served rows become dataset versions, by count, by time, at shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path

import httpx
import pandas as pd

from live_server import LiveServer
from shipyard.monitoring.drift import drift_report
from shipyard.registry.loaded import LoadedModel
from shipyard.serving.app import ModelServer
from shipyard.serving.logbook import PredictionLog
from shipyard.workspace import open_local


def wait_for_versions(log: PredictionLog, count: int, seconds: float = 20.0) -> None:
    deadline = time.monotonic() + seconds
    while len(log.versions) < count:
        assert time.monotonic() < deadline, f"{len(log.versions)} of {count} log versions"
        time.sleep(0.05)


def rows_of(frame: pd.DataFrame) -> list[dict[str, object]]:
    return json.loads(frame.to_json(orient="records"))


def test_every_n_rows_a_version_with_what_was_asked_and_answered(
    served_home: Path, model: LoadedModel, credit: pd.DataFrame, features: list[str]
) -> None:
    log = PredictionLog(str(served_home), "log-rows", every_rows=5, every_seconds=3600)
    server = ModelServer(model, log=log)
    answers = []
    with LiveServer(server.app()) as url, httpx.Client(base_url=url) as http:
        for start in (0, 2, 4):
            batch = credit[features].iloc[start : start + 2]
            answers.append(http.post("/predict", json={"inputs": rows_of(batch)}).json())
        wait_for_versions(log, 1)
    log.close()
    with open_local(served_home) as ws:
        window = ws.data.load(log.versions[0].ref)
    assert len(window) == 6
    assert set(features) | {"prediction", "request_id", "logged_at"} == set(window.columns)
    assert window["prediction"].tolist() == [p for a in answers for p in a["predictions"]]
    assert window["request_id"].tolist() == [a["request_id"] for a in answers for _ in (0, 1)]
    report = drift_report(credit[features], window, columns=features)
    assert [c.column for c in report.columns] == features


def test_time_and_shutdown_write_what_is_left(
    served_home: Path, model: LoadedModel, credit: pd.DataFrame, features: list[str]
) -> None:
    log = PredictionLog(str(served_home), "log-time", every_rows=1000, every_seconds=0.5)
    with LiveServer(ModelServer(model, log=log).app()) as url, httpx.Client(base_url=url) as http:
        http.post("/predict", json={"inputs": rows_of(credit[features].head(3))})
        wait_for_versions(log, 1, seconds=10)  # half a second later, not 1,000 rows later
        http.post("/predict", json={"inputs": rows_of(credit[features].head(1))})
    quiet = PredictionLog(str(served_home), "log-close", every_rows=1000, every_seconds=3600)
    with LiveServer(ModelServer(model, log=quiet).app()) as url, httpx.Client(base_url=url) as http:
        http.post("/predict", json={"inputs": rows_of(credit[features].head(4))})
    assert quiet.versions == []
    quiet.close()  # the server's shutdown does this
    log.close()
    assert [v.files for v in quiet.versions] == [1]
    with open_local(served_home) as ws:
        assert len(ws.data.load(quiet.versions[0].ref)) == 4
        assert sum(len(ws.data.load(v.ref)) for v in log.versions) == 4
