"""The audit trail, settings and blobs through a server: same methods, the server's roles."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import pytest

import shipyard
from live_server import LiveServer
from shipyard.cli.main import main
from shipyard.errors import ConfigError, NotFound, PermissionDenied, ValidationError
from shipyard.server.app import create_app

ROLES = ("viewer", "editor", "approver", "admin")


@pytest.fixture
def served(platform: Any) -> Iterator[tuple[str, dict[str, str]]]:
    """A live server with auth on, and a token per role (user ROLE-user)."""
    tokens = {}
    for role in ROLES:
        _, tokens[role] = platform.access.create_token(f"{role}-user", role=role)
    with LiveServer(create_app(platform, auth=True)) as url:
        yield url, tokens


@pytest.fixture
def connect(served: tuple[str, dict[str, str]]) -> Iterator[Any]:
    """Open a remote workspace as a role; every one opened is closed afterwards."""
    url, tokens = served
    opened: list[Any] = []

    def open_as(role: str) -> Any:
        opened.append(shipyard.connect(url, token=tokens[role]))
        return opened[-1]

    yield open_as
    for ws in opened:
        ws.close()


def test_the_remote_caller_is_the_actor_in_the_remote_trail(connect: Any, platform: Any) -> None:
    editor, approver = connect("editor"), connect("approver")
    with editor.start_run("audited") as run:
        run.log_param("C", 1)
    events = approver.audit.entries(limit=3)
    assert [(e.action, e.entity_id, e.actor) for e in events] == [
        (action, run.id, "editor-user") for action in ("run.start", "run.params", "run.end")
    ]
    assert events == platform.audit.entries(3)
    assert approver.audit.entries() == platform.audit.entries()
    assert approver.audit.count() == platform.audit.count()
    verdict = approver.audit.verify()
    assert (verdict.ok, verdict.entries) == (True, platform.audit.count())


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_reading_the_trail_needs_the_approver_role(connect: Any, role: str) -> None:
    ws = connect(role)
    with pytest.raises(PermissionDenied, match="role 'approver'"):
        ws.audit.entries(limit=5)
    with pytest.raises(PermissionDenied, match="role 'approver'"):
        ws.audit.verify()


def test_settings_through_the_server(connect: Any, platform: Any) -> None:
    admin, viewer = connect("admin"), connect("viewer")
    stored = admin.settings.set("models.default_gate", {"min_auc": 0.8, "tags": ["a"]})
    assert (stored.value, stored.updated_by) == ({"min_auc": 0.8, "tags": ["a"]}, "admin-user")
    admin.settings.set("cache.size", 3)
    assert viewer.settings.get("models.default_gate") == stored
    assert [s.key for s in viewer.settings.list()] == ["cache.size", "models.default_gate"]
    assert viewer.settings.list() == platform.workspace_settings.list()
    admin.settings.unset("cache.size")
    with pytest.raises(NotFound):
        viewer.settings.get("cache.size")
    with pytest.raises(NotFound):
        admin.settings.unset("cache.size")
    actions = [(e.action, e.actor) for e in platform.audit.entries(3)]
    assert actions == [("setting.set", "admin-user")] * 2 + [("setting.unset", "admin-user")]


def test_changing_settings_needs_the_admin_role(connect: Any, platform: Any) -> None:
    platform.workspace_settings.set("team", "risk")
    editor = connect("editor")
    with pytest.raises(PermissionDenied, match="role 'admin'"):
        editor.settings.set("team", "fraud")
    with pytest.raises(PermissionDenied, match="role 'admin'"):
        editor.settings.unset("team")
    assert editor.settings.get("team").value == "risk"


@pytest.mark.parametrize("key", ["", "a/b", "has space", "x" * 201])
def test_a_bad_setting_key_is_named_by_the_server(connect: Any, key: str) -> None:
    admin = connect("admin")
    with pytest.raises(ValidationError, match="setting key must be"):
        admin.settings.set(key, 1)
    with pytest.raises(ValidationError, match="setting key must be"):
        admin.settings.get(key)


def test_a_value_without_a_json_form_is_refused_before_sending(connect: Any) -> None:
    with pytest.raises(ValidationError, match="not JSON"):
        connect("admin").settings.set("ratio", float("nan"))


def test_blobs_round_trip_once(connect: Any, platform: Any) -> None:
    ws = connect("editor")
    first = ws.blobs.put_bytes(b"shipyard blob")
    assert (first.size, first.created) == (13, True)
    assert first.digest == blake3.blake3(b"shipyard blob").hexdigest()
    again = ws.blobs.put_bytes(b"shipyard blob")
    assert (again.digest, again.created) == (first.digest, False)
    assert ws.blobs.exists(first.digest)
    assert ws.blobs.get_bytes(first.digest) == b"shipyard blob"
    assert platform.blobs.get_bytes(first.digest) == b"shipyard blob"


def test_files_are_streamed_both_ways(connect: Any, platform: Any, tmp_path: Path) -> None:
    ws = connect("editor")
    source = tmp_path / "weights.bin"
    source.write_bytes(bytes(range(256)) * 20_000)
    info = ws.blobs.put_file(source)
    assert (info.size, info.created) == (5_120_000, True)
    assert ws.blobs.put_file(source).created is False
    ws.blobs.get_file(info.digest, tmp_path / "out" / "copy.bin")
    assert (tmp_path / "out" / "copy.bin").read_bytes() == source.read_bytes()
    with pytest.raises(NotFound, match="no such file"):
        ws.blobs.put_file(tmp_path / "absent.bin")


def test_unknown_and_malformed_digests(connect: Any) -> None:
    ws = connect("viewer")
    unknown = blake3.blake3(b"never stored").hexdigest()
    with pytest.raises(NotFound):
        ws.blobs.get_bytes(unknown)
    with pytest.raises(ValidationError, match="64 lowercase hex"):
        ws.blobs.get_bytes("../etc/passwd")
    assert connect("editor").blobs.exists(unknown) is False


def test_access_stays_on_the_store(connect: Any) -> None:
    with pytest.raises(ConfigError, match="users and tokens on the store itself"):
        _ = connect("admin").access


def test_the_cli_reads_settings_and_the_trail_through_the_server(
    served: tuple[str, dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    url, tokens = served
    monkeypatch.setenv("SHIPYARD_SERVER", url)
    monkeypatch.setenv("SHIPYARD_TOKEN", tokens["admin"])
    assert main(["settings", "set", "retries", "3"]) == 0
    assert main(["audit", "verify", "--json"]) == 0
    capsys.readouterr()
    assert main(["audit", "log", "--json", "-n", "1"]) == 0
    (entry,) = json.loads(capsys.readouterr().out)["entries"]
    assert (entry["action"], entry["actor"], entry["entity_id"]) == (
        "setting.set",
        "admin-user",
        "retries",
    )
