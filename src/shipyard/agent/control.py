"""Start, stop and ask after a workspace's agent (what ``shipyard agent`` does)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from shipyard.agent import wire
from shipyard.errors import ShipyardError

START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 30.0
_POLL_S = 0.05


class AgentError(ShipyardError):
    """The agent could not be started or stopped."""

    code = "agent"


class AgentBusy(AgentError):
    """The agent is serving a long command and did not answer in time."""

    code = "agent_busy"

    def __init__(self, pid: int | None) -> None:
        which = f" (pid {pid})" if pid else ""
        super().__init__(f"the agent{which} is busy with a command; ask again when it is done")
        self.pid = pid


ASK_TIMEOUT_S = 5.0  # an agent is busy, not gone, past this


def ping(home: Path) -> dict[str, Any] | None:
    """What the agent of ``home`` says about itself, or None when none runs;
    :class:`AgentBusy` when it is serving a long command."""
    return _ask(home, wire.PING)


def start(home: Path, idle_s: float) -> tuple[dict[str, Any], bool]:
    """Start an agent for ``home`` in the background unless one runs; its info, and
    whether it was started now."""
    try:
        running = ping(home)
    except AgentBusy as busy:
        return {"pid": busy.pid, "busy": True}, False
    if running is not None:
        return running, False
    log_path = home / wire.LOG_NAME
    command = [sys.executable, "-m", "shipyard.agent.serve", "--home", str(home)]
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            [*command, "--idle", str(idle_s)],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
            start_new_session=True,  # not killed with the terminal that started it
            close_fds=True,
        )
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        info = ping(home)
        if info is not None:
            return info, True
        if process.poll() is not None:
            raise AgentError(f"the agent exited at once: {_tail(log_path)} (log: {log_path})")
        time.sleep(_POLL_S)
    process.terminate()
    raise AgentError(f"the agent did not answer within {START_TIMEOUT_S:.0f} s (log: {log_path})")


def stop(home: Path) -> dict[str, Any] | None:
    """Ask the agent of ``home`` to leave and wait until it has (a busy one finishes its
    command first); its last info (None: no agent was running)."""
    try:
        info = _ask(home, wire.STOP)
    except AgentBusy as busy:  # the request is queued: it leaves once its command is done
        info = {"pid": busy.pid, "busy": True}
    if info is None:
        return None
    pid = info.get("pid")
    deadline = time.monotonic() + STOP_TIMEOUT_S
    while pid and time.monotonic() < deadline:
        if not _alive(int(pid)):
            return info
        time.sleep(_POLL_S)
    if not pid:
        return info
    raise AgentError(f"the agent (pid {pid}) did not leave within {STOP_TIMEOUT_S:.0f} s")


def _ask(home: Path, kind: bytes) -> dict[str, Any] | None:
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.settimeout(ASK_TIMEOUT_S)
    try:
        client.connect(wire.socket_path(str(home)))
        wire.send(client, kind)
        answer, payload = wire.receive(client)
    except TimeoutError as exc:
        raise AgentBusy(_recorded_pid(home)) from exc
    except OSError:
        return None
    finally:
        client.close()
    return json.loads(payload) if answer == wire.INFO else None


def _recorded_pid(home: Path) -> int | None:
    """The pid the agent wrote when it started, if it can be read."""
    try:
        return int((home / wire.PID_NAME).read_text().strip())
    except (OSError, ValueError):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return _not_a_zombie(pid)


def _not_a_zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as status:
            return status.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _tail(path: Path, lines: int = 3) -> str:
    try:
        return " / ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return "no log"
