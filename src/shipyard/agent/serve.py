"""The agent process: one per workspace, running the CLI's data commands warm.

It listens on the workspace's socket (:func:`shipyard.agent.wire.socket_path`, mode
0600, and only the same user's processes are answered), serves one command at a time
(the next ones wait in the socket's queue), and leaves on ``shipyard agent stop``, after
``--idle`` seconds without a command, when its socket or workspace is removed, on
SIGTERM, or when shipyard's own code changed on disk (an upgrade): a command it
declines runs in the client's process instead.

Run as ``python -m shipyard.agent.serve --home HOME [--idle SECONDS]``; ``shipyard
agent start`` does that in the background.
"""

from __future__ import annotations

import argparse
import gc
import io
import json
import logging
import os
import selectors
import signal
import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from importlib import import_module
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard import __version__
from shipyard.agent import wire
from shipyard.agent.client import served_command
from shipyard.agent.watch import Watcher

if TYPE_CHECKING:
    from shipyard.workspace import Workspace

log = logging.getLogger("shipyard.agent")

IDLE_S = 4 * 3600.0  # leave after this long without a command
CHECK_EVERY_S = 1.0  # how often the socket, the workspace and signals are checked
REQUEST_TIMEOUT_S = 10.0  # for a client to send its request
MAX_WORKSPACES = 4  # open workspaces kept (one per store and actor the clients use)
# Imported on the way by status and add (tables aside: pyarrow stays out of the agent's
# memory until a table is added).
WARM_MODULES = (
    "shipyard.data.facts",
    "shipyard.data.quick_add",
    "shipyard.data.quick_status",
    "shipyard.storage.filecopy",
    "shipyard.storage.sql.audit",
    "shipyard.storage.sql.datasets",
)


class AgentRunning(RuntimeError):
    """Another agent already answers on this workspace's socket."""


