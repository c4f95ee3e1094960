"""`shipyard data` through the CLI: the --json contract and one-line errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from trees import make_tree, tree_of

from shipyard.cli.main import main


def cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, Any, str]:
    code = main(["--home", str(home), *args, "--json"])
    out, err = capsys.readouterr()
    return code, json.loads(out) if out.strip() else None, err


def test_add_show_log_ls_diff_checkout(
    workspace_dir: Path, tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, added, err = cli(capsys, workspace_dir, "data", "add", "raw", str(tree), "-m", "May")
    assert code == 0, err
    assert {"name", "version", "ref", "digest", "files", "bytes"} <= added.keys()
    assert (added["name"], added["version"], added["ref"], added["files"]) == (
        "raw",
        1,
        "raw@v1",
        4,
    )
    _, again, _ = cli(capsys, workspace_dir, "data", "add", "raw", str(tree))
    assert (again["ref"], again["created"]) == ("raw@v1", False)
    (tree / "a.txt").write_text("new\n")
    _, second, _ = cli(capsys, workspace_dir, "data", "add", "raw", str(tree), "-m", "June")
    assert second["ref"] == "raw@v2"
    _, shown, _ = cli(capsys, workspace_dir, "data", "show", "raw@v1")
    assert (shown["ref"], shown["message"], shown["digest"]) == ("raw@v1", "May", added["digest"])
    _, history, _ = cli(capsys, workspace_dir, "data", "log", "raw")
    assert [v["ref"] for v in history] == ["raw@v2", "raw@v1"]
    _, listed, _ = cli(capsys, workspace_dir, "data", "ls")
    assert [v["ref"] for v in listed] == ["raw@v2"]
    _, diff, _ = cli(capsys, workspace_dir, "data", "diff", "raw@v1", "raw@v2")
    assert diff["files"]["changed"] == ["a.txt"]
    dest = tmp_path / "restored"
    _, restored, _ = cli(capsys, workspace_dir, "data", "checkout", "raw@v2", str(dest))
    assert (restored["ref"], restored["files"]) == ("raw@v2", 4)
    assert tree_of(dest) == tree_of(tree)


def test_status(workspace_dir: Path, tree: Path, capsys: pytest.CaptureFixture[str]) -> None:
    cli(capsys, workspace_dir, "data", "add", "raw", str(tree))
    _, status, _ = cli(capsys, workspace_dir, "data", "status", "raw", str(tree))
    assert status["clean"] is True
    (tree / "extra.txt").write_text("x")
    _, status, _ = cli(capsys, workspace_dir, "data", "status", "raw", str(tree))
    assert (status["clean"], status["added"]) == (False, ["extra.txt"])


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["data", "add", "raw", "/no/such/path"], "no such file"),
        (["data", "show", "raw@v3"], "no version"),
        (["data", "show", "unknown"], "no dataset named 'unknown'"),
        (["data", "log", "bad name"], "dataset name must"),
        (["data", "checkout", "raw", "{occupied}"], "not empty"),
        (["data", "validate", "raw"], "not tabular"),
    ],
    ids=["missing-path", "unknown-version", "unknown-name", "bad-name", "occupied", "not-table"],
)
def test_errors_are_one_line(
    workspace_dir: Path,
    tree: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    needle: str,
) -> None:
    cli(capsys, workspace_dir, "data", "add", "raw", str(tree))
    occupied = make_tree(tmp_path / "occupied", {"x": "y"})
    args = [a.replace("{occupied}", str(occupied)) for a in args]
    code, document, err = cli(capsys, workspace_dir, *args)
    assert code == 1
    assert needle in err
    assert len(err.strip().splitlines()) == 1
    assert document["error"]["message"]
