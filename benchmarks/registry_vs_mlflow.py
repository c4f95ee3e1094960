"""Model registry: loading and validated predict, shipyard vs MLflow vs bare skops, one run.

Workload (issue "model registry"): ``LogisticRegression(max_iter=5000)`` on
``load_breast_cancer(as_frame=True)`` (30 float columns). Goals, on medians of this run:

1. loading ``bench-lr@champion`` in a fresh process within 1.3x of a bare ``skops.io.load``
   of the same model, and at least 3x faster than ``mlflow.pyfunc.load_model`` by alias;
2. a validated ``predict`` of the loaded model within 2x of the bare model on 1 row and
   within 1.2x on 10,000 rows, and at least 10x faster than MLflow's pyfunc on both.

Fresh-process loads are ``python -c`` commands (MLflow's with its venv's Python,
``.bench/venvs/mlflow``, SQLite tracking and registry, local artifacts), timed from their
start until they print that the model is loaded; round-robin after a warm-up round, so the
page cache is warm. Predict runs in-process in worker scripts, ``time.perf_counter_ns`` per
call after warm-up, bare and shipyard alternating in blocks, on the same frames (rows drawn
with replacement from the dataset, shared as parquet files). MLflow logs its model with an
input example and a signature, so its pyfunc enforces the schema as a user's would.
If shipyard's registry is not built yet, its rows read "pending" and the rest still runs.
Data lives under ``.bench/registry_vs_mlflow/`` and is removed at the end unless ``--keep``.

Usage: ``.venv/bin/python benchmarks/registry_vs_mlflow.py [--repeat 5] [--calls 2000] [--keep]``
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import CommandFailed, machine_info, source_fingerprint, venv_bin, write_results
from _registry_measure import (
    NAME,
    ROOT,
    SIZES,
    Layout,
    load_commands,
    predict,
    setup,
    time_loads,
    write_workers,
)
from _registry_report import Figures, goal_lines, print_report
from _tracking_base import Broken
from _tracking_workers import Workers, clean_env, install_mlflow


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--repeat", type=int, default=5, help="timed fresh-process loads per side")
    add("--warmup", type=int, default=1, help="untimed fresh-process loads per side first")
    add("--calls", type=int, default=2000, help="timed predict calls per frame (ours, bare)")
    add("--mlflow-calls", type=int, default=500, help="timed predict calls per frame (MLflow)")
    add("--predict-warmup", type=int, default=100, help="untimed predict calls first")
    add("--block", type=int, default=10, help="calls in a row before the other side's turn")
    add("--keep", action="store_true", help=f"keep {ROOT} afterwards")
    args = parser.parse_args(argv)
    if min(args.repeat, args.calls, args.mlflow_calls, args.block) < 1:
        parser.error("--repeat, --calls, --mlflow-calls and --block must be at least 1")
    if min(args.warmup, args.predict_warmup) < 0:
        parser.error("warm-up counts must be at least 0")
    return args


def start(folder: Path) -> tuple[Workers, dict[str, Any]]:
    """MLflow's venv and the worker scripts in ``folder``; MLflow's details."""
    started = time.perf_counter()
    venv, requirements, reused = install_mlflow()
    workers = Workers(folder, venv_bin(venv, "python"), clean_env())
    write_workers(folder)
    return workers, {
        "requirements": requirements,
        "venv_reused": reused,
        "venv_s": time.perf_counter() - started,
    }


def measure(args: argparse.Namespace, workers: Workers, layout: Layout) -> dict[str, Any]:
    """Set up all sides, time the fresh-process loads, then predict; the raw results."""
    print("set-up ...")
    made = setup(workers, layout)
    ready = "pending" not in made["shipyard"]
    sides = ["bare", "shipyard", "mlflow"] if ready else ["bare", "mlflow"]
    print(f"fresh-process loads ({args.warmup} warm-up, {args.repeat} timed rounds) ...")
    commands = load_commands(workers, layout, sides)
    loaded, exited = time_loads(workers, commands, args.repeat, args.warmup)
    print("predict ...")
    options = {
        "repeat": args.calls,
        "mlflow_repeat": args.mlflow_calls,
        "warmup": args.predict_warmup,
        "block": args.block,
    }
    seconds, agreement = predict(workers, layout, made, options)
    return {
        "setup": made,
        "load": loaded,
        "load_to_exit": exited,
        "predict": seconds,
        "agreement": agreement,
        "commands": commands,
    }


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; 1 if a goal is missed or pending."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # keep our lines in order when piped
        sys.stdout.reconfigure(line_buffering=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    source = source_fingerprint()
    print(f"shipyard sources {source}, load average {load_before[0]:.2f}")
    shutil.rmtree(ROOT, ignore_errors=True)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-registry-") as tmp:
        try:
            workers, mlflow = start(Path(tmp))
            raw = measure(args, workers, Layout(ROOT))
        except (CommandFailed, Broken) as exc:
            print(f"benchmark aborted, a worker failed or misbehaved:\n{exc}", file=sys.stderr)
            print(f"(its files stay in {ROOT} for inspection)", file=sys.stderr)
            return 2
    if not args.keep:
        shutil.rmtree(ROOT, ignore_errors=True)
    figures = Figures.build(raw["load"], raw["predict"])
    lines = goal_lines(figures)
    mlflow |= {"version": raw["setup"]["mlflow"].get("mlflow")}
    print_report(figures, lines, raw)
    missed = [line["goal"] for line in lines if line["verdict"] != "PASS"]
    results = {
        "benchmark": NAME,
        "machine": machine_info(),
        "load_average_before": list(load_before),
        "shipyard_sources": source,
        "options": vars(args),
        "sizes": SIZES,
        "mlflow": mlflow,
        "seconds": time.perf_counter() - started,
        "figures": figures.to_json(),
        "goals": lines,
        **{key: raw[key] for key in ("setup", "agreement", "commands", "load_to_exit")},
        "missed": missed,
    }
    path = write_results(NAME, results)
    print(f"\nnot met: {len(missed)} goal(s)" + "".join(f"\n- {m}" for m in missed))
    print(f"total {results['seconds']:.0f} s; results: {path}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
