"""`shipyard runs` and ws.runs.search: the search language end to end."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard.cli.main import main
from shipyard.errors import NotFound, ValidationError


@pytest.fixture
def sweep(workspace: Any) -> list[str]:
    ids = []
    for i, (model, auc) in enumerate([("rf", 0.91), ("lr", 0.85), ("rf", 0.95), ("gb", 0.70)]):
        with workspace.start_run("credit" if i < 3 else "other", name=f"r{i}") as run:
            run.log_params({"model": model, "depth": i})
            run.log_metric("auc", auc)
        ids.append(run.id)
    return ids


def test_search_filters_orders_and_limits(workspace: Any, sweep: list[str]) -> None:
    found = workspace.runs.search(
        filter="metrics.auc > 0.8 and params.model = 'rf'", order_by="metrics.auc desc"
    )
    assert [r.id for r in found] == [sweep[2], sweep[0]]
    assert [r.name for r in workspace.runs.search(experiment="other")] == ["r3"]
    assert len(workspace.runs.search(order_by="metrics.auc", limit=2)) == 2
    assert workspace.runs.search(order_by="metrics.auc", limit=1)[0].id == sweep[3]
    with pytest.raises(NotFound, match="no experiment"):
        workspace.runs.search(experiment="nope")
    with pytest.raises(ValidationError, match="position 13"):
        workspace.runs.search(filter="metrics.auc >")


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, Any, str]:
    code = main(["--home", str(home), *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_cli_list_show_compare(
    workspace_dir: Path, sweep: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    code, runs, err = cli(
        capsys,
        workspace_dir,
        "runs",
        "list",
        "--filter",
        "params.model = 'rf'",
        "--order-by",
        "metrics.auc desc",
    )
    assert code == 0, err
    assert [r["id"] for r in runs] == [sweep[2], sweep[0]]
    assert {"id", "params", "metrics"} <= runs[0].keys()
    assert runs[0]["metrics"] == {"auc": 0.95}
    _, shown, _ = cli(capsys, workspace_dir, "runs", "show", sweep[1])
    assert (shown["params"], shown["status"]) == ({"model": "lr", "depth": "1"}, "finished")
    _, compared, _ = cli(capsys, workspace_dir, "runs", "compare", sweep[0], sweep[1])
    assert [r["metrics"]["auc"] for r in compared] == [0.91, 0.85]
    assert main(["--home", str(workspace_dir), "runs", "compare", sweep[0], sweep[1]]) == 0
    assert "param model" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["runs", "list", "--filter", "metrics.auc >"], "position 13"),
        (["runs", "list", "--filter", "colour = 'red'"], "unknown"),
        (["runs", "show", "nope"], "no run with id"),
        (["runs", "list", "--experiment", "nope"], "no experiment"),
    ],
    ids=["syntax", "unknown-field", "unknown-run", "unknown-experiment"],
)
def test_cli_errors_are_one_line(
    workspace_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str], needle: str
) -> None:
    code, document, err = cli(capsys, workspace_dir, *args)
    assert code == 1
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert document["error"]["message"]
