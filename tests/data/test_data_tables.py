"""Tabular versions: facts computed at add time, rules enforced, bad tables refused."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from shipyard.cli.main import main
from shipyard.errors import ValidationError
from shipyard.examples.credit import make_credit_table

RULES = """
columns:
  age: {type: int, min: 18, max: 75}
  sex: {allowed: [female, male]}
  applicant_id: {unique: true}
"""


@pytest.fixture
def credit_csv(tmp_path: Path) -> Path:
    path = tmp_path / "credit.csv"
    make_credit_table(500, seed=1).to_csv(path, index=False)
    return path


def test_a_table_version_carries_schema_profile_and_pii(workspace: Any, credit_csv: Path) -> None:
    version = workspace.data.add("credit", credit_csv)
    assert (version.kind, version.table_path) == ("table", "credit.csv")
    columns = {c["name"]: c for c in version.schema["columns"]}
    assert columns["age"]["type"] == "int"
    assert columns["income"]["nullable"] is True
    assert version.profile["rows"] == 500
    assert version.profile["columns"]["age"]["count"] == 500
    assert [(p["column"], p["kind"]) for p in version.pii] == [("email", "email")]
    again = workspace.data.get("credit@v1")
    assert again.schema == version.schema
    assert again.pii == version.pii


def test_a_dataframe_round_trips(workspace: Any) -> None:
    frame = make_credit_table(300, seed=2)
    version = workspace.data.add("frame", frame)
    assert version.table_path == "frame.parquet"
    pd.testing.assert_frame_equal(workspace.data.load("frame@v1"), frame)
    assert workspace.data.add_with_stats("frame", frame).created is False
    stat_caches = workspace.home / "cache" / "stat"
    assert not stat_caches.exists() or not any(stat_caches.iterdir())  # temp files: no cache


def test_add_with_rules_refuses_a_failing_version(
    workspace: Any, credit_csv: Path, tmp_path: Path
) -> None:
    rules = tmp_path / "rules.yaml"
    rules.write_text(RULES)
    workspace.data.add("credit", credit_csv, rules=rules)
    broken = pd.read_csv(credit_csv)
    broken.loc[3, "age"] = 12
    broken.loc[7, "sex"] = "unknown"
    broken.to_csv(credit_csv, index=False)
    with pytest.raises(ValidationError, match="fails validation") as caught:
        workspace.data.add("credit", credit_csv, rules=rules)
    failures = {(d["column"], d["rule"]) for d in caught.value.details}
    assert failures == {("age", "min"), ("sex", "allowed")}
    assert [v.ref for v in workspace.data.log("credit")] == ["credit@v1"]
    report = workspace.data.validate("credit@v1", rules)
    assert report.ok


def test_validate_with_inferred_rules_catches_drift(workspace: Any, tmp_path: Path) -> None:
    first = tmp_path / "a.csv"
    make_credit_table(2_000, seed=3).to_csv(first, index=False)
    workspace.data.add("credit", first)
    assert workspace.data.validate("credit@v1").ok
    later = make_credit_table(2_000, seed=3, snapshot=2).astype({"employment": str})
    later.loc[0, "employment"] = "astronaut"
    later.to_csv(first, index=False)
    workspace.data.add("credit", first)
    report = workspace.data.validate("credit@v2")
    assert not report.ok
    by_rule = {(f.column, f.rule): f for f in report.failures}
    assert by_rule[("employment", "allowed")].examples[0] == {"row": 0, "value": "astronaut"}


def test_a_ragged_csv_is_refused_and_records_nothing(workspace: Any, tmp_path: Path) -> None:
    path = tmp_path / "ragged.csv"
    path.write_text("a,b,c\n1,2,3\n4,5\n6,7,8\n")
    with pytest.raises(ValidationError, match="line 3"):
        workspace.data.add("ragged", path)
    assert workspace.data.list() == []


def test_cli_validate_and_bad_rules_file(
    workspace_dir: Path, credit_csv: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    home = ["--home", str(workspace_dir)]
    assert main([*home, "data", "add", "credit", str(credit_csv)]) == 0
    out = capsys.readouterr().out
    assert "personal data? column email: email" in out
    assert main([*home, "data", "show", "credit"]) == 0
    assert "email: email" in capsys.readouterr().out
    bad = tmp_path / "bad.yaml"
    bad.write_text("columns:\n  age: {min: abc, colour: red}\n")
    assert main([*home, "data", "validate", "credit", "--schema", str(bad)]) == 1
    err = capsys.readouterr().err
    assert "bad.yaml" in err
    assert len(err.strip().splitlines()) == 1
    strict = tmp_path / "strict.yaml"
    strict.write_text("columns:\n  age: {max: 30}\n")
    assert main([*home, "data", "validate", "credit", "--schema", str(strict), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["failures"][0]["column"] == "age"
    assert report["failures"][0]["count"] > 0
