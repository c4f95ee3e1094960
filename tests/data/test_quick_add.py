"""`data add` of a large file while the workspace opens: the same versions as the plain path.

``OVERLAP_MIN`` is lowered so that a few MiB count as large; the plain path is forced
by a ``sqlite+pysqlite`` URL naming the same file (the shortcut reads only plain
``sqlite:///`` URLs), so both paths are compared on one workspace without any mock.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from trees import age

from shipyard import connect
from shipyard.cli.main import main
from shipyard.data import quick_add as quick
from shipyard.errors import ValidationError

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)
MiB = 1 << 20


@pytest.fixture(autouse=True)
def _small_overlap(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(quick, "OVERLAP_MIN", MiB)


def _big(path: Path, size: int = 3 * MiB) -> Path:
    path.write_bytes(os.urandom(size))
    age(path)  # old enough for the stat cache to trust
    return path


def _opener(home: Path) -> Any:
    return lambda: connect(home)


def _cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), "data", *args])
    out, err = capsys.readouterr()
    return code, out, err


@SQLITE
def test_a_large_file_is_stored_while_the_workspace_opens(
    workspace_dir: Path, tmp_path: Path
) -> None:
    big = _big(tmp_path / "big.bin")
    first = quick.quick_add(str(workspace_dir), "big", big, _opener(workspace_dir), message="m")
    assert first is not None
    assert (first.created, first.version.ref, first.hashed, first.new_bytes) == (
        True,
        "big@v1",
        1,
        3 * MiB,
    )
    again = quick.quick_add(str(workspace_dir), "big", big, _opener(workspace_dir))
    assert again is not None
    assert (again.created, again.version, again.hashed, again.new_bytes) == (
        False,
        first.version,
        0,
        0,
    )
    _big(big)
    second = quick.quick_add(str(workspace_dir), "big", big, _opener(workspace_dir))
    assert second is not None
    assert (second.version.ref, second.version.parent, second.hashed) == ("big@v2", 1, 1)
    with connect(workspace_dir) as ws:
        assert [v.ref for v in ws.data.log("big")] == ["big@v2", "big@v1"]
        assert ws.audit.entries()[-1].action == "dataset.add"
        ws.data.checkout("big@v2", tmp_path / "out")
    assert (tmp_path / "out" / "big.bin").read_bytes() == big.read_bytes()


@SQLITE
def test_the_cli_prints_what_the_plain_path_prints(
    workspace_dir: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    big = _big(tmp_path / "big.bin")
    code, out, _ = _cli(capsys, workspace_dir, "add", "big", str(big), "--json", "-m", "one")
    fast = json.loads(out)
    url = os.environ["SHIPYARD_STORE_URL"]
    monkeypatch.setenv("SHIPYARD_STORE_URL", url.replace("sqlite://", "sqlite+pysqlite://", 1))
    assert quick.quick_add(str(workspace_dir), "big", big, _opener(workspace_dir)) is None
    code2, out2, _ = _cli(capsys, workspace_dir, "add", "big", str(big), "--json")
    plain = json.loads(out2)
    assert (code, code2) == (0, 0)
    assert (fast["created"], plain["created"]) == (True, False)  # the plain path saw v1
    assert {k: fast[k] for k in ("ref", "digest", "files", "bytes", "message")} == {
        "ref": "big@v1",
        "digest": plain["digest"],
        "files": 1,
        "bytes": 3 * MiB,
        "message": "one",
    }


@SQLITE
def test_failing_rules_record_nothing(
    workspace_dir: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    table = tmp_path / "t.csv"
    table.write_text("age\n" + "".join(f"{40 + i % 20}\n" for i in range(400_000)))
    rules = tmp_path / "rules.yaml"
    rules.write_text("columns:\n  age: {type: int, max: 30}\n")
    code, out, err = _cli(capsys, workspace_dir, "add", "t", str(table), "--validate", str(rules))
    assert (code, out) == (1, "")
    assert "age" in err
    assert len(err.strip().splitlines()) == 1
    with connect(workspace_dir) as ws:
        assert ws.data.list() == []
    with pytest.raises(ValidationError, match="age"):
        quick.quick_add(str(workspace_dir), "t", table, _opener(workspace_dir), rules=rules)


@SQLITE
def test_small_files_folders_and_missing_paths_take_the_plain_path(
    workspace_dir: Path, tmp_path: Path
) -> None:
    small = tmp_path / "small.txt"
    small.write_text("small\n")
    for path in (small, tmp_path, tmp_path / "missing.bin"):
        assert quick.quick_add(str(workspace_dir), "d", path, _opener(workspace_dir)) is None


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgresql_and_servers_take_the_plain_path(
    workspace_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = _big(tmp_path / "big.bin")
    assert quick.quick_add(str(workspace_dir), "big", big, _opener(workspace_dir)) is None
    assert quick.quick_add("http://127.0.0.1:9", "big", big, _opener(workspace_dir)) is None
    monkeypatch.setenv("SHIPYARD_SERVER", "http://127.0.0.1:9")
    assert quick.quick_add(None, "big", big, _opener(workspace_dir)) is None
