"""Runs: lifecycle, immutable params, buffered metrics that are never lost, lineage."""

from __future__ import annotations

import math
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from shipyard.errors import Conflict, NotFound, ValidationError


def test_a_run_records_params_metrics_tags_and_ends_finished(workspace: Any) -> None:
    with workspace.start_run("credit", name="baseline", tags={"stage": "dev"}) as run:
        run.log_params({"C": 1.0, "model": "lr"})
        for step in range(5):
            run.log_metric("auc", 0.8 + step / 100)
        run.log_metric("loss", 0.25, step=10)
    stored = workspace.runs.get(run.id)
    assert (stored.experiment, stored.name, stored.status, stored.user) == (
        "credit",
        "baseline",
        "finished",
        "tester",
    )
    assert stored.params == {"C": "1.0", "model": "lr"}
    assert stored.metrics == {"auc": pytest.approx(0.84), "loss": 0.25}
    assert stored.tags == {"stage": "dev"}
    assert stored.end_time is not None
    assert stored.end_time >= stored.start_time
    assert stored.environment["python"]
    history = workspace.runs.history(run.id, "auc")
    assert [p.step for p in history] == [0, 1, 2, 3, 4]
    assert [p.value for p in history] == pytest.approx([0.8, 0.81, 0.82, 0.83, 0.84])
    assert workspace.audit.verify().ok


def test_an_exception_marks_the_run_failed_and_is_reraised(workspace: Any) -> None:
    started: list[Any] = []

    def train() -> None:
        with workspace.start_run("credit") as run:
            started.append(run)
            run.log_metric("auc", 0.5)
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError, match="boom"):
        train()
    stored = workspace.runs.get(started[0].id)
    assert stored.status == "failed"
    assert stored.metrics == {"auc": 0.5}  # buffered points were flushed first


def test_params_never_change(workspace: Any) -> None:
    with workspace.start_run() as run:
        run.log_param("C", 1)
        run.log_param("C", 1)  # the same value again is fine
        with pytest.raises(Conflict, match="params never change"):
            run.log_param("C", 2)
    assert workspace.runs.get(run.id).params == {"C": "1"}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("high", "must be a number"),
        (True, "must be a number"),
        (math.inf, "finite"),
        (None, "number"),
    ],
    ids=["string", "bool", "inf", "none"],
)
def test_bad_metric_values_are_refused(workspace: Any, value: Any, message: str) -> None:
    with workspace.start_run() as run, pytest.raises(ValidationError, match=message):
        run.log_metric("auc", value)


@pytest.mark.parametrize(
    "key", ["", "a" * 251, "bad\nkey", 3], ids=["empty", "long", "newline", "int"]
)
def test_bad_keys_are_refused(workspace: Any, key: Any) -> None:
    with workspace.start_run() as run, pytest.raises(ValidationError, match="names of params"):
        run.log_metric(key, 1.0)


def test_unknown_runs_and_finished_runs(workspace: Any) -> None:
    with pytest.raises(NotFound, match="no run with id"):
        workspace.runs.get("nope")
    with pytest.raises(NotFound):
        workspace.runs.history("nope", "auc")
    with workspace.start_run() as run:
        pass
    with pytest.raises(Conflict, match="finished"):
        run.log_params({"late": 1})


def test_metrics_flush_by_size_and_on_demand(workspace: Any) -> None:
    with workspace.start_run() as run:
        for i in range(1500):
            run.log_metric("x", float(i))
        assert len(workspace.runs.history(run.id, "x")) == 1000  # one full batch written
        assert run.flush() == 500
        assert len(workspace.runs.history(run.id, "x")) == 1500


def test_the_latest_value_follows_the_highest_step(workspace: Any) -> None:
    with workspace.start_run() as run:
        run.log_metric("acc", 0.9, step=10)
        run.flush()
        run.log_metric("acc", 0.1, step=3)  # an older step logged late
    assert workspace.runs.get(run.id).metrics["acc"] == 0.9


def test_inputs_link_dataset_versions(workspace: Any, tmp_path: Path) -> None:
    (tmp_path / "d.csv").write_text("a,b\n1,2\n")
    version = workspace.data.add("d", tmp_path / "d.csv")
    with workspace.start_run(inputs=[version, "d@v1"]) as run:
        pass
    assert workspace.runs.get(run.id).inputs == ["d@v1"]
    with pytest.raises(NotFound):
        workspace.start_run(inputs=["missing@v1"])


def test_code_version_inside_git(
    workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    repo = tmp_path / "repo"
    repo.mkdir()
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=repo, check=True)
    (repo / "train.py").write_text("print(1)\n")
    subprocess.run([*git, "add", "."], cwd=repo, check=True)
    subprocess.run([*git, "commit", "-qm", "x"], cwd=repo, check=True)
    monkeypatch.chdir(repo)
    with workspace.start_run() as clean:
        pass
    (repo / "train.py").write_text("print(2)\n")
    with workspace.start_run() as dirty:
        pass
    first, second = (workspace.runs.get(r.id).code_version for r in (clean, dirty))
    assert len(first["commit"]) == 40
    assert (first["dirty"], first["diff_digest"]) == (False, None)
    assert second["dirty"] is True
    assert len(second["diff_digest"]) == 64


LOGGER = textwrap.dedent(
    """
    import sys
    import shipyard
    worker, home = int(sys.argv[1]), sys.argv[2]
    ws = shipyard.connect(home)
    run = ws.start_run("load", name=f"w{worker}")
    for i in range(300):
        run.log_metric("m", float(i))
    if worker % 2:
        run.end()
    # even workers exit without ending: the points must still land at exit
    """
)


@pytest.mark.slow
def test_concurrent_processes_lose_no_point(workspace: Any, workspace_dir: Path) -> None:
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", LOGGER, str(w), str(workspace_dir)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(8)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert all(p.returncode == 0 for p in procs), errors
    from sqlalchemy import text

    with workspace._platform.db.read() as conn:
        counts = conn.execute(
            text("SELECT run_id, count(*) FROM run_metrics GROUP BY run_id")
        ).all()
    assert sorted(n for _, n in counts) == [300] * 8
    assert workspace.audit.verify().ok
