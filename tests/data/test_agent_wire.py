"""The agent's socket: where it lives, who may use it, who a client talks to."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from shipyard.agent import client, wire


def test_a_long_workspace_path_puts_the_socket_in_a_private_folder(tmp_path: Path) -> None:
    short = str(tmp_path / ".shipyard")
    assert wire.socket_path(short) == f"{short}/agent.sock"
    long_home = str(tmp_path / ("x" * 120) / ".shipyard")
    path = wire.socket_path(long_home)
    assert len(path.encode()) <= wire.MAX_SOCKET_PATH
    assert f"shipyard-{os.getuid()}" in path


def test_only_a_private_folder_may_hold_a_socket(tmp_path: Path) -> None:
    mine = tmp_path / "mine"
    mine.mkdir(mode=0o700)
    assert wire.private_folder(str(mine), shared_parent=True) is None
    opened = tmp_path / "open"
    opened.mkdir()
    opened.chmod(0o777)
    assert "open to other users" in str(wire.private_folder(str(opened), shared_parent=True))
    assert wire.private_folder(str(opened), shared_parent=False) is None  # inside a workspace
    (tmp_path / "file").write_text("")
    assert "not a folder" in str(wire.private_folder(str(tmp_path / "file"), shared_parent=True))


def test_same_user_reads_the_peers_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    left, right = socket.socketpair(socket.AF_UNIX)
    with left, right:
        assert wire.same_user(left)
        monkeypatch.setattr(os, "getuid", lambda: os.geteuid() + 4242)
        assert not wire.same_user(left)


def test_a_client_tells_another_users_socket_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "ws" / ".shipyard"
    home.mkdir(parents=True)
    (home / "config.toml").write_text("")
    monkeypatch.setenv("SHIPYARD_HOME", str(home))
    monkeypatch.delenv("SHIPYARD_NO_AGENT", raising=False)
    monkeypatch.delenv("SHIPYARD_SERVER", raising=False)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(wire.socket_path(str(home)))
    listener.listen(1)
    monkeypatch.setattr(wire, "same_user", lambda sock: False)  # as if another user listened
    with listener:
        assert client.run_through_agent(["data", "status", "raw", "."]) is None
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            assert conn.recv(1024) == b""  # closed without a byte of the environment


def test_a_busy_agent_is_not_taken_for_a_gone_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard.agent import control

    home = tmp_path / ".shipyard"
    home.mkdir()
    (home / wire.PID_NAME).write_text("4321\n")
    monkeypatch.setattr(control, "ASK_TIMEOUT_S", 0.3)
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(wire.socket_path(str(home)))
    listener.listen(4)  # accepts connections, never answers: an agent deep in a command
    with listener:
        with pytest.raises(control.AgentBusy, match="pid 4321"):
            control.ping(home)
        info, started = control.start(home, idle_s=60)
        assert (info, started) == ({"pid": 4321, "busy": True}, False)  # no second agent
    assert control.ping(home) is None  # nobody listens any more


def test_the_client_finds_the_workspace_config_finds(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from shipyard import config
    from shipyard.workspace import init_workspace

    project = tmp_path / "project"
    init_workspace(project)
    (project / "data" / "deep").mkdir(parents=True)
    monkeypatch.delenv("SHIPYARD_HOME", raising=False)
    cases: list[tuple[list[str], str | None, Path]] = [
        ([], None, project / "data" / "deep"),  # the nearest .shipyard/ upwards
        (["--home", str(project)], None, tmp_path),  # a project folder
        ([f"--home={project / '.shipyard'}"], None, tmp_path),  # the .shipyard/ folder
        ([], str(project), tmp_path),  # SHIPYARD_HOME
    ]
    for args, env_home, cwd in cases:
        monkeypatch.chdir(cwd)
        if env_home:
            monkeypatch.setenv("SHIPYARD_HOME", env_home)
        home_value = args[0].split("=", 1)[1] if args and "=" in args[0] else None
        named = args[1] if len(args) > 1 else home_value
        expected = config.resolve(named).home
        assert client._home([*args, "data", "status"]) == str(expected)
        monkeypatch.delenv("SHIPYARD_HOME", raising=False)
    monkeypatch.chdir(tmp_path)
    assert client._home(["data", "status"]) is None  # no workspace: no agent to ask
