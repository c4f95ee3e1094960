"""`shipyard users` and `shipyard tokens`: --json shapes, the secret shown once, errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from shipyard import connect
from shipyard.cli.main import main

USER_KEYS = {"name", "role", "created_at", "created_by", "disabled"}
TOKEN_KEYS = {
    "id",
    "user",
    "label",
    "created_at",
    "created_by",
    "expires_at",
    "revoked_at",
    "last_used_at",
}


def run(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> tuple[int, str, str]:
    code = main(["--home", str(home), *args])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(capsys: pytest.CaptureFixture[str], home: Path, *args: str) -> Any:
    code, out, err = run(capsys, home, *args, "--json")
    assert code == 0, err
    return json.loads(out)


def test_users_add_list_set_role_disable(
    workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    added = run_json(capsys, workspace_dir, "users", "add", "alice", "--role", "editor")
    assert set(added) == USER_KEYS
    assert (added["name"], added["role"], added["created_by"]) == ("alice", "editor", "tester")
    changed = run_json(capsys, workspace_dir, "users", "set-role", "alice", "admin")
    assert changed["role"] == "admin"
    assert run_json(capsys, workspace_dir, "users", "disable", "alice")["disabled"] is True
    assert run_json(capsys, workspace_dir, "users", "enable", "alice")["disabled"] is False
    listed = run_json(capsys, workspace_dir, "users", "list")
    assert [(u["name"], u["role"]) for u in listed["users"]] == [("alice", "admin")]
    code, out, _ = run(capsys, workspace_dir, "users", "list")
    assert code == 0
    assert "alice" in out
    assert "admin" in out


def test_token_create_prints_the_secret_once(
    workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(
        capsys,
        workspace_dir,
        *("tokens", "create", "--user", "ci", "--role", "editor", "--label", "ci"),
        *("--expires-in", "30d", "--json"),
    )
    assert code == 0, err
    created = json.loads(out)
    assert set(created) == TOKEN_KEYS | {"token", "role"}
    assert created["token"].startswith("sy_")
    assert (created["user"], created["role"], created["label"]) == ("ci", "editor", "ci")
    assert created["expires_at"] is not None
    assert "cannot be shown again" in err
    assert created["token"] not in err
    with connect(workspace_dir) as ws:
        assert ws.access.authenticate(created["token"]).role == "editor"

    listed = run_json(capsys, workspace_dir, "tokens", "list", "--user", "ci")
    assert [set(t) for t in listed["tokens"]] == [TOKEN_KEYS | {"status"}]
    assert listed["tokens"][0]["status"] == "active"
    assert listed["tokens"][0]["last_used_at"] is not None
    code, out, _ = run(capsys, workspace_dir, "tokens", "list")
    assert created["token"] not in out
    assert created["id"] in out

    revoked = run_json(capsys, workspace_dir, "tokens", "revoke", created["id"])
    assert revoked["status"] == "revoked"
    assert revoked["revoked_at"] is not None


def test_token_create_for_people_prints_only_the_secret_on_stdout(
    workspace_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, out, err = run(capsys, workspace_dir, "tokens", "create", "-u", "bob", "-r", "viewer")
    assert code == 0, err
    secret = out.strip()
    assert secret.startswith("sy_")
    assert out.count("\n") == 1
    assert "role viewer" in err
    assert "never expires" in err
    assert "warning" in err
    with connect(workspace_dir) as ws:
        assert ws.access.authenticate(secret).user == "bob"


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["users", "add", "al", "--role", "root"], "validation_error", "got 'root' instead"),
        (["users", "set-role", "nobody", "viewer"], "not_found", "no user 'nobody'"),
        (["tokens", "create", "--user", "carol"], "not_found", "--role ROLE"),
        (["tokens", "create", "-u", "alice", "-r", "admin"], "conflict", "users set-role alice"),
        (
            ["tokens", "create", "-u", "alice", "--expires-in", "soon"],
            "validation_error",
            "duration such as 30d",
        ),
        (["tokens", "revoke", "nope"], "not_found", "no API token 'nope'"),
        (["tokens", "list", "--user", "nobody"], "not_found", "no user 'nobody'"),
    ],
    ids=[
        "unknown-role",
        "set-role-unknown-user",
        "missing-user-no-role",
        "role-mismatch",
        "bad-expiry",
        "revoke-unknown",
        "list-unknown-user",
    ],
)
def test_user_errors_are_one_line(
    workspace_dir: Path,
    capsys: pytest.CaptureFixture[str],
    args: list[str],
    code: str,
    message: str,
) -> None:
    run_json(capsys, workspace_dir, "users", "add", "alice", "--role", "editor")
    exit_code, out, err = run(capsys, workspace_dir, *args, "--json")
    assert exit_code == 1
    assert json.loads(out)["error"]["code"] == code
    assert len(err.strip().splitlines()) == 1
    assert err.startswith("error: ")
    assert message in err
    assert "Traceback" not in err


@pytest.mark.parametrize(
    "args",
    [["tokens", "create"], ["users", "add", "alice"], ["users", "set-role", "alice"]],
    ids=["no-user", "no-role", "no-role-argument"],
)
def test_usage_errors_exit_2(
    workspace_dir: Path, capsys: pytest.CaptureFixture[str], args: list[str]
) -> None:
    code, _, _ = run(capsys, workspace_dir, *args)
    assert code == 2
