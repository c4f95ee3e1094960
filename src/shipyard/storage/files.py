"""Creating a file with exactly the given bytes and mode bits, never over an existing one."""

from __future__ import annotations

import functools
import os

__all__ = ["create_file", "umask", "write_all"]


def create_file(dest: str | os.PathLike[str], data: bytes, mode: int) -> None:
    """Create ``dest`` (which must not exist) holding ``data`` with ``mode``."""
    out = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        write_all(out, data)
        if mode & umask():  # the umask took bits away: put them back
            os.fchmod(out, mode)
    finally:
        os.close(out)


def write_all(fd: int, data: bytes) -> None:
    """Write every byte of ``data`` to the descriptor ``fd``."""
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


@functools.cache
def umask() -> int:
    """This process's umask, read without changing it (os.umask can only set it)."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except OSError:
        pass
    return 0o7777  # unknown: always set the mode explicitly
