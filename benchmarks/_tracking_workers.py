"""Running the worker scripts: one at a time, round-robin, or all at once."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import CommandFailed, peer_venv, peer_venv_current, venv_bin
from _tracking_base import MLFLOW_FALLBACK, MLFLOW_PINNED, Broken
from _tracking_scripts import WORKERS


@dataclass(frozen=True)
class Workers:
    """How to run the worker scripts, which sit in ``folder`` (also their working folder).

    MLflow's run with its venv's Python; shipyard's and the raw SQL ones with ours.
    """

    folder: Path
    mlflow_python: Path
    env: dict[str, str]

    def argv(self, side: str, job: dict[str, Any]) -> list[str]:
        """The command line of one job."""
        python = self.mlflow_python if side == "mlflow" else Path(sys.executable)
        return [str(python), str(self.folder / f"{side}_worker.py"), json.dumps(job)]

    def call(self, side: str, job: dict[str, Any]) -> dict[str, Any]:
        """Run one job to its end; its JSON result."""
        argv = self.argv(side, job)
        result = subprocess.run(
            argv, cwd=self.folder, env=self.env, capture_output=True, check=False
        )
        if result.returncode != 0:
            raise CommandFailed(argv, result)
        return parse_result(argv, result.stdout)

    def spawn(self, side: str, job: dict[str, Any], err: Path) -> subprocess.Popen[bytes]:
        """Start one job with pipes to talk to it (stderr goes to ``err``)."""
        with err.open("wb") as stderr:
            return subprocess.Popen(
                self.argv(side, job),
                cwd=self.folder,
                env=self.env,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=stderr,
            )


def parse_result(argv: Sequence[str], stdout: bytes) -> dict[str, Any]:
    """The JSON a worker printed on its ``RESULT`` line."""
    for line in reversed(stdout.decode(errors="replace").splitlines()):
        if line.startswith("RESULT "):
            return dict(json.loads(line[len("RESULT ") :]))
    raise Broken(f"worker {' '.join(argv[:2])} printed no result:\n{stdout[-2000:]!r}")


def clean_env() -> dict[str, str]:
    """This environment without SHIPYARD_*, with MLflow's telemetry off."""
    for key in [k for k in os.environ if k.startswith("SHIPYARD_")]:
        del os.environ[key]  # so the in-process fills use the benchmark's workspaces too
    quiet = {"MLFLOW_DISABLE_TELEMETRY": "true", "DO_NOT_TRACK": "true"}
    return {**os.environ, **quiet, "GIT_PYTHON_REFRESH": "quiet"}


def install_mlflow() -> tuple[Path, list[str], bool]:
    """MLflow's venv (pinned, else the newest 3.x): its path, requirements, reused?"""
    reused = peer_venv_current("mlflow", MLFLOW_PINNED)
    try:
        return peer_venv("mlflow", MLFLOW_PINNED), MLFLOW_PINNED, reused
    except CommandFailed as exc:
        print(f"[peer] {MLFLOW_PINNED[0]} unavailable ({exc.stderr.strip()[-200:]})")
        print(f"[peer] falling back to the newest 3.x: {MLFLOW_FALLBACK[0]}")
        reused = peer_venv_current("mlflow", MLFLOW_FALLBACK)
        return peer_venv("mlflow", MLFLOW_FALLBACK), MLFLOW_FALLBACK, reused


def setup_workers(folder: Path) -> tuple[Workers, dict[str, Any]]:
    """Write the worker scripts into ``folder``; the runner and MLflow's details."""
    started = time.perf_counter()
    venv, requirements, reused = install_mlflow()
    python = venv_bin(venv, "python")
    probe = [str(python), "-c", "import importlib.metadata as m; print(m.version('mlflow'))"]
    version = subprocess.run(probe, capture_output=True, check=True).stdout.decode().strip()
    for side, text in WORKERS.items():
        (folder / f"{side}_worker.py").write_text(text.lstrip())
    how = "reused" if reused else "installed"
    print(f"MLflow used: {version} ({', '.join(requirements)}), venv {how}")
    details = {
        "version": version,
        "requirements": requirements,
        "venv_reused": reused,
        "setup_s": time.perf_counter() - started,
    }
    return Workers(folder, python, clean_env()), details


Jobs = dict[str, tuple[str, dict[str, Any]]]  # label -> (side, job)


def run_rounds(
    workers: Workers,
    jobs: Jobs,
    rounds: int,
    check: Callable[[str, dict[str, Any]], None],
) -> tuple[dict[str, list[float]], dict[str, dict[str, Any]]]:
    """Every job once per round, round-robin; pooled seconds and each label's last output."""
    samples: dict[str, list[float]] = {label: [] for label in jobs}
    outputs: dict[str, dict[str, Any]] = {}
    for index in range(rounds):
        print(f"  round {index + 1}/{rounds}")
        for label, (side, job) in jobs.items():
            out = workers.call(side, job)
            check(label, out)
            samples[label] += out["seconds"]
            outputs[label] = out
    return samples, outputs


def wait_ready(proc: subprocess.Popen[bytes], err: Path) -> None:
    """Read the worker's output until it says READY; stop if it died first."""
    assert proc.stdout is not None
    for line in proc.stdout:
        if line.strip() == b"READY":
            return
    result = subprocess.CompletedProcess(proc.args, proc.wait(), b"", err.read_bytes())
    raise CommandFailed([str(a) for a in proc.args], result)  # type: ignore[union-attr]


def finish_worker(proc: subprocess.Popen[bytes], err: Path) -> dict[str, Any]:
    """Wait for a started worker; its JSON result."""
    out, _ = proc.communicate(timeout=900)
    argv = [str(a) for a in proc.args]  # type: ignore[union-attr]
    if proc.returncode != 0:
        result = subprocess.CompletedProcess(argv, proc.returncode, out, err.read_bytes())
        raise CommandFailed(argv, result)
    return parse_result(argv, out)


def run_together(workers: Workers, side: str, jobs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Start every job, wait until all are ready, then let them go at once; their results."""
    errs = [workers.folder / f"{side}-writer-{i}.err" for i in range(len(jobs))]
    procs = [workers.spawn(side, job, err) for job, err in zip(jobs, errs, strict=True)]
    try:
        for proc, err in zip(procs, errs, strict=True):
            wait_ready(proc, err)
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(b"go\n")
            proc.stdin.flush()  # communicate() closes it
        return [finish_worker(proc, err) for proc, err in zip(procs, errs, strict=True)]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()
