"""Hand a command line to the workspace's agent, if one is running, and relay its output.

Standard library only, and cheap when there is no agent: one ``connect`` that fails
(and for a command the agent does not serve, nothing but a look at the arguments).
The workspace is found as :mod:`shipyard.config` finds it (``--home``, then
``SHIPYARD_HOME``, then the nearest ``.shipyard/`` upwards), without importing it.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, TextIO

if TYPE_CHECKING:
    import socket

SERVED = frozenset({("data", "status"), ("data", "add")})
ENV_NO_AGENT = "SHIPYARD_NO_AGENT"  # set (non-empty): never use an agent
_WORKSPACE_DIR, _CONFIG = ".shipyard", "config.toml"
EXIT_INTERRUPTED = 130


def run_through_agent(args: Sequence[str]) -> int | None:
    """The exit code of ``args`` (global options first) run by the workspace's agent,
    or None when the command must run here: not one the agent serves, no agent, or the
    agent declined before printing anything."""
    if os.environ.get(ENV_NO_AGENT) or os.environ.get("SHIPYARD_SERVER"):
        return None
    if not served_command(args):
        return None
    home = _home(args)
    if home is None:
        return None
    import socket  # only now: every other command is spared the import

    from shipyard.agent import wire

    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        client.connect(wire.socket_path(home))
        if not wire.same_user(client):  # never hand another user this environment
            raise OSError("the agent's socket belongs to another user")
    except OSError:
        client.close()
        return None
    with client:
        return _relay(client, list(args))


def _relay(client: socket.socket, args: list[str]) -> int | None:
    """Send the request, copy output frames to this process's streams, return the exit
    code (None: declined, or the agent went away before saying anything)."""
    from shipyard import __version__, agent
    from shipyard.agent import wire

    env = dict(os.environ)
    tty = [sys.stdout.isatty(), sys.stderr.isatty()]
    if any(tty):  # the agent's rich output fits this terminal (0 columns: size unknown)
        with contextlib.suppress(OSError):
            columns = os.get_terminal_size(2 if tty[1] else 1).columns
            if columns > 0:
                env.setdefault("COLUMNS", str(columns))
    request = {
        "argv": args,
        "cwd": os.getcwd(),
        "env": env,
        "stamp": [__version__, os.path.dirname(os.path.abspath(agent.__file__))],
        "tty": tty,
    }
    printed = False
    try:
        wire.send_json(client, wire.REQUEST, request)
        while True:
            kind, payload = wire.receive(client)
            if kind in (wire.STDOUT, wire.STDERR):
                _write(sys.stdout if kind == wire.STDOUT else sys.stderr, payload)
                printed = True
            elif kind == wire.EXIT:
                return int(payload)
            else:  # DECLINE, or a frame this client does not know
                return None
    except _OwnStreamClosed:  # `| head` and the like: what a command alone would do
        return 1
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted (the agent finishes the command on its own)\n")
        return EXIT_INTERRUPTED
    except OSError:
        if not printed:
            return None
        sys.stderr.write("error: the workspace agent stopped in the middle of the command\n")
        return 1


class _OwnStreamClosed(Exception):
    """This process's stdout or stderr went away (a closed pipe)."""


def _write(stream: TextIO, payload: bytes) -> None:
    try:
        stream.flush()
        stream.buffer.write(payload)
        stream.buffer.flush()
    except OSError as exc:  # not the agent's fault: say nothing more on a closed stream
        raise _OwnStreamClosed from exc


def served_command(args: Sequence[str]) -> bool:
    """Whether ``args`` name a command the agent runs (and are not asking for help)."""
    words: list[str] = []
    skip = False
    for arg in args:
        if skip:
            skip = False
        elif arg == "--home":
            skip = True
        elif arg in ("--help", "-h"):
            return False
        elif not arg.startswith("-"):
            words.append(arg)
    return tuple(words[:2]) in SERVED


def _home(args: Sequence[str]) -> str | None:
    """The workspace folder (``.shipyard/``) the command acts on, or None."""
    named = _home_option(args)
    if named is None:
        named = os.environ.get("SHIPYARD_HOME") or None
    if named is not None:
        if named.startswith(("http://", "https://")):
            return None
        folder = os.path.realpath(os.path.expanduser(named))
        if os.path.isdir(os.path.join(folder, _WORKSPACE_DIR)):
            return os.path.join(folder, _WORKSPACE_DIR)
        return folder if os.path.isfile(os.path.join(folder, _CONFIG)) else None
    here = os.path.realpath(os.getcwd())
    while True:
        candidate = os.path.join(here, _WORKSPACE_DIR)
        if os.path.isdir(candidate):
            return candidate
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _home_option(args: Sequence[str]) -> str | None:
    """The value of the first ``--home`` among the global options at the front."""
    for i, arg in enumerate(args):
        if arg == "--home":
            return args[i + 1] if i + 1 < len(args) else None
        if arg.startswith("--home="):
            return arg.removeprefix("--home=")
        if arg != "--debug":
            return None
    return None
