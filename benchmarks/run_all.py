"""Run every benchmark in this folder, one subprocess each; exit 1 if any of them failed.

A benchmark is any ``benchmarks/*.py`` whose name starts with neither ``_`` nor ``run_all``.
Each runs with this same Python and prints straight to this terminal. ``make bench`` calls it.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def discover(folder: Path = HERE) -> list[Path]:
    """The benchmark scripts in ``folder``, sorted by name."""
    return sorted(
        path for path in folder.glob("*.py") if not path.name.startswith(("_", "run_all"))
    )


def run_one(script: Path) -> tuple[int, float]:
    """Run ``script`` with this Python, output passed through; its exit code and seconds."""
    print(f"\n=== {script.name} ===", flush=True)
    started = time.perf_counter()
    code = subprocess.run([sys.executable, str(script)], cwd=HERE.parent, check=False).returncode
    return code, time.perf_counter() - started


def main() -> int:
    """Run them all, then print one line per benchmark; 1 if any failed."""
    scripts = discover()
    if not scripts:
        print("no benchmarks found")
        return 1
    outcomes = {script.name: run_one(script) for script in scripts}
    print("\n=== summary ===")
    for name, (code, seconds) in outcomes.items():
        status = "ok" if code == 0 else f"FAILED (exit {code})"
        print(f"{name}: {status} in {seconds:.0f} s")
    return 0 if all(code == 0 for code, _ in outcomes.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
