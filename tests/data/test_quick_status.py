"""`data status` without SQLAlchemy on SQLite workspaces: the same report, or the full path.

The fast path is compared with the full one on the same workspace: a ``sqlite+pysqlite``
store URL names the same file but is not one the fast path reads, so it forces the
full path without any mock.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from trees import age

from shipyard import connect
from shipyard.cli.main import main
from shipyard.data import quick_status as quick

SQLITE = pytest.mark.parametrize("store_url", ["sqlite"], indirect=True)


def _cli(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), "data", *args])
    out, err = capsys.readouterr()
    return code, out, err


def _full_path_url(monkeypatch: pytest.MonkeyPatch) -> None:
    """Point the workspace at the same SQLite file through a URL the fast path skips."""
    url = os.environ["SHIPYARD_STORE_URL"]
    monkeypatch.setenv("SHIPYARD_STORE_URL", url.replace("sqlite://", "sqlite+pysqlite://", 1))


def _both_paths(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    home: Path,
    *args: str,
) -> tuple[tuple[int, str, str], tuple[int, str, str]]:
    """The CLI's answer to ``data ARGS`` on the fast path, then on the full path."""
    assert quick.sqlite_file(os.environ["SHIPYARD_STORE_URL"]) is not None
    fast = _cli(capsys, home, *args)
    with monkeypatch.context() as patched:
        _full_path_url(patched)
        assert quick.sqlite_file(os.environ["SHIPYARD_STORE_URL"]) is None
        full = _cli(capsys, home, *args)
    return fast, full


def _add_file(tree: Path) -> None:
    (tree / "nested" / "new.txt").write_text("new\n")


def _remove_file(tree: Path) -> None:
    (tree / "a.txt").unlink()


def _change_bytes(tree: Path) -> None:
    (tree / "nested" / "deeper" / "c.csv").write_text("x,y\n3,4\n")
    age(tree / "nested" / "deeper" / "c.csv")


def _change_mode(tree: Path) -> None:
    (tree / "nested" / "b.bin").chmod(0o644)


def _all_at_once(tree: Path) -> None:
    for edit in (_add_file, _remove_file, _change_bytes, _change_mode):
        edit(tree)


EDITS: dict[str, Callable[[Path], None]] = {
    "clean": lambda tree: None,
    "added": _add_file,
    "removed": _remove_file,
    "changed": _change_bytes,
    "mode": _change_mode,
    "everything": _all_at_once,
}


@SQLITE
@pytest.mark.parametrize("edit", EDITS.values(), ids=EDITS.keys())
def test_fast_path_prints_what_the_full_path_prints(
    workspace_dir: Path,
    tree: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    edit: Callable[[Path], None],
) -> None:
    assert _cli(capsys, workspace_dir, "add", "raw", str(tree))[0] == 0
    edit(tree)
    text, text_full = _both_paths(capsys, monkeypatch, workspace_dir, "status", "raw", str(tree))
    assert text == text_full
    fast, full = _both_paths(
        capsys, monkeypatch, workspace_dir, "status", "raw", str(tree), "--json"
    )
    assert fast == full
    assert (fast[0], text[0]) == (0, 0)
    with connect(workspace_dir) as ws:
        expected = ws.data.status("raw", tree).to_dict()
    report = quick.quick_status(str(workspace_dir), "raw", tree)
    assert report is not None  # the fast path answered
    assert report.to_dict() == expected == json.loads(fast[1])


