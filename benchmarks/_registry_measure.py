"""The measurements of ``registry_vs_mlflow.py``: set-up, fresh-process loads, predict.

Set-up and predict run as worker jobs (``_registry_scripts``); fresh-process loads run as
``python -c`` commands timed from their start to the line they print once the model is in
memory (interpreter shut-down is recorded too, but not compared).
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from _common import BENCH_DIR, CommandFailed, percentile, summarize
from _registry_scripts import LOADED, WORKERS, load_code
from _tracking_base import Broken, sqlite_uri
from _tracking_workers import Workers

NAME = "registry"
ROOT = BENCH_DIR / "registry_vs_mlflow"
MODEL, ALIAS = "bench-lr", "champion"
REF = f"{MODEL}@{ALIAS}"
MLFLOW_REF = f"models:/{REF}"
SIZES = {"1 row": 1, "10,000 rows": 10_000}
SEED = 20240611
PENDING = "pending (registry not built yet)"


@dataclass(frozen=True)
class Layout:
    """Where everything of one run lives under ``root``."""

    root: Path

    @property
    def frames(self) -> dict[str, str]:
        """Each frame's label and its parquet file."""
        return {label: str(self.root / f"rows_{n}.parquet") for label, n in SIZES.items()}

    @property
    def bare(self) -> Path:
        """The bare model, saved with ``skops.io.dump``."""
        return self.root / "bare" / "model.skops"

    @property
    def home(self) -> Path:
        """shipyard's workspace folder."""
        return self.root / "shipyard"

    @property
    def mlflow_uri(self) -> str:
        """MLflow's tracking and registry URI (SQLite)."""
        return sqlite_uri(self.root / "mlflow" / "mlflow.db")

    @property
    def mlflow_artifacts(self) -> str:
        """MLflow's local artifact store, as a file URI."""
        return (self.root / "mlflow" / "artifacts").as_uri()

    def make(self) -> None:
        """Create the folders the set-up jobs write into."""
        for folder in (self.root, self.bare.parent, self.root / "mlflow"):
            folder.mkdir(parents=True, exist_ok=True)


def write_workers(folder: Path) -> None:
    """Write both worker scripts into ``folder``."""
    for side, text in WORKERS.items():
        (folder / f"{side}_worker.py").write_text(text.lstrip())


def setup(workers: Workers, layout: Layout) -> dict[str, Any]:
    """The frames and bare model, shipyard's registry, MLflow's registry; what each said."""
    layout.make()
    started = time.perf_counter()
    job = {"frames": layout.frames, "sizes": SIZES, "seed": SEED, "bare": str(layout.bare)}
    data = workers.call("shipyard", {"mode": "data", **job})
    print(f"  data and bare model ready ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    job = {"home": str(layout.home), "bare": str(layout.bare), "model": MODEL, "alias": ALIAS}
    ours = workers.call("shipyard", {"mode": "shipyard_setup", **job})
    if "pending" in ours:
        print(f"  shipyard: {PENDING}: {ours['pending']}")
    elif not ours["agree"]:
        raise Broken("shipyard's loaded model predicts differently from the model it logged")
    else:
        print(f"  shipyard registry ready: {ours['ref']} ({time.perf_counter() - started:.1f} s)")
    started = time.perf_counter()
    job = {"uri": layout.mlflow_uri, "artifacts": layout.mlflow_artifacts, "experiment": "bench"}
    theirs = workers.call("mlflow", {"mode": "setup", "model": MODEL, "alias": ALIAS, **job})
    print(f"  MLflow registry ready: version {theirs['version']} ", end="")
    print(f"({time.perf_counter() - started:.1f} s)")
    return {"data": data, "shipyard": ours, "mlflow": theirs}


def load_commands(workers: Workers, layout: Layout, sides: Sequence[str]) -> dict[str, list[str]]:
    """The fresh-process load command of each side."""
    fields = {
        "path": str(layout.bare),
        "home": str(layout.home),
        "ref": REF,
        "uri": layout.mlflow_uri,
        "mlflow_ref": MLFLOW_REF,
    }
    commands = {}
    for side in sides:
        python = workers.mlflow_python if side == "mlflow" else Path(sys.executable)
        commands[side] = [str(python), "-c", load_code(side).format(**fields)]
    return commands


def time_to_marker(argv: list[str], cwd: Path, env: Mapping[str, str]) -> tuple[float, float]:
    """Seconds from start until ``argv`` prints ``LOADED``, and until it exits."""
    err = cwd / "load.err"
    with err.open("wb") as stderr:
        started = time.perf_counter()
        proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=stderr)
        assert proc.stdout is not None
        loaded = None
        for line in proc.stdout:
            if line.strip() == LOADED.encode():
                loaded = time.perf_counter() - started
                break
        out, _ = proc.communicate()
        ended = time.perf_counter() - started
    if proc.returncode != 0 or loaded is None:
        result = subprocess.CompletedProcess(argv, proc.returncode, out, err.read_bytes())
        raise CommandFailed(argv, result)
    return loaded, ended


