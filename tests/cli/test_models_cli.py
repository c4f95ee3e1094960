"""`shipyard models` and `shipyard lineage`: --json documents, gates and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard.cli.main import main
from shipyard.examples.credit import make_credit_table
from shipyard.examples.training import feature_columns, make_model


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def registered(workspace: Any, workspace_dir: Path) -> Path:
    """A workspace with credit@v1 and two versions of credit-risk logged from runs on it."""
    frame = make_credit_table(1500, seed=3)
    data = workspace.data.add("credit", frame)
    numeric, categorical = feature_columns(frame)
    X = frame[numeric + categorical]
    for C in (1.0, 0.5):
        with workspace.start_run("credit", inputs=[data]) as run:
            model = make_model(frame, C).fit(X, frame["default"])
            run.log_model(model, name="credit-risk", example=X.head(5))
    return workspace_dir


def test_list_show_and_lineage(registered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    listed = run_json(capsys, "--home", str(registered), "models", "list")
    assert [m["ref"] for m in listed] == ["credit-risk@v2"]
    shown = run_json(capsys, "--home", str(registered), "models", "show", "credit-risk@v1")
    assert shown["ref"] == "credit-risk@v1"
    assert shown["flavor"] == "sklearn"
    assert shown["lineage"]["datasets"][0]["ref"] == "credit@v1"
    assert {c["name"] for c in shown["signature"]["inputs"]} >= {"age", "income", "purpose"}
    code, out, _ = run(capsys, "--home", str(registered), "lineage", "credit-risk@v1")
    assert code == 0
    assert "credit@v1" in out
    assert "personal data: email" in out


def test_promote_without_policy_then_with_failing_gates(
    registered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = str(registered)
    verdict = run_json(
        capsys, "--home", home, "models", "promote", "credit-risk", "1", "-a", "champion"
    )
    assert verdict["ok"] is True
    policy = tmp_path / "policy.yaml"
    policy.write_text(
        "evaluation: {data: credit@v1, target: default, sensitive: [sex]}\n"
        "gates:\n  - roc_auc >= 0.999\n  - demographic_parity_difference[sex] <= 1\n"
    )
    document = run_json(
        capsys, "--home", home, "models", "policy", "credit-risk", "-f", str(policy)
    )
    assert document["gates"] == ["roc_auc >= 0.999", "demographic_parity_difference[sex] <= 1"]
    code, out, err = run(
        capsys, "--home", home, "models", "promote", "credit-risk", "2", "-a", "champion"
    )
    assert code == 1
    assert out == ""
    assert err.count("\n") == 1  # one line
    assert "1 of 2 check(s) failed" in err
    assert "roc_auc >= 0.999" in err
    shown = run_json(capsys, "--home", home, "models", "show", "credit-risk@champion")
    assert shown["version"] == 1  # the alias did not move
    refused = run_json(capsys, "--home", home, "models", "show", "credit-risk@v2")
    assert refused["verdicts"][-1]["ok"] is False


def test_a_policy_naming_an_unknown_metric_is_refused(
    registered: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    policy = tmp_path / "policy.yaml"
    policy.write_text("evaluation: {data: credit, target: default}\ngates: ['auk >= 0.8']\n")
    code, _, err = run(
        capsys, "--home", str(registered), "models", "policy", "credit-risk", "-f", str(policy)
    )
    assert code == 1
    assert "metric 'auk', which does not exist" in err


def test_approvals_and_evaluate(registered: Path, capsys: pytest.CaptureFixture[str]) -> None:
    home = str(registered)
    requested = run_json(capsys, "--home", home, "models", "request-approval", "credit-risk@v2")
    assert requested["action"] == "requested"
    code, _, err = run(capsys, "--home", home, "models", "reject", "credit-risk@v2")
    assert code == 1
    assert "needs a --comment" in err
    approved = run_json(capsys, "--home", home, "models", "approve", "credit-risk@v2", "-c", "ok")
    assert approved["action"] == "approved"
    result = run_json(
        capsys,
        "--home",
        home,
        "models",
        "evaluate",
        "credit-risk@v2",
        "credit@v1",
        "--target",
        "default",
        "--sensitive",
        "sex",
    )
    assert 0.5 < result["metrics"]["roc_auc"] <= 1
    assert set(result["fairness"]["sex"]["by_group"]) == {"female", "male"}


def test_unknown_refs_are_one_line_errors(
    registered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for args in (
        ("models", "show", "nope"),
        ("models", "show", "credit-risk@v9"),
        ("lineage", "credit-risk@gold"),
    ):
        code, out, err = run(capsys, "--home", str(registered), *args)
        assert code == 1
        assert out == ""
        assert err.startswith("error: ")
        assert err.count("\n") == 1


def test_lineage_of_a_dataset_shows_what_was_built_from_it(
    registered: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    graph = run_json(capsys, "--home", str(registered), "lineage", "credit@v1", "--data")
    assert graph["dataset"] == "credit@v1"
    assert [run["models"] for run in graph["runs"]] == [["credit-risk@v1"], ["credit-risk@v2"]]
    code, out, _ = run(capsys, "--home", str(registered), "lineage", "credit", "--data")
    assert code == 0
    assert "model credit-risk@v2" in out
