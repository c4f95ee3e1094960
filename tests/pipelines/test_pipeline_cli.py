"""`shipyard pipeline run`: the --json contract, exit codes, one-line errors, Dask."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from shipyard.cli.main import main

FLOW = """
    import shipyard as sy

    @sy.step
    def numbers(n: int) -> list:
        return list(range(n))

    @sy.step(retries=1)
    def total(values: list, boom: bool) -> float:
        if boom:
            raise RuntimeError("no total today")
        return float(sum(values))

    @sy.step
    def twice(x: float) -> float:
        return 2 * x

    @sy.pipeline
    def sums(n: int = 3, boom: bool = False):
        twice(total(numbers(n), boom))
"""


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["pipeline", "run", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


@pytest.fixture
def flow(ws: object, write_module: Callable[..., Path], monkeypatch: pytest.MonkeyPatch) -> Path:
    path = write_module("flow_cli", FLOW)
    monkeypatch.chdir(path.parent)
    return path


def test_the_json_contract_and_caching(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, err = cli(capsys, "flow_cli:sums", "-p", "n=5")
    assert code == 0, err
    assert doc["status"] == "succeeded"
    assert isinstance(doc["run_id"], str)
    assert doc["cached"] == 0
    assert [(s["name"], s["status"]) for s in doc["steps"]] == [
        ("numbers", "succeeded"),
        ("total", "succeeded"),
        ("twice", "succeeded"),
    ]
    assert all(isinstance(s["seconds"], float) for s in doc["steps"])
    code, again, _ = cli(capsys, "flow_cli:sums", "-p", "n=5")
    assert (code, again["cached"], again["status"]) == (0, 3, "succeeded")
    assert {s["status"] for s in again["steps"]} == {"cached"}


def test_a_failing_step_exits_1_with_one_line(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, doc, err = cli(capsys, "flow_cli:sums", "-p", "boom=true")
    assert code == 1
    assert doc["status"] == "failed"
    assert [s["status"] for s in doc["steps"]] == ["succeeded", "failed", "skipped"]
    assert err.count("\n") == 1
    assert "step 'total' failed after 2 attempts: RuntimeError: no total today" in err


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["flow_cli:nothing"], "has no 'nothing'"),
        (["flow_cli"], "expected MODULE:NAME"),
        (["no_such_module:sums"], "cannot import 'no_such_module'"),
        (["flow_cli:sums", "-p", "size=3"], "has no parameter 'size' (n, boom)"),
        (["flow_cli:sums", "-p", "n=three"], "parameter 'n' takes an int"),
        (["flow_cli:sums", "-p", "boom=maybe"], "parameter 'boom' takes a bool"),
        (["flow_cli:sums", "--executor", "spark"], "unknown executor 'spark'"),
        (["flow_cli:sums", "--cluster", "tcp://x:1"], "--cluster only applies"),
    ],
)
def test_bad_input_is_one_line(
    flow: Path, capsys: pytest.CaptureFixture[str], args: list[str], message: str
) -> None:
    code, _, err = cli(capsys, *args)
    assert code == 1
    assert err.count("\n") == 1
    assert message in err


def test_a_file_path_target(flow: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, doc, err = cli(capsys, f"{flow}:sums")
    assert code == 0, err
    assert doc["status"] == "succeeded"


def test_steps_run_on_a_dask_cluster_of_other_processes(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=1, threads_per_worker=2, processes=True, dashboard_address=None
    ) as cluster:
        address = cluster.scheduler_address
        code, doc, err = cli(capsys, "flow_cli:sums", "--executor", "dask", "--cluster", address)
    assert code == 0, err
    assert [s["status"] for s in doc["steps"]] == ["succeeded"] * 3
    code, again, _ = cli(capsys, "flow_cli:sums")  # the same calls, now cached locally
    assert again["cached"] == 3


def test_a_local_dask_cluster_when_none_is_named(
    flow: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    pytest.importorskip("distributed")
    code, doc, err = cli(capsys, "flow_cli:sums", "-p", "n=7", "--executor", "dask")
    assert code == 0, err
    assert [s["status"] for s in doc["steps"]] == ["succeeded"] * 3