def time_loads(
    workers: Workers, commands: Mapping[str, list[str]], repeat: int, warmup: int
) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """Round-robin fresh-process loads after ``warmup`` untimed rounds: to loaded, to exit."""
    loaded: dict[str, list[float]] = {side: [] for side in commands}
    exited: dict[str, list[float]] = {side: [] for side in commands}
    for index in range(warmup + repeat):
        timed = index >= warmup
        print(f"  {'round' if timed else 'warm-up'} {index + 1 - warmup * timed}: ", end="")
        for side, argv in commands.items():
            to_loaded, to_exit = time_to_marker(argv, workers.folder, workers.env)
            print(f"{side} {to_loaded:.2f} s ", end="", flush=True)
            if timed:
                loaded[side].append(to_loaded)
                exited[side].append(to_exit)
        print()
    return loaded, exited


def predict(
    workers: Workers, layout: Layout, setup_out: dict[str, Any], options: dict[str, int]
) -> tuple[dict[str, dict[str, list[float]]], dict[str, Any]]:
    """Each side's predict seconds per call, by frame then label; and the predictions."""
    base = {"mode": "predict", "frames": layout.frames, **options}
    ready = "pending" not in setup_out["shipyard"]
    ours = workers.call(
        "shipyard",
        {**base, "home": str(layout.home), "bare": str(layout.bare), "ref": REF}
        | {"shipyard": ready},
    )
    base |= {"repeat": options["mlflow_repeat"]}
    theirs = workers.call("mlflow", {**base, "uri": layout.mlflow_uri, "ref": MLFLOW_REF})
    seconds: dict[str, dict[str, list[float]]] = {}
    predictions: dict[str, dict[str, list[int]]] = {}
    for frame in SIZES:
        both = ours["ns"][frame] | theirs["ns"][frame]
        seconds[frame] = {label: [ns / 1e9 for ns in ns_list] for label, ns_list in both.items()}
        predictions[frame] = ours["predictions"][frame] | theirs["predictions"][frame]
    return seconds, check_predictions(predictions)


def check_predictions(predictions: dict[str, dict[str, list[int]]]) -> dict[str, Any]:
    """Stop unless bare and shipyard agree exactly; how often MLflow's model agrees."""
    agreement: dict[str, Any] = {}
    for frame, by_label in predictions.items():
        bare = by_label["bare"]
        for label, values in by_label.items():
            if label == "bare":
                continue
            same = sum(a == b for a, b in zip(values, bare, strict=True)) / len(bare)
            if label == "shipyard" and same != 1.0:
                raise Broken(f"shipyard and bare predictions differ on {frame}: {same:.4f}")
            agreement[f"{frame}: {label} vs bare"] = same
    return agreement


def summary(samples: Sequence[float]) -> dict[str, float | int]:
    """Median, p90, p95, minimum and count of ``samples`` (seconds)."""
    return {**summarize(samples), "p95": percentile(samples, 95)}
