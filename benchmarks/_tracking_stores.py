"""The search stores of scenarios 2 and 3: the same runs in two workspaces and MLflow's."""

from __future__ import annotations

import argparse
import json
import random
import time
from dataclasses import dataclass
from pathlib import Path

from _tracking_base import (
    API_RUNS,
    API_VALUES,
    EXPERIMENT,
    HISTORY_EXPERIMENT,
    LIMIT,
    PARAMS,
    ROOT,
    THRESHOLD,
    Broken,
    new_workspace,
    params_dict,
    shipyard_db,
    sqlite,
    sqlite_uri,
)
from _tracking_workers import Workers


@dataclass(frozen=True)
class Dataset:
    """The runs of a search scenario, the same on both sides (API runs come first)."""

    ids: list[str]
    names: list[str]
    m: list[float]
    loss: list[float]
    start: list[float]

    def expected(self) -> list[str]:
        """The names a search must return, best first."""
        hits = [i for i, value in enumerate(self.m) if value > THRESHOLD]
        return [self.names[i] for i in sorted(hits, key=lambda i: -self.m[i])[:LIMIT]]


def make_dataset(runs: int, seed: int) -> Dataset:
    """``runs`` runs with a random metric ``m`` (distinct values) and ``loss = 1 - m``."""
    rng = random.Random(seed)
    m = [rng.random() for _ in range(runs)]
    m[:API_RUNS] = API_VALUES[: min(runs, API_RUNS)]
    if len(set(m)) != runs:
        raise Broken("the generated metric values are not distinct; change the seed")
    return Dataset(
        ids=[f"{rng.getrandbits(128):032x}" for _ in range(runs)],
        names=[f"api-{i}" if i < API_RUNS else f"run-{i:06d}" for i in range(runs)],
        m=m,
        loss=[1.0 - value for value in m],
        start=[1_700_000_000.0 + i for i in range(runs)],
    )


def shipyard_api_runs(home: Path, data: Dataset, history_steps: int) -> tuple[str, str | None]:
    """The API-made runs (the first is the bulk template) and the history run's id."""
    import shipyard as sy

    history_id = None
    with sy.connect(home) as ws:
        ids = []
        for index in range(API_RUNS):
            with ws.start_run(EXPERIMENT, name=data.names[index]) as run:
                run.log_params(params_dict())
                run.log_metric("m", data.m[index])
                run.log_metric("loss", data.loss[index])
            ids.append(run.id)
        if history_steps:
            with ws.start_run(HISTORY_EXPERIMENT, name="history") as run:
                for step in range(history_steps):
                    run.log_metric("loss", 1.0 / (step + 1))
            history_id = run.id
    return ids[0], history_id


def bulk_shipyard(db: Path, data: Dataset, template: str) -> None:
    """Insert every run after the API ones straight into shipyard's tables."""
    rows = range(API_RUNS, len(data.ids))
    with sqlite(db) as con, con:
        query = "SELECT experiment_id, user, code_version, environment FROM runs WHERE id = ?"
        experiment, user, code, env = con.execute(query, (template,)).fetchone()
        con.executemany(
            "INSERT INTO runs (id, experiment_id, name, status, user, start_time, end_time, "
            "code_version, environment) VALUES (?, ?, ?, 'finished', ?, ?, ?, ?, ?)",
            (
                (data.ids[i], experiment, data.names[i], user, data.start[i], data.start[i] + 1)
                + (code, env)
                for i in rows
            ),
        )
        con.executemany(
            "INSERT INTO run_params (run_id, key, value) VALUES (?, ?, ?)",
            ((data.ids[i], k, v) for i in rows for k, v in params_dict().items()),
        )
        for table in ("run_latest_metrics", "run_metrics"):
            con.executemany(
                f"INSERT INTO {table} (run_id, key, step, value, timestamp) VALUES (?, ?, 0, ?, ?)",
                (
                    (data.ids[i], key, value, data.start[i])
                    for i in rows
                    for key, value in (("m", data.m[i]), ("loss", data.loss[i]))
                ),
            )


def check_api_sees_bulk(home: Path, data: Dataset) -> None:
    """Stop unless the API finds bulk and API runs alike, with their params and metrics."""
    import shipyard as sy

    with sy.connect(home) as ws:
        found = ws.runs.search(experiment=EXPERIMENT, filter="metrics.m > 0.99", limit=None)
        last = ws.runs.get(data.ids[-1])
    wanted = {data.names[i] for i, value in enumerate(data.m) if value > 0.99}
    if {run.name for run in found} != wanted:
        raise Broken(f"shipyard's search sees {len(found)} runs with m > 0.99, want {len(wanted)}")
    metrics = {"m": data.m[-1], "loss": data.loss[-1]}
    if last.params != params_dict() or last.metrics != metrics or last.status != "finished":
        raise Broken(f"shipyard reads a bulk run back wrong: {last}")


def fill_shipyard(home: Path, data: Dataset, history_steps: int) -> str | None:
    """A workspace holding ``data`` (and a history run); the history run's id."""
    started = time.perf_counter()
    new_workspace(home)
    template, history_id = shipyard_api_runs(home, data, history_steps)
    bulk_shipyard(shipyard_db(home), data, template)
    check_api_sees_bulk(home, data)
    seconds = time.perf_counter() - started
    print(f"  shipyard: {len(data.ids):,} runs in {seconds:.1f} s")
    return history_id


def fill_mlflow(workers: Workers, db: Path, data: Dataset, history_steps: int) -> str:
    """MLflow's store holding ``data`` and a history run; the history run's id."""
    started = time.perf_counter()
    dataset = db.with_suffix(".json")
    dataset.write_text(json.dumps(data.__dict__))
    job = {
        "mode": "fill",
        "uri": sqlite_uri(db),
        "db": str(db),
        "dataset": str(dataset),
        "experiment": EXPERIMENT,
        "history_experiment": HISTORY_EXPERIMENT,
        "history_steps": history_steps,
        "api_runs": API_RUNS,
        "params": PARAMS,
    }
    out = workers.call("mlflow", job)
    if out["seen"] != len(data.ids):
        raise Broken(f"MLflow's search_runs sees {out['seen']} runs, want {len(data.ids)}")
    print(f"  MLflow: {len(data.ids):,} runs in {time.perf_counter() - started:.1f} s")
    return str(out["history_run_id"])


@dataclass(frozen=True)
class Stores:
    """The search stores: two workspaces, MLflow's store, their data and history runs."""

    small_home: Path
    big_home: Path
    mlflow_db: Path
    small: Dataset
    big: Dataset
    shipyard_history: str
    mlflow_history: str

    def data(self, label: str) -> Dataset:
        """The dataset a ``side/size`` label searches."""
        return self.small if label.endswith("/small") else self.big


def setup_search(workers: Workers, args: argparse.Namespace) -> Stores:
    """Fill both workspaces and MLflow's store (with the history runs)."""
    folder = ROOT / "search"
    folder.mkdir(parents=True)
    small, big = make_dataset(args.small_runs, 1), make_dataset(args.big_runs, 2)
    small_home, big_home, db = folder / "shipyard-small", folder / "shipyard-big", folder / "ml.db"
    shipyard_history = fill_shipyard(small_home, small, args.history_steps)
    fill_shipyard(big_home, big, 0)
    mlflow_history = fill_mlflow(workers, db, small, args.history_steps)
    assert shipyard_history is not None
    return Stores(small_home, big_home, db, small, big, shipyard_history, mlflow_history)
