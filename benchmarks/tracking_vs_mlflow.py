"""Experiment tracking: shipyard vs MLflow vs raw SQL, side by side in one run.

Goals (issue "Experiment tracking ... fifty times MLflow's ingest"), on medians of this run:

1. ingest: runs of 5 params and 200 ``log_metric`` calls, points per second end to end
   (run start and end included), at least 50x MLflow's one call at a time (its SQLite
   store), and at least 10x through a ``shipyard server`` process (127.0.0.1, auth on);
   MLflow's ``log_batch`` is reported for reference;
2. search with a metric filter and ordering (``metrics.m > 0.5`` by ``metrics.m desc``,
   limit 100) over 2,000 and 100,000 runs: within 2x of the raw SQL answering the same
   question on shipyard's own tables, and a median under 50 ms at 100,000 runs (MLflow's
   ``search_runs`` at 2,000 runs only);
3. reading back a 10,000-step metric history in under 30 ms (vs ``get_metric_history``);
4. 8 concurrent writer processes: no lost point and a p99 ``log_metric`` latency under
   1 ms (MLflow with 4 writers for reference).

Each side runs as small worker scripts written to a temporary folder at run time: MLflow's
with the Python of its own venv (``.bench/venvs/mlflow``), shipyard's and the raw SQL ones
with this interpreter. Every worker times itself with ``time.perf_counter`` and prints JSON,
so both sides pay the same process overheads and no interpreter start-up is measured.
Workers of each scenario run round-robin. Data lives under ``.bench/tracking_vs_mlflow/``
and is removed at the end unless ``--keep``. This file is the entry point; the scenarios,
the worker scripts and the store fillers live in ``_tracking_*.py`` next to it.

Usage: ``.venv/bin/python benchmarks/tracking_vs_mlflow.py [--rounds N] [--keep]``
(``--small-runs``, ``--big-runs``, ``--history-steps``, ``--writer-points`` shrink it).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    CommandFailed,
    machine_info,
    source_fingerprint,
    summarize,
    write_results,
)
from _scenarios import Scenario, report
from _tracking_base import API_RUNS, NAME, ROOT, Broken
from _tracking_ingest import bench_ingest
from _tracking_search import bench_history, bench_search
from _tracking_stores import setup_search
from _tracking_workers import Workers, setup_workers
from _tracking_writers import bench_writers


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """The command-line options."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add = parser.add_argument
    add("--rounds", type=int, default=5, help="ingest rounds (one worker per side each)")
    add("--runs", type=int, default=3, help="timed runs per ingest worker")
    add("--points", type=int, default=200, help="log_metric calls per ingest run")
    add("--search-rounds", type=int, default=3, help="rounds of the search and history workers")
    add("--repeat", type=int, default=10, help="timed calls per shipyard or raw SQL worker")
    add("--mlflow-repeat", type=int, default=3, help="timed calls per MLflow worker")
    add("--small-runs", type=int, default=2_000, help="runs of the small search")
    add("--big-runs", type=int, default=100_000, help="runs of the big search")
    add("--history-steps", type=int, default=10_000, help="points of the history read back")
    add("--writers", type=int, default=8, help="concurrent shipyard writers")
    add("--writer-points", type=int, default=2_000, help="points per shipyard writer")
    add("--mlflow-writers", type=int, default=4, help="concurrent MLflow writers")
    add("--mlflow-writer-points", type=int, default=500, help="points per MLflow writer")
    add("--writer-rounds", type=int, default=2, help="rounds of the shipyard writers")
    add("--mlflow-writer-rounds", type=int, default=1, help="rounds of the MLflow writers")
    add("--interval-ms", type=float, default=2.5, help="pause between a writer's calls")
    add("--keep", action="store_true", help=f"keep {ROOT} afterwards")
    args = parser.parse_args(argv)
    counts = [v for k, v in vars(args).items() if k not in ("keep", "interval_ms")]
    if min(counts) < 1 or args.small_runs <= API_RUNS or args.interval_ms < 0:
        parser.error(f"counts must be at least 1, runs more than {API_RUNS}, interval >= 0")
    return args


def to_json(scenario: Scenario) -> dict[str, Any]:
    """A scenario as JSON: summaries (with samples unless there are thousands), lines, notes."""
    commands = {}
    for label, samples in scenario.samples.items():
        keep = {"samples": samples} if len(samples) <= 1000 else {}
        commands[label] = {**summarize(samples), **keep}
    lines = [
        {"goal": c.goal, "value": c.value, "op": c.op, "target": c.target, "unit": c.unit}
        | {"met": c.met}
        for c in scenario.checks
    ]
    return {"title": scenario.title, "commands": commands, "lines": lines, "notes": scenario.notes}


def head_commit() -> str | None:
    """The commit checked out in the repository (its tree may hold uncommitted edits)."""
    done = subprocess.run(
        ["git", "-C", str(BENCH_DIR.parent), "rev-parse", "HEAD"], capture_output=True
    )
    return done.stdout.decode().strip() if done.returncode == 0 else None


def measure(args: argparse.Namespace, workers: Workers) -> list[Scenario]:
    """Run the four scenarios in the issue's order."""
    print("scenario 1: ingest ...")
    ingest = bench_ingest(workers, args)
    print("scenarios 2-3: filling the search stores ...")
    stores = setup_search(workers, args)
    print("scenario 2: search ...")
    search = bench_search(workers, stores, args)
    print("scenario 3: metric history ...")
    history = bench_history(workers, stores, args)
    print("scenario 4: concurrent writers ...")
    writers = bench_writers(workers, args)
    return [ingest, search, history, writers]


def main(argv: list[str] | None = None) -> int:
    """Run the benchmark, print the tables, write the JSON; 1 if a goal is missed."""
    args = parse_args(argv)
    if isinstance(sys.stdout, io.TextIOWrapper):  # keep our lines in order when piped
        sys.stdout.reconfigure(line_buffering=True)
    started, load_before = time.perf_counter(), os.getloadavg()
    source = source_fingerprint()
    print(f"shipyard sources {source}, load average {load_before[0]:.2f}")
    shutil.rmtree(ROOT, ignore_errors=True)
    ROOT.mkdir(parents=True)
    with tempfile.TemporaryDirectory(prefix="shipyard-bench-tracking-") as tmp:
        try:
            workers, mlflow = setup_workers(Path(tmp))
            scenarios = measure(args, workers)
        except (CommandFailed, Broken) as exc:
            print(f"benchmark aborted, a worker failed or misbehaved:\n{exc}", file=sys.stderr)
            print(f"(its files stay in {ROOT} for inspection)", file=sys.stderr)
            return 2
    if not args.keep:
        shutil.rmtree(ROOT, ignore_errors=True)
    report(scenarios, "MLflow")
    missed = [f"{s.title}: {c.goal}" for s in scenarios for c in s.checks if c.met is False]
    results = {
        "benchmark": NAME,
        "machine": machine_info(),
        "load_average_before": list(load_before),
        "shipyard_sources": source,
        "shipyard_commit": head_commit(),
        "options": vars(args),
        "mlflow": mlflow,
        "seconds": time.perf_counter() - started,
        "scenarios": [to_json(s) | s.extra for s in scenarios],
        "missed": missed,
    }
    path = write_results(NAME, results)
    print(f"\nmissed: {len(missed)} goal(s)" + "".join(f"\n- {m}" for m in missed))
    print(f"total {results['seconds']:.0f} s; results: {path}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
