"""The CLI contract: exit codes, one-line errors, --json documents, workspace lookup."""

from __future__ import annotations

import gc
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from shipyard.cli.main import hoist_global_options, main

SHIPYARD = [sys.executable, "-m", "shipyard"]


def run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    code, out, err = run(capsys, *args, "--json")
    assert code == 0, err
    return json.loads(out)


@pytest.fixture
def outside(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    for name in ("SHIPYARD_HOME", "SHIPYARD_STORE_URL", "SHIPYARD_ARTIFACTS_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.mark.parametrize(
    "command",
    [["audit", "log"], ["audit", "verify"], ["settings", "list"], ["db", "current"]],
    ids=" ".join,
)
def test_outside_a_workspace_every_command_says_run_init(
    outside: Path, capsys: pytest.CaptureFixture[str], command: list[str]
) -> None:
    code, out, err = run(capsys, *command)
    assert code == 1
    assert out == ""
    assert len(err.strip().splitlines()) == 1
    assert "shipyard init" in err
    assert "Traceback" not in err


def test_outside_a_workspace_as_a_real_process(outside: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHIPYARD_")}
    proc = subprocess.run(
        [*SHIPYARD, "audit", "log"], cwd=outside, capture_output=True, text=True, env=env
    )
    assert proc.returncode == 1
    assert proc.stderr.strip().splitlines() == [
        "error: no shipyard workspace here: run `shipyard init` to create one"
    ]


def test_json_error_document(outside: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "audit", "log", "--json")
    assert code == 1
    assert json.loads(out)["error"]["code"] == "workspace_not_found"


@pytest.mark.parametrize(
    "args",
    [["nonsense"], ["audit", "log", "--limit", "zero"], ["settings", "set"]],
    ids=["unknown-command", "bad-value", "missing-argument"],
)
def test_usage_errors_exit_2(
    outside: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, err = run(capsys, *args)
    assert code == 2
    assert "Traceback" not in err


def test_init_is_idempotent_and_reports_home(
    outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = run_json(capsys, "init", "proj")
    assert first == {"home": str(outside / "proj" / ".shipyard"), "created": True}
    again = run_json(capsys, "init", "proj")
    assert again["created"] is False
    assert (outside / "proj" / ".shipyard" / "config.toml").is_file()


def test_init_into_a_file_is_refused(outside: Path, capsys: pytest.CaptureFixture[str]) -> None:
    (outside / "file").write_text("x")
    code, _, err = run(capsys, "init", "file")
    assert code == 1
    assert "is a file" in err


def test_home_option_before_or_after_the_command(
    outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "init", "proj")
    before = run_json(capsys, "--home", "proj", "audit", "log")
    after = run_json(capsys, "audit", "log", "--home", str(outside / "proj" / ".shipyard"))
    assert before == after
    assert [e["action"] for e in before["entries"]] == ["workspace.init"]


def test_called_from_python_the_cli_freezes_nothing(
    outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Only the `shipyard` program freezes its start-up objects out of the collector's
    sight; a caller's garbage must stay collectable."""
    run_json(capsys, "init", "proj")
    frozen = gc.get_freeze_count()
    assert run_json(capsys, "--home", "proj", "audit", "verify")["ok"] is True
    assert gc.get_freeze_count() == frozen
    assert gc.isenabled()


def test_home_from_environment(
    outside: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_json(capsys, "init", "proj")
    monkeypatch.setenv("SHIPYARD_HOME", str(outside / "proj"))
    monkeypatch.chdir("/")
    assert run_json(capsys, "audit", "verify")["ok"] is True


def test_settings_round_trip_and_audit(
    outside: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    run_json(capsys, "init")
    assert run_json(capsys, "settings", "set", "retries", "3")["value"] == 3
    assert run_json(capsys, "settings", "set", "team", "risk")["value"] == "risk"
    assert run_json(capsys, "settings", "get", "retries")["value"] == 3
    assert [s["key"] for s in run_json(capsys, "settings", "list")["settings"]] == [
        "retries",
        "team",
    ]
    run_json(capsys, "settings", "unset", "team")
    code, _, err = run(capsys, "settings", "get", "team")
    assert code == 1
    assert "no setting named 'team'" in err
    code, _, err = run(capsys, "settings", "set", "bad key!", "1")
    assert code == 1
    assert "got 'bad key!' instead" in err
    log = run_json(capsys, "audit", "log")
    assert [e["action"] for e in log["entries"]][-1] == "setting.unset"
    assert run_json(capsys, "audit", "verify") == {"ok": True, "entries": 4, "first_bad": None}


def test_verify_fails_with_exit_1_naming_the_entry(
    outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import sqlite3

    run_json(capsys, "init")
    run_json(capsys, "settings", "set", "a", "1")
    with sqlite3.connect(outside / ".shipyard" / "shipyard.db") as conn:
        conn.execute("UPDATE audit_events SET actor = 'mallory' WHERE seq = 2")
    code, out, err = run(capsys, "audit", "verify", "--json")
    assert code == 1
    assert json.loads(out)["first_bad"]["seq"] == 2
    assert "entry 2" in err
    code, out, err = run(capsys, "audit", "verify")
    assert code == 1
    assert "audit chain broken at entry 2" in err


def test_db_commands(outside: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "init")
    assert run_json(capsys, "db", "current")["up_to_date"] is True
    assert run_json(capsys, "db", "upgrade")["changed"] is False


def test_debug_shows_the_traceback(outside: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = run(capsys, "--debug", "audit", "log")
    assert code == 1
    assert "Traceback" in err


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    from shipyard import __version__

    assert run(capsys, "--version") == (0, f"shipyard {__version__}\n", "")


def test_hoisting_keeps_arguments_after_double_dash() -> None:
    assert hoist_global_options(["a", "--home", "x", "--debug", "--", "--home", "y"]) == [
        "--home",
        "x",
        "--debug",
        "a",
        "--",
        "--home",
        "y",
    ]


def test_server_refuses_no_auth_off_loopback(
    outside: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_json(capsys, "init")
    code, _, err = run(capsys, "server", "--host", "0.0.0.0", "--no-auth")
    assert code == 1
    assert "loopback" in err
