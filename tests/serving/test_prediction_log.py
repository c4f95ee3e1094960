"""The prediction log: served rows become dataset versions, by count, by time, at shutdown."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

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
    quiet.close()  # the server's shutdown does this (tests/serving/test_serve_cli.py)
    log.close()
    assert [v.files for v in quiet.versions] == [1]
    with open_local(served_home) as ws:
        assert len(ws.data.load(quiet.versions[0].ref)) == 4
        assert sum(len(ws.data.load(v.ref)) for v in log.versions) == 4


def test_rows_recorded_during_a_write_and_after_a_failed_one_are_kept(
    served_home: Path, credit: pd.DataFrame, features: list[str], monkeypatch: Any
) -> None:
    import shipyard.workspace as workspace_module

    real_open = workspace_module.open_local
    calls = {"n": 0}

    def slow_then_flaky(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        time.sleep(0.3)  # a write under way while more rows arrive
        if calls["n"] == 2:
            raise OSError("the store blinked")  # a failed write keeps its rows
        return real_open(*args, **kwargs)

    monkeypatch.setattr(workspace_module, "open_local", slow_then_flaky)
    log = PredictionLog(str(served_home), "log-kept", every_rows=2, every_seconds=3600)
    rows = credit[features].head(2)
    log.record(rows, [0, 1], "first")  # starts a (slow) write
    time.sleep(0.1)
    for n in range(3):
        log.record(rows, [1, 0], f"later-{n}")  # arrive while it writes; the next write fails
    time.sleep(0.8)
    log.close()  # writes what is left, the failed rows first
    with open_local(served_home) as ws:
        written = [ws.data.load(v.ref) for v in log.versions]
    ids = [i for window in written for i in window["request_id"].unique()]
    assert sorted(ids) == ["first", "later-0", "later-1", "later-2"]
    assert sum(len(window) for window in written) == 8
    assert calls["n"] >= 3
