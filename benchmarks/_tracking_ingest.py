"""Scenario 1: ingest, embedded and through the server, against MLflow."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from _scenarios import Check, Scenario
from _tracking_base import (
    PARAMS,
    ROOT,
    Broken,
    ms,
    new_workspace,
    rate,
    reference,
    shipyard_db,
    sqlite,
    sqlite_uri,
    verify_runs,
)
from _tracking_server import HOST, running_server
from _tracking_workers import Workers

INGEST_LABELS = ("shipyard", "shipyard via server", "MLflow log_metric", "MLflow log_batch")
FOLDER = ROOT / "ingest"


@dataclass(frozen=True)
class IngestStores:
    """Where each side of the ingest scenario writes (the server has its own workspace)."""

    home: Path
    server_home: Path
    mlflow_db: Path
    url: str = ""
    token: str = ""

    def db(self, label: str) -> Path:
        """The SQLite file that ``label``'s runs land in."""
        if label == "shipyard":
            return shipyard_db(self.home)
        return shipyard_db(self.server_home) if label.endswith("server") else self.mlflow_db


def ingest_job(
    label: str, index: int, args: argparse.Namespace, stores: IngestStores
) -> tuple[str, dict[str, Any]]:
    """The side and job of one ingest worker."""
    job = {
        "mode": "ingest",
        "runs": args.runs,
        "points": args.points,
        "params": PARAMS,
        "warmup_points": 20,
    }
    if label == "shipyard":
        return "shipyard", {**job, "folder": str(stores.home), "experiment": f"ingest-{index}"}
    if label.endswith("server"):
        remote = {"url": stores.url, "token": stores.token, "experiment": f"server-{index}"}
        return "shipyard", {**job, **remote}
    variant = "batch" if label.endswith("log_batch") else "one"
    uri = sqlite_uri(stores.mlflow_db)
    return "mlflow", {**job, "uri": uri, "variant": variant, "experiment": f"{variant}-{index}"}


def ingest_round(
    workers: Workers, stores: IngestStores, index: int, args: argparse.Namespace
) -> dict[str, list[float]]:
    """One worker per label, each checked (sqlite3, and shipyard's API): their points/s."""
    rates: dict[str, list[float]] = {}
    for label in INGEST_LABELS:
        side, job = ingest_job(label, index, args, stores)
        out = workers.call(side, job)
        verify_runs(side, stores.db(label), out["run_ids"], args.points, PARAMS)
        if side == "shipyard" and out["api_points"] != [args.points] * args.runs:
            raise Broken(f"{label}: the API counts {out['api_points']} points, want {args.points}")
        rates[label] = [args.points / seconds for seconds in out["seconds"]]
    return rates


def bench_ingest(workers: Workers, args: argparse.Namespace) -> Scenario:
    """Scenario 1: one worker per label and round, each timing ``--runs`` runs."""
    stores = IngestStores(FOLDER / "shipyard", FOLDER / "server", FOLDER / "mlflow.db")
    new_workspace(stores.home)
    new_workspace(stores.server_home)
    workers.call("mlflow", {"mode": "init", "uri": sqlite_uri(stores.mlflow_db), "experiments": []})
    samples: dict[str, list[float]] = {label: [] for label in INGEST_LABELS}
    with running_server(stores.server_home, workers.env) as (url, token):
        stores = replace(stores, url=url, token=token)
        for index in range(args.rounds):
            print(f"  round {index + 1}/{args.rounds}")
            for label, rates in ingest_round(workers, stores, index, args).items():
                samples[label] += rates
    title = f"1. ingest: runs of {PARAMS} params and {args.points} log_metric calls"
    modes = {side: journal_mode(stores.db(label)) for side, label in JOURNALS.items()}
    return finish_ingest(Scenario(title, samples, extra={"journal_mode": modes}), args)


JOURNALS = {"shipyard": "shipyard", "server": "shipyard via server", "mlflow": "MLflow log_metric"}


def journal_mode(db: Path) -> str:
    """The journal mode stored in a SQLite file (WAL persists; others read as 'delete')."""
    with sqlite(db) as con:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])


def ingest_checks(scenario: Scenario) -> list[Check]:
    """Scenario 1's table lines: the two goals, and log_batch for reference."""
    sy, server, one, batch = (scenario.median(label) for label in INGEST_LABELS)
    goal = Check("points/s vs MLflow, one call at a time", sy / one, ">=", 50, "x", rate(sy))
    what = "points/s through the server vs MLflow, one call at a time"
    remote = Check(what, server / one, ">=", 10, "x", rate(server), rate(one))
    return [
        replace(goal, peer=rate(one)),
        remote,
        reference("points/s vs MLflow log_batch", sy / batch, rate(sy), rate(batch)),
    ]


def finish_ingest(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Scenario 1's lines and notes."""
    scenario.checks = ingest_checks(scenario)
    sy, server, one, batch = (scenario.median(label) for label in INGEST_LABELS)
    runs, modes = len(scenario.samples["shipyard"]), scenario.extra["journal_mode"]
    scenario.notes = [
        f"per run: start, {PARAMS} params in one call, {args.points} metric points, end; points/s "
        f"of each run, median over {runs} runs per side ({args.rounds} rounds of {args.runs}, "
        "after one untimed warm-up run per worker)",
        f"median seconds per run: shipyard {ms(args.points / sy)}, through the server "
        f"{ms(args.points / server)}, MLflow one call at a time {ms(args.points / one)}, "
        f"MLflow log_batch {ms(args.points / batch)}",
        f"through the server: `shipyard server` as its own process on {HOST} (a free port, "
        "auth on, an editor token), on its own workspace; the worker uses the same code with "
        "`sy.connect(url, token=...)` (points buffered and sent in batches, the run end "
        "flushes); the server ran for the whole scenario and was stopped afterwards",
        "both work outside any git repository (the workers and their working folder are in "
        "a temporary folder), so neither records a commit",
        f"durability differs: MLflow keeps SQLite's defaults (journal mode "
        f"{modes['mlflow']}, synchronous FULL: fsyncs at every commit); shipyard's store "
        f"is in journal mode {modes['shipyard']} (the server's {modes['server']})",
        f"every run checked with sqlite3 afterwards: finished, {args.points} points with "
        f"distinct steps, {PARAMS} params; shipyard's also counted through its API "
        "(`ws.runs.history`, through the server for the server's runs)",
    ]
    return scenario
