"""sy.connect("http://...", token=...): the same surface, through the server, exactly once."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from typing import Any

import pytest

import shipyard
from live_server import LiveServer
from shipyard.cli.main import main
from shipyard.errors import Conflict, NotFound, Unauthenticated
from shipyard.server.app import create_app


@pytest.fixture
def served(platform: Any) -> Iterator[tuple[str, str]]:
    """A live server with auth on, and an editor's token."""
    _, secret = platform.access.create_token("alice", role="editor")
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, secret


def test_logging_through_the_server(served: tuple[str, str], platform: Any) -> None:
    url, token = served
    with shipyard.connect(url, token=token) as ws:
        with ws.start_run("remote", name="r1", tags={"where": "server"}) as run:
            run.log_params({"C": 0.5})
            for i in range(250):
                run.log_metric("loss", 1.0 / (i + 1))
        stored = ws.runs.get(run.id)
        assert (stored.status, stored.user, stored.params) == ("finished", "alice", {"C": "0.5"})
        assert len(ws.runs.history(run.id, "loss")) == 250
        assert [r.id for r in ws.runs.search(filter="tags.where = 'server'")] == [run.id]
        with pytest.raises(NotFound):
            ws.runs.get("missing")
        with ws.start_run("remote") as other:
            other.log_param("C", 1)
            with pytest.raises(Conflict):
                other.log_param("C", 2)
    assert platform.runs.get(run.id).metrics["loss"] == pytest.approx(1 / 250)


def test_a_bad_token_is_unauthenticated(served: tuple[str, str]) -> None:
    url, _ = served
    with shipyard.connect(url, token="sy_wrong") as ws, pytest.raises(Unauthenticated):
        ws.runs.search()


class LosesFirstAnswers:
    """An ASGI wrapper that lets the app handle metric batches but loses the first answers.

    It stands for a server killed (or a network cut) after the commit and before the
    reply reached the client: the client must retry, and the batch must land once.
    """

    def __init__(self, app: Any, losses: int) -> None:
        self.app = app
        self.losses = losses

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        lose = (
            scope["type"] == "http"
            and scope["path"].endswith("/metrics")
            and scope["method"] == "POST"
            and self.losses > 0
        )
        if not lose:
            await self.app(scope, receive, send)
            return
        self.losses -= 1

        async def swallow(message: Any) -> None:  # the app's answer never arrives
            return None

        await self.app(scope, receive, swallow)
        await send({"type": "http.response.start", "status": 503, "headers": []})
        await send({"type": "http.response.body", "body": b""})


def test_a_lost_answer_is_retried_and_applied_once(platform: Any) -> None:
    with LiveServer(LosesFirstAnswers(create_app(platform, auth=False), losses=2)) as url:
        with shipyard.connect(url) as ws, ws.start_run("flaky") as run:
            for i in range(100):
                run.log_metric("m", float(i))
            assert run.flush() == 100
        history = platform.runs.history(run.id, "m")
    assert [p.value for p in history] == [float(i) for i in range(100)]


LOGGER = textwrap.dedent(
    """
    import sys
    import shipyard
    url, token, worker = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with shipyard.connect(url, token=token) as ws, ws.start_run("fleet", name=f"w{worker}") as run:
        for i in range(400):
            run.log_metric("m", float(i))
    """
)


@pytest.mark.slow
def test_sixteen_processes_land_every_point_once(served: tuple[str, str], platform: Any) -> None:
    url, token = served
    procs = [
        subprocess.Popen([sys.executable, "-c", LOGGER, url, token, str(w)], stderr=subprocess.PIPE)
        for w in range(16)
    ]
    errors = [p.communicate(timeout=180)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    runs = platform.runs.search(experiment="fleet", limit=None)
    assert len(runs) == 16
    assert all(len(platform.runs.history(r.id, "m")) == 400 for r in runs)


def test_the_cli_acts_through_the_server(
    served: tuple[str, str], monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    url, token = served
    with shipyard.connect(url, token=token) as ws, ws.start_run("cli") as run:
        run.log_metric("auc", 0.9)
    monkeypatch.setenv("SHIPYARD_SERVER", url)
    monkeypatch.setenv("SHIPYARD_TOKEN", token)
    assert main(["runs", "list", "--json"]) == 0
    assert [r["id"] for r in json.loads(capsys.readouterr().out)] == [run.id]
    assert main(["users", "list"]) == 1
    assert "not available through a server" in capsys.readouterr().err