@SQLITE
def test_fast_path_compares_with_the_latest_version(
    workspace_dir: Path, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    _change_bytes(tree)
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    report = quick.quick_status(str(workspace_dir), "raw", tree)
    assert report is not None
    assert (report.ref, report.diff.clean) == ("raw@v2", True)


@SQLITE
def test_unknown_dataset_reports_no_version_yet_as_before(
    workspace_dir: Path,
    tree: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fast, full = _both_paths(capsys, monkeypatch, workspace_dir, "status", "nope", str(tree))
    assert fast == full
    assert fast[0] == 0
    assert fast[1].startswith(f"{tree} against no version yet:")
    fast, full = _both_paths(
        capsys, monkeypatch, workspace_dir, "status", "nope", str(tree), "--json"
    )
    assert fast == full
    document = json.loads(fast[1])
    assert (document["ref"], document["clean"], len(document["added"])) == (None, False, 4)


@SQLITE
@pytest.mark.parametrize(
    ("name", "path", "needle"),
    [("bad name", None, "dataset name must"), ("raw", "/no/such/path", "no such file")],
    ids=["bad-name", "missing-path"],
)
def test_errors_are_the_same_one_line(
    workspace_dir: Path,
    tree: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    name: str,
    path: str | None,
    needle: str,
) -> None:
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    fast, full = _both_paths(capsys, monkeypatch, workspace_dir, "status", name, path or str(tree))
    assert fast == full
    code, out, err = fast
    assert (code, out) == (1, "")
    assert needle in err
    assert len(err.strip().splitlines()) == 1


def _run_probe(home: Path, *args: str) -> tuple[int, bool, str]:
    """Run ``shipyard data ARGS`` in a fresh interpreter: the exit code, whether
    SQLAlchemy got imported, and stdout."""
    probe = (
        "import sys\nfrom shipyard.cli.main import main\n"
        "code = main(sys.argv[1:])\n"
        "sys.stderr.write(f'\\nPROBE {code} {\"sqlalchemy\" in sys.modules}\\n')"
    )
    command = [sys.executable, "-c", probe, "--home", str(home), "data", *args]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    _, code, imported = done.stderr.strip().splitlines()[-1].split()
    return int(code), imported == "True", done.stdout


@SQLITE
def test_status_on_sqlite_never_imports_sqlalchemy(
    workspace_dir: Path,
    tree: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    code, imported, out = _run_probe(workspace_dir, "status", "raw", str(tree), "--json")
    assert (code, imported, json.loads(out)["clean"]) == (0, False, True)
    _full_path_url(monkeypatch)  # the probe can tell: the full path imports it
    code, imported, out = _run_probe(workspace_dir, "status", "raw", str(tree), "--json")
    assert (code, imported, json.loads(out)["clean"]) == (0, True, True)


@pytest.mark.parametrize("store_url", ["postgresql"], indirect=True)
def test_postgresql_store_takes_the_full_path(
    workspace_dir: Path, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert quick.quick_status(str(workspace_dir), "raw", tree) is None
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    _add_file(tree)
    code, out, _ = _cli(capsys, workspace_dir, "status", "raw", str(tree), "--json")
    with connect(workspace_dir) as ws:
        assert json.loads(out) == ws.data.status("raw", tree).to_dict()
    assert (code, json.loads(out)["added"]) == (0, ["nested/new.txt"])


@SQLITE
def test_schema_not_at_head_takes_the_full_path(
    workspace_dir: Path, tree: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    _cli(capsys, workspace_dir, "add", "raw", str(tree))
    database = quick.sqlite_file(os.environ["SHIPYARD_STORE_URL"])
    assert database is not None
    with sqlite3.connect(database) as conn:
        conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    assert quick.quick_status(str(workspace_dir), "raw", tree) is None
    code, out, err = _cli(capsys, workspace_dir, "status", "raw", str(tree))
    assert (code, out) == (1, "")  # what the full path says of a newer schema
    assert "newer than this shipyard knows" in err


def test_a_server_takes_the_full_path(monkeypatch: pytest.MonkeyPatch, tree: Path) -> None:
    assert quick.quick_status("http://127.0.0.1:9", "raw", tree) is None
    monkeypatch.setenv("SHIPYARD_SERVER", "http://127.0.0.1:9")
    assert quick.quick_status(None, "raw", tree) is None


@pytest.mark.parametrize(
    "url",
    [
        "postgresql+psycopg://u@127.0.0.1/db",
        "sqlite+pysqlite:////tmp/x.db",
        "sqlite://",
        "sqlite:///:memory:",
        "sqlite:////tmp/x.db?timeout=5",
        "sqlite:////tmp/no-such-folder/x.db",
    ],
)
def test_only_plain_sqlite_files_are_read_directly(url: str) -> None:
    assert quick.sqlite_file(url) is None
