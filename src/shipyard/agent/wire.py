"""Where a workspace's agent listens, and the frames that cross its socket.

Standard library only: this is imported by every eligible command before it decides
whether to import anything else.

A frame is one byte of kind, four bytes of big-endian length, then the payload. The
client sends one request frame (JSON); the agent answers with output frames and ends
with an exit frame, or with a decline frame (before any output) when the command must
run in the client's own process.
"""

from __future__ import annotations

import json
import os
import socket
import struct
from typing import Any

SOCKET_NAME = "agent.sock"
PID_NAME = "agent.pid"
LOG_NAME = "agent.log"
MAX_SOCKET_PATH = 100  # sun_path holds 108 bytes on Linux, 104 on the BSDs

REQUEST = b"q"  # client -> agent: {"argv", "cwd", "env", "stamp", "tty"}
STOP = b"s"  # client -> agent: finish and exit
PING = b"p"  # client -> agent: answer with an INFO frame
STDOUT = b"o"
STDERR = b"e"
EXIT = b"x"  # payload: the exit code, as JSON
DECLINE = b"d"  # payload: why (the client runs the command itself)
INFO = b"i"  # payload: JSON about the agent

_HEADER = struct.Struct(">cI")
_PEERCRED = struct.Struct("3i")  # pid, uid, gid
MAX_FRAME = 64 << 20


class WireError(OSError):
    """The other side closed the socket or sent something that is not a frame."""


def socket_path(home: str) -> str:
    """The socket of the agent serving the workspace folder ``home`` (``.shipyard/``).

    Inside ``home`` when the path fits in a socket address; otherwise in a folder of the
    user's own under the runtime or temporary folder, named after ``home``.
    """
    inside = os.path.join(home, SOCKET_NAME)
    if len(os.fsencode(inside)) <= MAX_SOCKET_PATH:
        return inside
    import hashlib
    import tempfile

    tag = hashlib.blake2b(os.fsencode(os.path.abspath(home)), digest_size=12).hexdigest()
    base = os.environ.get("XDG_RUNTIME_DIR") or tempfile.gettempdir()
    return os.path.join(base, f"shipyard-{os.getuid()}", f"{tag}.sock")


def same_user(sock: socket.socket) -> bool:
    """Whether the process at the other end of ``sock`` runs as this user. Both sides
    ask: the agent answers no one else, and a client tells no one else its environment
    (a socket in a shared folder could be someone else's)."""
    if not hasattr(socket, "SO_PEERCRED"):
        return True  # not Linux: the socket's folder and mode are the only guard
    raw = sock.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, _PEERCRED.size)
    return bool(_PEERCRED.unpack(raw)[1] == os.getuid())


def private_folder(folder: str, *, shared_parent: bool) -> str | None:
    """Why a socket must not live in ``folder`` (None: it may): it must be a real folder
    of this user's; under a folder every user writes to (``/tmp``), one that no one else
    can write to either."""
    import stat

    info = os.lstat(folder)
    if not stat.S_ISDIR(info.st_mode):
        return f"{folder} is not a folder"
    if info.st_uid != os.getuid():
        return f"{folder} belongs to another user"
    if shared_parent and info.st_mode & 0o077:
        return f"{folder} is open to other users"
    return None


def send(sock: socket.socket, kind: bytes, payload: bytes = b"") -> None:
    """Write one frame."""
    sock.sendall(_HEADER.pack(kind, len(payload)) + payload)


def send_json(sock: socket.socket, kind: bytes, document: Any) -> None:
    """Write one frame holding ``document`` as JSON."""
    send(sock, kind, json.dumps(document).encode())


def receive(sock: socket.socket) -> tuple[bytes, bytes]:
    """Read one frame: (kind, payload); WireError when the socket closes first."""
    kind, length = _HEADER.unpack(_read_exactly(sock, _HEADER.size))
    if length > MAX_FRAME:
        raise WireError(f"frame of {length} bytes refused")
    return kind, _read_exactly(sock, length)


def _read_exactly(sock: socket.socket, size: int) -> bytes:
    chunks: list[bytes] = []
    while size:
        chunk = sock.recv(min(size, 1 << 20))
        if not chunk:
            raise WireError("the connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)
