"""A real ``shipyard server`` process on the loopback, with auth on, for the ingest scenario.

``running_server`` creates an editor token, starts the server on a free port of 127.0.0.1,
waits until ``/api/v1/health`` answers, and always stops it afterwards (terminate, then
kill after a timeout).
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from _common import run, venv_bin
from _tracking_base import Broken

HOST = "127.0.0.1"
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0


def shipyard_program() -> Path:
    """The ``shipyard`` console script of this interpreter's venv."""
    return Path(sys.executable).parent / venv_bin(Path(), "shipyard").name


def free_port() -> int:
    """A TCP port of the loopback nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def create_token(home: Path, env: dict[str, str]) -> str:
    """A new API token of the editor ``bench`` in the workspace ``home``."""
    argv = [str(shipyard_program()), "--home", str(home), "tokens", "create"]
    done = run([*argv, "--user", "bench", "--role", "editor", "--json"], env=env)
    return str(json.loads(done.stdout)["token"])


def healthy(url: str) -> bool:
    """Whether ``GET url/api/v1/health`` answers 200."""
    try:
        with urllib.request.urlopen(f"{url}/api/v1/health", timeout=1) as answer:
            return int(answer.status) == 200
    except (urllib.error.URLError, OSError):
        return False


def wait_healthy(proc: subprocess.Popen[bytes], url: str, log: Path) -> None:
    """Return once the server answers; stop the run if it died or took too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise Broken(f"shipyard server exited {proc.returncode}:\n{log.read_text()[-2000:]}")
        if healthy(url):
            return
        time.sleep(0.1)
    raise Broken(f"shipyard server not healthy after {START_TIMEOUT_S:g} s:\n{log.read_text()}")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Terminate the server; kill it if it has not exited after a timeout."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(timeout=STOP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


@contextmanager
def running_server(home: Path, env: dict[str, str]) -> Iterator[tuple[str, str]]:
    """A server on the workspace ``home`` for the block: its URL and an editor token."""
    token = create_token(home, env)
    port = free_port()
    log = home.parent / "server.log"
    argv = [str(shipyard_program()), "--home", str(home), "server", "--host", HOST]
    with log.open("wb") as out:
        argv += ["--port", str(port)]
        proc = subprocess.Popen(argv, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://{HOST}:{port}"
        wait_healthy(proc, url, log)
        yield url, token
    finally:
        stop(proc)
