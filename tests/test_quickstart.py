"""The quickstart runs every stage that exists and reports each step."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pandas as pd
import pytest

from shipyard.cli.main import main
from shipyard.examples.credit import SENSITIVE, TARGET, make_credit_table


def test_quickstart_reports_its_steps(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["quickstart", "--dir", str(tmp_path / "qs"), "--no-serve", "--json"])
    out, err = capsys.readouterr()
    assert code == 0, err
    report = json.loads(out)
    assert report["ok"] is True
    assert [s["name"] for s in report["steps"]] == [
        "create workspace",
        "generate demo data",
        "version data",
        "version a later snapshot",
        "validate the new snapshot",
        "check the new snapshot for drift",
        "train, track and register models",
        "evaluate with fairness",
        "promote through the policy",
        "write the model card",
        "serve the champion and watch its traffic",
        "retrain with a pipeline",
        "verify audit trail",
    ]
    assert all(step["ok"] and step["detail"] for step in report["steps"])
    assert "run again: 4 of 4 cached" in report["steps"][-2]["detail"]
    assert "2,000 predictions logged as credit-risk-predictions@v1" in report["steps"][-3]["detail"]
    assert report["models"] == ["credit-risk@v1", "credit-risk@v2", "credit-risk@v3"]
    assert report["ui_url"] is None
    table = pd.read_csv(tmp_path / "qs" / "data" / "credit.csv")
    assert len(table) == 20_000
    assert "generate demo data" in err  # progress goes to stderr with --json
    card = (tmp_path / "qs" / "model-card.html").read_text()
    assert "credit-risk@v3" in card
    assert "champion" in card


def test_quickstart_twice_starts_fresh(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard import connect

    for _ in range(2):
        assert main(["quickstart", "--dir", str(tmp_path / "qs"), "--no-serve", "--json"]) == 0
    with connect(tmp_path / "qs") as ws:
        assert [v.ref for v in ws.data.log("credit")] == ["credit@v2", "credit@v1"]
        champion = ws.models.get("credit-risk@champion")
        verdict = ws.models.verdicts(champion.ref)[-1]
        assert verdict["ok"] is True
        assert {check["kind"] for check in verdict["checks"]} == {
            "metric",
            "change",
            "fairness",
            "latency",
            "data_validation",
            "approval",
        }
        assert ws.models.lineage(champion.ref)["datasets"][0]["ref"] == "credit@v1"


def test_quickstart_refuses_a_folder_it_did_not_make(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "mine.txt").write_text("precious")
    code = main(["quickstart", "--dir", str(tmp_path), "--no-serve", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert "not empty" in report["steps"][0]["detail"]
    assert (tmp_path / "mine.txt").read_text() == "precious"


def test_quickstart_versions_and_checks_its_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from shipyard import connect

    assert main(["quickstart", "--dir", str(tmp_path / "qs"), "--no-serve", "--json"]) == 0
    with connect(tmp_path / "qs") as ws:
        first, second = ws.data.get("credit@v1"), ws.data.get("credit@v2")
        assert (first.kind, first.schema["rows"]) == ("table", 20_000)
        assert {p["column"]: p["kind"] for p in first.pii} == {"email": "email"}
        assert second.parent == 1
        assert ws.data.load("credit@v1")["applicant_id"].max() == 20_000
        event_runs = {e.entity_id for e in ws.audit.entries() if e.action == "run.end"}
        ended = [ws.runs.get(run_id) for run_id in sorted(event_runs)]
        runs = [r for r in ended if r.experiment == "credit-risk"]
        retraining = [r for r in ended if r.experiment == "credit_retraining"]
        assert len(runs) == 3
        assert [(r.status, r.inputs) for r in retraining] == [("finished", ["credit@v2"])] * 2
        assert all(r.status == "finished" and r.inputs == ["credit@v1"] for r in runs)
        assert all(0.6 < r.metrics["auc"] < 0.9 for r in runs)
        assert {r.params["C"] for r in runs} == {"0.01", "0.1", "1.0"}


def test_quickstart_failure_is_reported_not_raised(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["quickstart", "--dir", str(blocker), "--no-serve", "--json"])
    report = json.loads(capsys.readouterr().out)
    assert code == 1
    assert report["ok"] is False
    assert report["steps"][-1]["ok"] is False
    assert "is a file" in report["steps"][-1]["detail"]


def test_demo_data_is_reproducible_and_realistic() -> None:
    first = make_credit_table(2_000, seed=3)
    pd.testing.assert_frame_equal(first, make_credit_table(2_000, seed=3))
    assert not first.equals(make_credit_table(2_000, seed=4))
    assert set(SENSITIVE) <= set(first.columns)
    assert set(first[TARGET].unique()) == {0, 1}
    assert 0.1 < first[TARGET].mean() < 0.4
    assert first["income"].isna().any()
    assert {"sex", "employment", "housing", "purpose"} <= set(
        first.select_dtypes("category").columns
    )


def test_later_snapshot_has_drifted() -> None:
    may, june = make_credit_table(5_000, snapshot=1), make_credit_table(5_000, snapshot=2)
    assert june["income"].median() < may["income"].median()
    assert june[TARGET].mean() > may[TARGET].mean()


def test_quickstart_then_serves_the_ui(tmp_path: Path) -> None:
    import os
    import signal
    import subprocess
    import sys

    import httpx

    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    process = subprocess.Popen(
        [sys.executable, "-m", "shipyard", "quickstart", "--dir", str(tmp_path / "qs"), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert process.stdout is not None
        text = ""
        while True:  # the report comes first, then the server blocks
            line = process.stdout.readline()
            assert line, f"no report: {process.stderr.read() if process.stderr else ''}"
            text += line
            if line.startswith("}"):
                break
        report = json.loads(text)
        assert report["ok"] is True
        url = report["ui_url"]
        assert url.startswith("http://127.0.0.1:")
        for _ in range(100):
            try:
                page = httpx.get(url, timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.1)
        assert page.status_code == 200
        assert "credit-risk@v3" in page.text
        assert httpx.get(f"{url}api/v1/health").json()["status"] == "ok"
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        finally:
            process.kill()
    assert process.returncode == 0
