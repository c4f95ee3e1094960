"""Helpers shared by the benchmarks: peer venvs, timing, summaries, tables, results.

Everything a benchmark writes lives under ``<repo>/.bench/`` (git-ignored): peer tools are
installed into ``.bench/venvs/<name>`` (never into shipyard's own dependencies) and results
go to ``.bench/results/<name>.json``.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
BENCH_DIR = REPO / ".bench"
VENVS_DIR = BENCH_DIR / "venvs"
RESULTS_DIR = BENCH_DIR / "results"
STAMP_NAME = ".bench-requirements"


class CommandFailed(RuntimeError):
    """A timed or setup command exited non-zero; the message carries its output."""

    def __init__(self, argv: Sequence[str], result: subprocess.CompletedProcess[bytes]) -> None:
        self.argv = list(argv)
        self.returncode = result.returncode
        self.stdout = result.stdout.decode(errors="replace")
        self.stderr = result.stderr.decode(errors="replace")
        super().__init__(
            f"command {' '.join(self.argv)!r} exited {self.returncode}\n"
            f"--- stdout ---\n{self.stdout.strip()}\n--- stderr ---\n{self.stderr.strip()}"
        )


def run(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> subprocess.CompletedProcess[bytes]:
    """Run ``argv`` capturing its output; raise CommandFailed on a non-zero exit."""
    args = [os.fspath(a) for a in argv]
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=False)
    if result.returncode != 0:
        raise CommandFailed(args, result)
    return result


def venv_bin(venv: Path, program: str) -> Path:
    """The path of ``program`` inside ``venv`` (POSIX and Windows layouts)."""
    if os.name == "nt":
        return venv / "Scripts" / f"{program}.exe"
    return venv / "bin" / program


def _stamp_text(requirements: list[str]) -> str:
    return "\n".join(requirements) + "\n"


def peer_venv_current(name: str, requirements: list[str]) -> bool:
    """Whether ``.bench/venvs/<name>`` exists and was installed with ``requirements``."""
    venv = VENVS_DIR / name
    stamp = venv / STAMP_NAME
    return (
        venv_bin(venv, "python").exists()
        and stamp.is_file()
        and stamp.read_text() == _stamp_text(requirements)
    )


def peer_venv(name: str, requirements: list[str]) -> Path:
    """Create (or reuse) the venv ``.bench/venvs/<name>`` holding ``requirements``.

    The venv is rebuilt from scratch only when the requirement list differs from the one
    recorded in its stamp file, so a second call with the same list costs nothing.
    """
    venv = VENVS_DIR / name
    if peer_venv_current(name, requirements):
        print(f"[peer] reusing {venv} ({', '.join(requirements)})", file=sys.stderr)
        return venv
    print(f"[peer] installing {', '.join(requirements)} into {venv} ...", file=sys.stderr)
    started = time.perf_counter()
    stamp, python = venv / STAMP_NAME, venv_bin(venv, "python")
    stamp.unlink(missing_ok=True)
    venv.parent.mkdir(parents=True, exist_ok=True)
    run([sys.executable, "-m", "venv", "--clear", venv])
    pip: list[str | os.PathLike[str]] = [
        python,
        "-m",
        "pip",
        "--disable-pip-version-check",
        "--no-input",
        "--quiet",
    ]
    run([*pip, "install", *requirements])
    stamp.write_text(_stamp_text(requirements))
    seconds = time.perf_counter() - started
    print(f"[peer] installed {name} in {seconds:.1f} s", file=sys.stderr)
    return venv


def run_timed(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
) -> tuple[float, subprocess.CompletedProcess[bytes]]:
    """Run ``argv`` once like :func:`run`; its wall-clock seconds and its result."""
    args = [os.fspath(a) for a in argv]
    started = time.perf_counter()
    result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=False)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        raise CommandFailed(args, result)
    return elapsed, result


def time_command(
    argv: Sequence[str | os.PathLike[str]],
    *,
    cwd: str | os.PathLike[str] | None = None,
    env: Mapping[str, str] | None = None,
    repeat: int = 15,
    warmup: int = 2,
) -> list[float]:
    """Wall-clock seconds of ``repeat`` runs of ``argv``, after ``warmup`` untimed runs."""
    samples: list[float] = []
    args = [os.fspath(a) for a in argv]
    for index in range(warmup + repeat):
        started = time.perf_counter()
        result = subprocess.run(args, cwd=cwd, env=env, capture_output=True, check=False)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise CommandFailed(args, result)
        if index >= warmup:
            samples.append(elapsed)
    return samples


def time_interleaved(
    commands: Mapping[str, Sequence[str | os.PathLike[str]]],
    *,
    cwd: Mapping[str, str | os.PathLike[str]] | None = None,
    env: Mapping[str, str] | None = None,
    envs: Mapping[str, Mapping[str, str]] | None = None,
    repeat: int = 15,
    warmup: int = 2,
) -> dict[str, list[float]]:
    """Time several commands round-robin, so noise on a shared machine hits all alike.

    Each command first gets its ``warmup`` untimed runs; then ``repeat`` rounds run every
    command once each. ``cwd`` maps a command's label to its working folder, ``envs`` to
    its environment (instead of ``env``).
    """
    folders = dict(cwd or {})
    environments = {label: (envs or {}).get(label, env) for label in commands}
    for label, argv in commands.items():
        time_command(argv, cwd=folders.get(label), env=environments[label], repeat=0, warmup=warmup)
    samples: dict[str, list[float]] = {label: [] for label in commands}
    for _ in range(repeat):
        for label, argv in commands.items():
            samples[label] += time_command(
                argv, cwd=folders.get(label), env=environments[label], repeat=1, warmup=0
            )
    return samples


def summarize(samples: Sequence[float]) -> dict[str, float | int]:
    """Median, 90th percentile and minimum of ``samples`` (seconds), plus the count."""
    if not samples:
        raise ValueError("no samples to summarize")
    ordered = sorted(samples)
    if len(ordered) > 1:
        p90 = statistics.quantiles(ordered, n=10, method="inclusive")[8]
    else:
        p90 = ordered[0]
    return {
        "median": statistics.median(ordered),
        "p90": p90,
        "min": ordered[0],
        "runs": len(ordered),
    }


def markdown_table(rows: Sequence[Sequence[object]], headers: Sequence[str]) -> str:
    """A GitHub-flavoured markdown table with padded columns."""
    cells = [[str(h) for h in headers]] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]

    def line(row: list[str]) -> str:
        return "| " + " | ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)) + " |"

    rule = "|" + "|".join("-" * (w + 2) for w in widths) + "|"
    return "\n".join([line(cells[0]), rule, *(line(r) for r in cells[1:])])


def machine_info() -> dict[str, Any]:
    """What the numbers were measured on, to store next to them."""
    return {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
    }


def write_results(name: str, results: Mapping[str, Any]) -> Path:
    """Write ``results`` as JSON to ``.bench/results/<name>.json``; returns the path."""
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    path = RESULTS_DIR / f"{name}.json"
    path.write_text(json.dumps(results, indent=2, sort_keys=False) + "\n")
    return path


def percentile(samples: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, interpolated between closest ranks."""
    if not samples:
        raise ValueError("no samples for a percentile")
    if not 0 <= q <= 100:
        raise ValueError(f"percentile must be within 0-100, got {q!r}")
    ordered = sorted(samples)
    rank = (len(ordered) - 1) * q / 100
    low = int(rank)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (rank - low)


def source_fingerprint(package: Path = REPO / "src" / "shipyard") -> str:
    """A short digest of the ``.py`` files under ``package`` as they are now.

    The tree may hold uncommitted edits, so the commit alone would not say what ran.
    """
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(REPO).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]
