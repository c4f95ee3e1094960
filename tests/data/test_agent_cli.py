"""The workspace agent, end to end: real `shipyard` processes, a real agent process.

Every command is run twice, through the agent and alone (SHIPYARD_NO_AGENT=1), and
must print the same, exit the same and record the same.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from trees import age, make_tree

from shipyard.agent import wire
from shipyard.workspace import init_workspace

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="the agent watches with inotify")


class Shell:
    """Runs `shipyard` in a workspace, through its agent or alone."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.home = root / ".shipyard"
        self.env = {**os.environ, "SHIPYARD_HOME": str(root), "COLUMNS": "200"}
        self.env.pop("SHIPYARD_NO_AGENT", None)

    def run(self, *args: str, agent: bool = True) -> subprocess.CompletedProcess[str]:
        env = dict(self.env)
        if not agent:
            env["SHIPYARD_NO_AGENT"] = "1"
        return subprocess.run(
            [sys.executable, "-m", "shipyard", *args],
            env=env,
            cwd=self.root,
            capture_output=True,
            text=True,
            timeout=120,
        )

    def json(self, *args: str, agent: bool = True) -> Any:
        result = self.run(*args, "--json", agent=agent)
        assert result.returncode == 0, result.stderr
        return json.loads(result.stdout)

    def served(self) -> int:
        return int(self.json("agent", "status")["served"])

    def both(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run through the agent, then alone; both must print and exit the same."""
        before = self.served()
        through = self.run(*args)
        assert self.served() == before + 1, "the agent did not serve the command"
        alone = self.run(*args, agent=False)
        assert (through.returncode, through.stdout, through.stderr) == (
            alone.returncode,
            alone.stdout,
            alone.stderr,
        )
        return through


@pytest.fixture
def shell(tmp_path: Path) -> Iterator[Shell]:
    init_workspace(tmp_path)
    sh = Shell(tmp_path)
    started = sh.json("agent", "start")
    assert started["started_now"] is True
    try:
        yield sh
    finally:
        sh.run("agent", "stop")
        with pytest.raises(ProcessLookupError):
            wait_gone(int(started["pid"]))


def wait_gone(pid: int, seconds: float = 20.0) -> None:
    """Return once ``pid`` is gone (raising ProcessLookupError), or kill it."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        os.kill(pid, 0)  # ProcessLookupError once it has exited
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)


@pytest.fixture
def data(shell: Shell) -> Path:
    root = make_tree(
        shell.root / "data",
        {"a.txt": "alpha\n", "nested/b.bin": bytes(range(256)), "nested/deep/c.csv": "x\n1\n"},
    )
    for path in root.rglob("*"):
        if path.is_file():
            age(path)
    return root


def test_status_and_add_match_the_command_run_alone(shell: Shell, data: Path) -> None:
    assert shell.both("data", "status", "raw", "data").stdout.startswith("data against no version")
    added = shell.json("data", "add", "raw", "data", "-m", "first")
    assert (added["ref"], added["created"], added["files"]) == ("raw@v1", True, 3)
    assert "clean" in shell.both("data", "status", "raw", "data").stdout
    assert json.loads(shell.both("data", "status", "raw", "data", "--json").stdout)["clean"]

    (data / "a.txt").write_text("changed\n")
    (data / "nested/deep/c.csv").unlink()
    make_tree(data, {"new/d.txt": "d"})
    status = json.loads(shell.both("data", "status", "raw", str(data), "--json").stdout)
    assert (status["added"], status["removed"], status["changed"]) == (
        ["new/d.txt"],
        ["nested/deep/c.csv"],
        ["a.txt"],
    )
    second = shell.json("data", "add", "raw", "data", "-m", "second")
    assert (second["ref"], second["created"], second["hashed_files"]) == ("raw@v2", True, 2)
    history = shell.json("data", "log", "raw", agent=False)
    assert [(v["ref"], v["message"]) for v in history] == [
        ("raw@v2", "second"),
        ("raw@v1", "first"),
    ]
    again = shell.json("data", "add", "raw", "data")
    assert (again["ref"], again["created"]) == ("raw@v2", False)


def test_errors_are_the_same_one_line(shell: Shell, data: Path) -> None:
    missing = shell.both("data", "status", "raw", "nowhere")
    assert missing.returncode != 0
    assert missing.stderr.count("\n") == 1
    assert "error:" in missing.stderr
    bad_name = shell.both("data", "add", "no such name!", "data")
    assert bad_name.returncode != 0
    assert bad_name.stderr.startswith("error:")
    assert shell.json("data", "ls", agent=False) == []  # nothing was recorded