class Agent:
    """Serves the workspace ``home`` (its ``.shipyard/`` folder) until told to stop."""

    def __init__(self, home: Path, idle_s: float = IDLE_S) -> None:
        self.home = home
        self.idle_s = idle_s
        self.socket_path = wire.socket_path(str(home))
        self.watcher = Watcher()
        self.started = time.time()
        self.served = 0
        self._stopping = False
        self._last = time.monotonic()
        self._sources: dict[str, int] = {}
        self._workspaces: dict[tuple[str, str], Workspace] = {}

    def info(self) -> dict[str, Any]:
        """What ``shipyard agent status`` shows."""
        return {
            "pid": os.getpid(),
            "home": str(self.home),
            "socket": self.socket_path,
            "version": __version__,
            "started": self.started,
            "served": self.served,
            "folders_watched": self.watcher.trees,
            "idle_s": self.idle_s,
        }

    def run(self) -> None:
        """Warm up, then serve until a reason to leave."""
        self._warm_up()
        listener = _bind(self.socket_path)
        bound = os.stat(self.socket_path).st_ino
        pid_file = self.home / wire.PID_NAME
        pid_file.write_text(f"{os.getpid()}\n")
        signal.signal(signal.SIGTERM, lambda *_: self.stop())
        log.info("serving %s on %s (pid %d)", self.home, self.socket_path, os.getpid())
        try:
            self._loop(listener, bound)
        finally:
            listener.close()
            with suppress(OSError):
                if os.stat(self.socket_path).st_ino == bound:
                    os.unlink(self.socket_path)
            with suppress(OSError):
                if pid_file.read_text().strip() == str(os.getpid()):
                    pid_file.unlink()
            self.watcher.close()
            for workspace in self._workspaces.values():
                _really_close(workspace)
            log.info("stopped after %d commands", self.served)

    def stop(self) -> None:
        """Leave after the command being served, if any."""
        self._stopping = True

    def _loop(self, listener: socket.socket, bound: int) -> None:
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ, "listener")
            if self.watcher.fileno() >= 0:
                selector.register(self.watcher.fileno(), selectors.EVENT_READ, "watcher")
            while not self._stopping:
                for key, _ in selector.select(timeout=CHECK_EVERY_S):
                    if key.data == "watcher":
                        self.watcher.absorb()
                    else:
                        conn, _ = listener.accept()
                        with conn:
                            self._handle(conn)
                        self._last = time.monotonic()
                if self._should_leave(bound):
                    break

    def _should_leave(self, bound: int) -> bool:
        if time.monotonic() - self._last > self.idle_s:
            log.info("idle for %.0f s", self.idle_s)
            return True
        try:
            return os.stat(self.socket_path).st_ino != bound or not self.home.is_dir()
        except OSError:
            return True  # the socket was removed: someone wants this agent gone

    def _handle(self, conn: socket.socket) -> None:
        if not wire.same_user(conn):
            return
        conn.settimeout(REQUEST_TIMEOUT_S)
        try:
            kind, payload = wire.receive(conn)
            conn.settimeout(None)
            if kind == wire.PING:
                wire.send_json(conn, wire.INFO, self.info())
            elif kind == wire.STOP:
                self.stop()
                wire.send_json(conn, wire.INFO, self.info())
            elif kind == wire.REQUEST:
                request = json.loads(payload)
                if not _well_formed(request):
                    raise ValueError("a request that is not one")
                self._serve(conn, request)
        except (OSError, ValueError) as exc:
            log.warning("dropped a connection: %s", exc)
        except Exception:  # serving goes on whatever one connection did
            log.exception("a connection failed")

    def _serve(self, conn: socket.socket, request: dict[str, Any]) -> None:
        reason = self._decline_reason(request)
        if reason is not None:
            wire.send(conn, wire.DECLINE, reason.encode())
            return
        code = self._execute(conn, request)
        self.served += 1
        with suppress(OSError):
            wire.send(conn, wire.EXIT, str(code).encode())

    def _decline_reason(self, request: dict[str, Any]) -> str | None:
        stamp = [__version__, str(Path(__file__).parent)]
        if request.get("stamp") != stamp or self._sources_changed():
            self.stop()  # another shipyard is installed: let a fresh agent start
            return "the agent runs another version of shipyard; it is leaving"
        if not served_command(request.get("argv", [])) or not os.path.isdir(request.get("cwd", "")):
            return "not a command the agent serves"
        return None

    def _sources_changed(self) -> bool:
        """Whether a loaded module of shipyard changed on disk since it was first seen."""
        for name, module in list(sys.modules.items()):
            if name != "shipyard" and not name.startswith("shipyard."):
                continue
            file = getattr(module, "__file__", None)
            if not file:
                continue
            try:
                mtime = os.stat(file).st_mtime_ns
            except OSError:
                return True
            if self._sources.setdefault(file, mtime) != mtime:
                return True
        return False

    def _execute(self, conn: socket.socket, request: dict[str, Any]) -> int:
        """Run the command line as the client would have, its output sent as frames."""
        from shipyard.cli.main import run_hoisted
        from shipyard.data import scanning

        tty_out, tty_err = request.get("tty", [False, False])
        with (
            _client_context(request["env"], request["cwd"]),
            _streams(conn, tty_out, tty_err),
            scanning.viewing(self.watcher),
        ):
            return run_hoisted(list(request["argv"]))

    def workspace(self, home: str | None) -> Workspace:
        """The open workspace for ``home`` as the client's environment resolves it."""
        from shipyard import config
        from shipyard.platform import local_actor
        from shipyard.workspace import connect

        settings = config.resolve(home)
        if settings.server or (home or "").startswith(("http://", "https://")):
            return connect(home)  # type: ignore[return-value]
        key = (repr(settings), settings.actor or local_actor())
        workspace = self._workspaces.get(key)
        if workspace is None:
            while len(self._workspaces) >= MAX_WORKSPACES:
                _really_close(self._workspaces.pop(next(iter(self._workspaces))))
            workspace = self._workspaces[key] = _kept(settings)
        return workspace

    def _warm_up(self) -> None:
        """Import and open what the served commands need, then freeze it (the collector
        never walks it again): a first command pays for nothing the next ones do not."""
        from shipyard.cli import state
        from shipyard.cli.app import build_command

        state.options.opener = self.workspace
        build_command(["data"])
        workspace = self.workspace(str(self.home))
        for service in ("data", "audit", "blobs"):
            getattr(workspace, service)
        for module in WARM_MODULES:
            import_module(module)
        _render_once()
        self._sources_changed()
        gc.collect()
        gc.freeze()


