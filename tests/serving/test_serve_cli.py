"""`shipyard serve` as a process: one worker and several, stopped by a signal; a bad ref."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pandas as pd
import pytest


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextmanager
def serving(home: Path, *extra: str) -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "shipyard", "--home", str(home), "serve"]
    process = subprocess.Popen(
        [*command, "credit-risk@champion", "--port", str(port), *extra],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")},
    )
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{url}/health/ready", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the server did not start: {process.stderr.read()!r}")
            time.sleep(0.1)
        yield url
    finally:
        process.send_signal(signal.SIGINT)
        try:
            assert process.wait(timeout=30) == 0
        finally:
            process.kill()
            process.wait()


@pytest.mark.parametrize("workers", ["1", "2"])
def test_serve_answers_and_stops_on_a_signal(
    served_home: Path, credit: pd.DataFrame, features: list[str], workers: str
) -> None:
    rows = json.loads(credit[features].head(3).to_json(orient="records"))
    with serving(served_home, "--workers", workers) as url:
        for _ in range(4):
            answer = httpx.post(f"{url}/predict", json={"inputs": rows}, timeout=10)
            assert answer.status_code == 200
            assert answer.json()["model"] == "credit-risk@v1"


def test_an_unknown_model_is_one_line(served_home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "shipyard", "--home", str(served_home), "serve", "nope@v9"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 1
    assert result.stderr.startswith("error:")
    assert result.stderr.count("\n") == 1


def test_serve_logs_predictions_until_it_stops(
    served_home: Path, credit: pd.DataFrame, features: list[str]
) -> None:
    rows = json.loads(credit[features].head(3).to_json(orient="records"))
    args = ("--log-predictions", "--log-every-rows", "1000")
    with serving(served_home, *args) as url:
        for _ in range(2):
            assert httpx.post(f"{url}/predict", json={"inputs": rows}, timeout=10).is_success
    from shipyard.workspace import open_local

    with open_local(served_home) as ws:  # the server wrote its log as it stopped
        window = ws.data.load("credit-risk-predictions@latest")
    assert len(window) == 6
