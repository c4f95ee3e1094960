"""File trees for dataset tests: write them, read them back, backdate them."""

from __future__ import annotations

import os
from pathlib import Path


def make_tree(root: Path, files: dict[str, bytes | str]) -> Path:
    """Write ``files`` (relative path -> content) under ``root``."""
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content.encode() if isinstance(content, str) else content)
    return root


def tree_of(root: Path) -> dict[str, tuple[bytes, int]]:
    """Every file under ``root``: its bytes and permission bits."""
    return {
        str(p.relative_to(root)): (p.read_bytes(), os.stat(p).st_mode & 0o777)
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def age(path: Path, seconds: float = 5.0) -> None:
    """Backdate a file's mtime, as if written a while ago (outside the racy window)."""
    stat = path.stat()
    shift = int(seconds * 1e9)
    os.utime(path, ns=(stat.st_atime_ns - shift, stat.st_mtime_ns - shift))