def _well_formed(request: Any) -> bool:
    """Whether a decoded request has the fields of one, with their types."""
    return (
        isinstance(request, dict)
        and isinstance(request.get("argv"), list)
        and all(isinstance(arg, str) for arg in request["argv"])
        and isinstance(request.get("cwd"), str)
        and isinstance(request.get("env"), dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in request["env"].items())
    )


def _render_once() -> None:
    """Print one line of markup into memory: rich imports what it renders with."""
    from rich.console import Console

    Console(file=io.StringIO(), highlight=False).print("[yellow]warm:[/] :up: done")


def _kept(settings: Any) -> Workspace:
    """A workspace that outlives the commands using it: their ``with`` blocks do not
    close it (the agent does, as it leaves)."""
    from shipyard.platform import open_platform
    from shipyard.workspace import Workspace

    class KeptWorkspace(Workspace):
        def close(self) -> None:
            """Stay open for the next command."""

    return KeptWorkspace(open_platform(settings))


def _really_close(workspace: Workspace) -> None:
    """Close a kept workspace (past its no-op ``close``)."""
    from shipyard.workspace import Workspace

    with suppress(Exception):
        Workspace.close(workspace)


def _bind(path: str) -> socket.socket:
    """Listen on ``path``, replacing a stale socket; AgentRunning if one answers."""
    folder = os.path.dirname(path)
    os.makedirs(folder, mode=0o700, exist_ok=True)
    refused = wire.private_folder(folder, shared_parent=not path.endswith(f"/{wire.SOCKET_NAME}"))
    if refused is not None:
        raise AgentRunning(f"the agent's socket cannot live there: {refused}")
    if os.path.exists(path):
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            os.unlink(path)  # left by an agent that died
        else:
            raise AgentRunning(f"an agent already serves this workspace on {path}")
        finally:
            probe.close()
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    old_umask = os.umask(0o177)
    try:
        listener.bind(path)
    finally:
        os.umask(old_umask)
    listener.listen(64)
    return listener


@contextmanager
def _client_context(env: dict[str, str], cwd: str) -> Iterator[None]:
    """The client's environment and folder for the block, then the agent's again."""
    from shipyard.cli.state import options

    saved_env, saved_cwd = dict(os.environ), os.getcwd()
    try:
        os.environ.clear()
        os.environ.update(env)
        os.chdir(cwd)
        options.home = None
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved_env)
        os.chdir(saved_cwd)


class _FrameWriter(io.RawIOBase):
    """A binary stream whose writes go to the client as frames of one kind."""

    def __init__(self, conn: socket.socket, kind: bytes, tty: bool) -> None:
        self._conn, self._kind, self._tty = conn, kind, tty
        self._lock = threading.Lock()
        self._gone = False

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return self._tty

    def write(self, data: Any) -> int:
        payload = bytes(data)
        with self._lock:
            if payload and not self._gone:
                try:
                    wire.send(self._conn, self._kind, payload)
                except OSError:
                    self._gone = True  # the client left: finish the command quietly
        return len(payload)


@contextmanager
def _streams(conn: socket.socket, tty_out: bool, tty_err: bool) -> Iterator[None]:
    """``sys.stdout`` and ``sys.stderr`` go to the client for the block."""
    from shipyard.cli.output import stderr, stdout

    saved = sys.stdout, sys.stderr
    out = io.TextIOWrapper(io.BufferedWriter(_FrameWriter(conn, wire.STDOUT, tty_out)), "utf-8")
    err = io.TextIOWrapper(io.BufferedWriter(_FrameWriter(conn, wire.STDERR, tty_err)), "utf-8")
    sys.stdout, sys.stderr = out, err
    stdout.reset()
    stderr.reset()
    try:
        yield
    finally:
        for stream in (out, err):
            with suppress(Exception):
                stream.flush()
        sys.stdout, sys.stderr = saved
        stdout.reset()
        stderr.reset()


def main(argv: list[str] | None = None) -> int:
    """Run an agent in this process (``python -m shipyard.agent.serve``)."""
    parser = argparse.ArgumentParser(prog="python -m shipyard.agent.serve")
    parser.add_argument("--home", required=True, help="the workspace folder (.shipyard/)")
    parser.add_argument("--idle", type=float, default=IDLE_S, help="seconds before leaving")
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s agent[%(process)d] %(message)s", stream=sys.stderr
    )
    try:
        Agent(Path(args.home), args.idle).run()
    except AgentRunning as exc:
        log.error("%s", exc)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
