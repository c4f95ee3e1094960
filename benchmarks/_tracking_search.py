"""Scenarios 2 and 3: search with a metric filter, and reading back a metric history."""

from __future__ import annotations

import argparse
from dataclasses import replace
from typing import Any

from _scenarios import Check, Scenario
from _tracking_base import (
    API_RUNS,
    EXPERIMENT,
    FILTER,
    LIMIT,
    ORDER_BY,
    PARAMS,
    THRESHOLD,
    Broken,
    expected_digest,
    ms,
    reference,
    shipyard_db,
    sqlite_uri,
)
from _tracking_stores import Stores
from _tracking_workers import Jobs, Workers, run_rounds


def search_jobs(stores: Stores, args: argparse.Namespace) -> Jobs:
    """Each labelled search worker and its job."""
    common = {"mode": "search", "experiment": EXPERIMENT, "limit": LIMIT, "warmup": 2}
    sy = {**common, "filter": FILTER, "order_by": ORDER_BY["shipyard"], "repeat": args.repeat}
    raw = {**common, "key": "m", "threshold": THRESHOLD, "repeat": args.repeat}
    mlflow = {**sy, "order_by": ORDER_BY["mlflow"], "warmup": 1, "repeat": args.mlflow_repeat}
    return {
        "shipyard/small": ("shipyard", {**sy, "folder": str(stores.small_home)}),
        "raw/small": ("raw", {**raw, "db": str(shipyard_db(stores.small_home))}),
        "mlflow/small": ("mlflow", {**mlflow, "uri": sqlite_uri(stores.mlflow_db)}),
        "shipyard/big": ("shipyard", {**sy, "folder": str(stores.big_home)}),
        "raw/big": ("raw", {**raw, "db": str(shipyard_db(stores.big_home))}),
    }


def bench_search(workers: Workers, stores: Stores, args: argparse.Namespace) -> Scenario:
    """Scenario 2: every worker returns the expected runs, in order, with their params."""

    def check(label: str, out: dict[str, Any]) -> None:
        wanted = stores.data(label).expected()
        if out["names"] != wanted:
            got = out["names"][:3]
            raise Broken(f"{label} found {len(out['names'])} runs {got}..., want {wanted[:3]}...")
        if out["params"] != len(wanted) * PARAMS:
            raise Broken(f"{label} returned {out['params']} params, want {len(wanted) * PARAMS}")

    samples, outputs = run_rounds(workers, search_jobs(stores, args), args.search_rounds, check)
    for size in ("small", "big"):
        if outputs[f"shipyard/{size}"]["ids"] != outputs[f"raw/{size}"]["ids"]:
            raise Broken(f"shipyard and raw SQL return different run ids ({size})")
    scenario = Scenario(f"2. search: {FILTER}, ordered by {ORDER_BY['shipyard']}", samples)
    scenario.extra = {"raw_sql_plan": outputs["raw/big"]["plan"]}
    return finish_search(scenario, stores, args)


def finish_search(scenario: Scenario, stores: Stores, args: argparse.Namespace) -> Scenario:
    """Scenario 2's lines and notes."""
    small, big = f"{len(stores.small.ids):,}", f"{len(stores.big.ids):,}"
    median = scenario.median
    mlflow = median("mlflow/small")
    for size, runs in (("small", small), ("big", big)):
        sy, raw = median(f"shipyard/{size}"), median(f"raw/{size}")
        other = ms(mlflow) if size == "small" else "not run"
        line = f"{runs} runs: shipyard / raw SQL"
        scenario.checks.append(Check(line, sy / raw, "<=", 2, "x", ms(sy), other, ms(raw)))
    sy_big, sy_small = median("shipyard/big"), median("shipyard/small")
    goal = Check(f"{big} runs: median", sy_big * 1000, "<", 50, "ms", ms(sy_big))
    scenario.checks += [
        replace(goal, limit=ms(median("raw/big"))),
        reference(f"{small} runs: MLflow / shipyard", mlflow / sy_small, ms(sy_small), ms(mlflow)),
    ]
    scenario.notes = search_notes(scenario, small, big, args)
    return scenario


def search_notes(scenario: Scenario, small: str, big: str, args: argparse.Namespace) -> list[str]:
    """Scenario 2's notes."""
    plan = "; ".join(scenario.extra["raw_sql_plan"])
    return [
        f"limit {LIMIT}; every worker returned the expected {LIMIT} runs in order (computed "
        "from the generated values) with their params, and shipyard the raw SQL's run ids",
        "raw SQL (the limit): with sqlite3 on shipyard's own tables, one query for the ids "
        "(a join of `run_latest_metrics` and `runs`) and four loading the same fields the "
        f"API returns (runs, params, tags, latest metrics, inputs); its query plan: {plan}",
        f"data: {API_RUNS} runs made through each API, the others inserted with sqlite3 "
        "(copies of an API-made run); each API was checked to see them all",
        f"MLflow: `MlflowClient.search_runs` (Run objects, like shipyard's), at {small} runs "
        f"only: creating {big} runs through its API would take far too long",
        f"rounds: {args.search_rounds}; shipyard and raw SQL {args.repeat} timed calls per "
        f"worker after 2 warm-up calls, MLflow {args.mlflow_repeat} after 1",
    ]


def bench_history(workers: Workers, stores: Stores, args: argparse.Namespace) -> Scenario:
    """Scenario 3: read back the history run's ``loss`` on all three."""
    steps = args.history_steps
    common = {"mode": "history", "key": "loss", "warmup": 2, "repeat": args.repeat}
    run_id = stores.shipyard_history
    jobs: Jobs = {
        "shipyard": ("shipyard", {**common, "folder": str(stores.small_home), "run_id": run_id}),
        "raw SQL": ("raw", {**common, "db": str(shipyard_db(stores.small_home)), "run_id": run_id}),
        "MLflow": (
            "mlflow",
            {**common, "uri": sqlite_uri(stores.mlflow_db), "run_id": stores.mlflow_history}
            | {"warmup": 1, "repeat": args.mlflow_repeat},
        ),
    }
    wanted = expected_digest(steps)

    def check(label: str, out: dict[str, Any]) -> None:
        if out["count"] != steps or out["digest"] != wanted:
            raise Broken(
                f"{label} read {out['count']} points (digest {out['digest']}), want {steps}"
            )

    samples, _ = run_rounds(workers, jobs, args.search_rounds, check)
    scenario = Scenario(f"3. metric history: {steps:,} steps read back", samples)
    sy, raw, mlflow = (scenario.median(label) for label in jobs)
    scenario.checks = [
        Check("median time", sy * 1000, "<", 30, "ms", ms(sy), ms(mlflow), ms(raw)),
        reference("MLflow / shipyard", mlflow / sy, ms(sy), ms(mlflow)),
    ]
    scenario.notes = [
        "all three returned the same steps and values (digest), shipyard in step order; "
        "MLflow's list is sorted by step after the timed call",
        "raw SQL: one indexed SELECT of (step, value, timestamp) with sqlite3",
        f"the run sits in the {len(stores.small.ids):,}-run stores of scenario 2",
    ]
    return scenario