def test_the_author_and_folder_are_the_clients(shell: Shell, data: Path) -> None:
    shell.env["SHIPYARD_ACTOR"] = "ada"
    sub = data / "nested"
    result = subprocess.run(
        [sys.executable, "-m", "shipyard", "data", "add", "inner", ".", "--json"],
        env=shell.env,
        cwd=sub,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    added = json.loads(result.stdout)
    assert (added["author"], added["files"]) == ("ada", 2)
    assert shell.served() == 1


def test_a_dead_agent_leaves_commands_working(shell: Shell, data: Path) -> None:
    pid = int(shell.json("agent", "status")["pid"])
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(ProcessLookupError):
        wait_gone(pid)
    assert Path(wire.socket_path(str(shell.home))).exists()  # a stale socket is left
    added = shell.json("data", "add", "raw", "data")
    assert added["created"] is True
    assert shell.json("agent", "status")["running"] is False
    restarted = shell.json("agent", "start")  # the stale socket is replaced
    assert restarted["started_now"] is True
    assert restarted["pid"] != pid
    assert "clean" in shell.both("data", "status", "raw", "data").stdout


def test_the_socket_is_the_users_alone(shell: Shell) -> None:
    import stat

    info = os.stat(wire.socket_path(str(shell.home)))
    assert stat.S_ISSOCK(info.st_mode)
    assert stat.S_IMODE(info.st_mode) == 0o600
    assert info.st_uid == os.getuid()


def test_starting_twice_and_stopping_twice(shell: Shell) -> None:
    again = shell.json("agent", "start")
    assert again["started_now"] is False
    stopped = shell.json("agent", "stop")
    assert stopped["stopped"] is True
    assert shell.json("agent", "stop")["stopped"] is False
    assert shell.json("agent", "status")["running"] is False
    assert "no agent" in shell.run("agent", "status").stdout


def test_another_version_is_declined_and_the_agent_leaves(shell: Shell) -> None:
    pid = int(shell.json("agent", "status")["pid"])
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(wire.socket_path(str(shell.home)))
    request = {"argv": ["data", "status", "x", "."], "cwd": str(shell.root), "env": {}}
    wire.send_json(client, wire.REQUEST, {**request, "stamp": ["0.0.0", "/elsewhere"]})
    kind, reason = wire.receive(client)
    client.close()
    assert kind == wire.DECLINE
    assert b"another version" in reason
    with pytest.raises(ProcessLookupError):
        wait_gone(pid)


def test_a_change_of_shipyards_code_sends_the_agent_away(shell: Shell, data: Path) -> None:
    import shipyard.agent.wire as loaded

    pid = int(shell.json("agent", "status")["pid"])
    source = Path(loaded.__file__)
    before = source.stat()
    os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))
    try:
        result = shell.run("data", "status", "raw", "data")  # declined: it runs alone
        assert result.returncode == 0
        with pytest.raises(ProcessLookupError):
            wait_gone(pid)
    finally:
        os.utime(source, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_removing_the_workspace_sends_the_agent_away(shell: Shell) -> None:
    import shutil

    pid = int(shell.json("agent", "status")["pid"])
    shutil.rmtree(shell.home)
    with pytest.raises(ProcessLookupError):
        wait_gone(pid)


def test_removing_the_socket_sends_the_agent_away(shell: Shell) -> None:
    pid = int(shell.json("agent", "status")["pid"])
    os.unlink(wire.socket_path(str(shell.home)))
    with pytest.raises(ProcessLookupError):
        wait_gone(pid)


def test_an_idle_agent_leaves_by_itself(tmp_path: Path) -> None:
    init_workspace(tmp_path)
    sh = Shell(tmp_path)
    started = sh.json("agent", "start", "--idle-minutes", "0.02")
    with pytest.raises(ProcessLookupError):
        wait_gone(int(started["pid"]))
    assert not Path(wire.socket_path(str(sh.home))).exists()


def test_the_agent_refuses_a_folder_that_is_not_a_workspace(tmp_path: Path) -> None:
    sh = Shell(tmp_path)
    result = sh.run("agent", "start")
    assert result.returncode != 0
    assert result.stderr.startswith("error:")
    assert result.stderr.count("\n") == 1


def on_a_terminal(shell: Shell, *args: str, agent: bool = True) -> bytes:
    """What ``shipyard ARGS`` prints on a terminal whose size is unknown (0 x 0)."""
    import pty

    env = {**shell.env, **({} if agent else {"SHIPYARD_NO_AGENT": "1"})}
    env.pop("COLUMNS")
    pid, fd = pty.fork()
    if pid == 0:  # the child: its stdout and stderr are the terminal
        os.chdir(shell.root)
        os.execve(sys.executable, [sys.executable, "-m", "shipyard", *args], env)
    out = b""
    while True:
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        out += chunk
    os.waitpid(pid, 0)
    os.close(fd)
    return out


def test_a_terminal_gets_the_same_output(shell: Shell, data: Path) -> None:
    before = shell.served()
    through = on_a_terminal(shell, "data", "add", "raw", "data")
    assert shell.served() == before + 1
    assert b"added raw@v1: 3 files" in through
    alone = on_a_terminal(shell, "data", "status", "raw", "data", agent=False)
    assert on_a_terminal(shell, "data", "status", "raw", "data") == alone
    assert b"clean" in alone
