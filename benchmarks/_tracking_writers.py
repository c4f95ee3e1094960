"""Scenario 4: concurrent writer processes, paced, each call timed."""

from __future__ import annotations

import argparse
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _common import percentile, summarize
from _scenarios import Check, Scenario
from _tracking_base import FINISHED, ROOT, counts, ms, new_workspace, shipyard_db, sqlite_uri
from _tracking_workers import Workers, run_together


@dataclass
class Writes:
    """What one side's writers did over every round."""

    writers: int
    points: int
    rounds: int
    latencies: list[float] = field(default_factory=list)
    end_s: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    lost: int = 0

    @property
    def expected(self) -> int:
        """How many points the writers logged in all."""
        return self.writers * self.points * self.rounds

    def summary(self) -> dict[str, Any]:
        """The figures to keep in the JSON (not every latency)."""
        lat = self.latencies
        return {
            "writers": self.writers,
            "points": self.points,
            "rounds": self.rounds,
            "lost": self.lost,
            "errors": self.errors[:20],
            "p50_s": percentile(lat, 50),
            "p99_s": percentile(lat, 99),
            "p99_9_s": percentile(lat, 99.9),
            "max_s": max(lat),
            "end_s": self.end_s,
        }


def writer_store(workers: Workers, side: str, index: int) -> tuple[Path, dict[str, Any]]:
    """A fresh store for one round of ``side``'s writers: its database and base job."""
    folder = ROOT / "writers"
    if side == "shipyard":
        home = folder / f"shipyard-{index}"
        new_workspace(home)
        return shipyard_db(home), {"folder": str(home)}
    folder.mkdir(parents=True, exist_ok=True)
    db = folder / f"mlflow-{index}.db"
    workers.call("mlflow", {"mode": "init", "uri": sqlite_uri(db), "experiments": ["writers"]})
    return db, {"uri": sqlite_uri(db)}


def writer_round(workers: Workers, side: str, writes: Writes, index: int, interval: float) -> None:
    """One round: ``writes.writers`` processes log together into one fresh store."""
    db, base = writer_store(workers, side, index)
    job = {**base, "mode": "writer", "experiment": "writers", "points": writes.points}
    jobs = [{**job, "name": f"writer-{i}", "interval": interval} for i in range(writes.writers)]
    outs = run_together(workers, side, jobs)
    ids = [out["run_id"] for out in outs]
    found = counts(side, db, ids)
    for run_id in ids:
        status, stored, steps, _ = found.get(run_id, ("missing", 0, 0, 0))
        writes.lost += writes.points - min(stored, steps)
        if status != FINISHED[side]:
            writes.errors.append(f"run {run_id} is {status}")
    for out in outs:
        writes.latencies += out["latencies"]
        writes.end_s.append(out["end_s"])
        writes.errors += out["errors"]


def bench_writers(workers: Workers, args: argparse.Namespace) -> Scenario:
    """Scenario 4: the shipyard writers, then MLflow's, round by round."""
    sides = {
        "shipyard": Writes(args.writers, args.writer_points, args.writer_rounds),
        "mlflow": Writes(args.mlflow_writers, args.mlflow_writer_points, args.mlflow_writer_rounds),
    }
    for index in range(max(writes.rounds for writes in sides.values())):
        for side, writes in sides.items():
            if index < writes.rounds:
                print(f"  {side}: {writes.writers} writers, round {index + 1}/{writes.rounds}")
                writer_round(workers, side, writes, index, args.interval_ms / 1000)
    title = f"4. {args.writers} concurrent writer processes"
    scenario = Scenario(title, {side: writes.latencies for side, writes in sides.items()})
    return finish_writers(scenario, sides["shipyard"], sides["mlflow"], args)


def writes_text(writes: Writes) -> str:
    """Latency percentiles, run ends and errors of one side, for a note."""
    lat = writes.latencies
    first = f" (first: {writes.errors[0][:160]})" if writes.errors else ""
    return (
        f"p50 {ms(percentile(lat, 50))}, p99.9 {ms(percentile(lat, 99.9))}, "
        f"max {ms(max(lat))}; run end (final flush) median "
        f"{ms(float(summarize(writes.end_s)['median']))}; errors: {len(writes.errors)}{first}"
    )


def finish_writers(
    scenario: Scenario, sy: Writes, ml: Writes, args: argparse.Namespace
) -> Scenario:
    """Scenario 4's lines and notes."""
    sy_p99, ml_p99 = percentile(sy.latencies, 99), percentile(ml.latencies, 99)
    lost = Check(f"lost points ({sy.writers} writers x {sy.points:,})", sy.lost, "==", 0, "")
    scenario.checks = [
        replace(
            lost, shipyard=f"{sy.lost} of {sy.expected:,}", peer=f"{ml.lost} of {ml.expected:,}"
        ),
        Check("p99 log_metric call latency", sy_p99 * 1000, "<", 1, "ms", ms(sy_p99), ms(ml_p99)),
    ]
    scenario.notes = [
        f"each writer starts its run, waits until all are ready, then logs one point every "
        f"{args.interval_ms:g} ms (paced) and ends the run; each call is timed on its own",
        f"rounds: shipyard {sy.rounds}; MLflow, for reference, {ml.rounds} of {ml.writers} "
        f"writers x {ml.points:,} points, one `mlflow.log_metric` call at a time",
        f"shipyard: {writes_text(sy)}",
        f"MLflow: {writes_text(ml)}",
        "points counted afterwards with sqlite3 (rows and distinct steps per run, status)",
    ]
    scenario.extra = {"shipyard": sy.summary(), "mlflow": ml.summary()}
    return scenario
