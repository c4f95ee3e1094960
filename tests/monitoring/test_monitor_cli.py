"""`shipyard monitor drift` on dataset versions and on files: the --json contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, Any, str]:
    code = main(["monitor", "drift", *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def frame(seed: int, shift: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {"score": rng.normal(shift, 1.0, 2000), "band": rng.choice(["low", "high"], 2000)}
    )


def test_dataset_versions_of_a_workspace(
    workspace: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(workspace.home))
    workspace.data.add("scores", frame(1))
    workspace.data.add("scores", frame(2, shift=1.5))
    code, doc, err = cli(capsys, "scores@v1", "scores@v2")
    assert code == 0, err
    assert doc["dataset_drift"] is True  # one of two columns: the default share of 0.5
    assert doc["drift_share"] == 0.5
    by_column = {c["column"]: c for c in doc["columns"]}
    assert by_column["score"]["drifted"] is True
    assert by_column["score"]["test"] == "wasserstein"
    assert by_column["band"]["drifted"] is False
    assert set(by_column["band"]) == {"column", "kind", "test", "statistic", "threshold", "drifted"}


def test_a_file_and_the_version_of_its_bytes_do_not_drift(
    workspace: Any,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(workspace.home))
    table = frame(1).assign(when=pd.date_range("2026-01-01", periods=2000, freq="h"))
    table.to_csv(tmp_path / "same.csv", index=False)
    workspace.data.add("same", tmp_path / "same.csv")
    code, doc, err = cli(capsys, "same@v1", str(tmp_path / "same.csv"))
    assert code == 0, err
    assert doc["drift_share"] == 0.0  # read alike: the timestamps too


def test_files_need_no_workspace(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_HOME", raising=False)
    frame(1).to_csv(tmp_path / "ref.csv", index=False)
    frame(2).to_parquet(tmp_path / "cur.parquet")
    code, doc, err = cli(capsys, "ref.csv", "cur.parquet", "--columns", "score")
    assert code == 0, err
    assert [c["column"] for c in doc["columns"]] == ["score"]
    assert doc["dataset_drift"] is False


@pytest.mark.parametrize(
    ("writer", "args", "message"),
    [
        (
            lambda p: (p / "bad.csv").write_text("a,b\n1,2\n3,4,5\n"),
            ["bad.csv", "bad.csv"],
            "bad.csv line 3: expected 2 columns",
        ),
        (
            lambda p: (p / "x.json").write_text("{}"),
            ["x.json", "x.json"],
            "file suffix must be one of",
        ),
        (lambda p: (p / "d").mkdir(), ["d", "d"], "is a folder"),
        (lambda p: None, ["missing@v1", "missing@v1"], "workspace"),
    ],
)
def test_bad_input_is_one_line(
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    writer: Any,
    args: list[str],
    message: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("SHIPYARD_HOME", raising=False)
    writer(tmp_path)
    code, doc, err = cli(capsys, *args)
    assert code == 1
    assert err.count("\n") == 1
    assert message in err
    assert doc["error"]["message"]


def test_an_unknown_ref_in_a_workspace(
    workspace: Any, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SHIPYARD_HOME", str(workspace.home))
    code, _, err = cli(capsys, "nothing@v1", "nothing@v2")
    assert code == 1
    assert err.count("\n") == 1
    assert "nothing" in err
