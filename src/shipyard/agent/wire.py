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
