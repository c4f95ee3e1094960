"""Where a run came from: the code version (git) and the Python environment."""

from __future__ import annotations

import functools
import platform
import subprocess
import sys
from typing import Any

import blake3


def code_version(cwd: str | None = None) -> dict[str, Any] | None:
    """The git commit, whether the tree is dirty and a digest of its diff; None outside git."""
    commit = _git(["rev-parse", "HEAD"], cwd)
    if commit is None:
        return None
    status = _git(["status", "--porcelain", "--untracked-files=no"], cwd) or ""
    diff = _git(["diff", "HEAD"], cwd) or ""
    return {
        "commit": commit.strip(),
        "dirty": bool(status.strip()),
        "diff_digest": blake3.blake3(diff.encode()).hexdigest() if diff else None,
    }


@functools.cache
def environment() -> dict[str, Any]:
    """The interpreter, the platform and a digest of every installed package's version."""
    from importlib.metadata import distributions

    packages = sorted(
        f"{dist.metadata['Name']}=={dist.version}".lower()
        for dist in distributions()
        if dist.metadata["Name"]
    )
    return {
        "python": platform.python_version(),
        "implementation": sys.implementation.name,
        "platform": platform.platform(),
        "packages": len(packages),
        "packages_digest": blake3.blake3("\n".join(packages).encode()).hexdigest(),
    }


def _git(args: list[str], cwd: str | None) -> str | None:
    try:
        done = subprocess.run(
            ["git", *args], cwd=cwd, capture_output=True, text=True, timeout=10, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout if done.returncode == 0 else None
