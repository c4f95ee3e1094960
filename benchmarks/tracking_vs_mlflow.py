"""Experiment tracking: shipyard vs MLflow vs raw SQL, side by side in one run.

Goals (issue "Experiment tracking ... fifty times MLflow's ingest"), on medians of this run:

1. ingest: runs of 5 params and 200 ``log_metric`` calls, points per second end to end
   (run start and end included), at least 50x MLflow's one call at a time (its SQLite
   store); MLflow's ``log_batch`` is reported for reference;
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
and is removed at the end unless ``--keep``.

Usage: ``.venv/bin/python benchmarks/tracking_vs_mlflow.py [--rounds N] [--keep]``
(``--small-runs``, ``--big-runs``, ``--history-steps``, ``--writer-points`` shrink it).
"""

from __future__ import annotations

import argparse
import hashlib
import io
import json
import operator
import os
import random
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from _common import (
    BENCH_DIR,
    CommandFailed,
    machine_info,
    markdown_table,
    peer_venv,
    peer_venv_current,
    percentile,
    source_fingerprint,
    summarize,
    venv_bin,
    write_results,
)

NAME = "tracking_vs_mlflow"
ROOT = BENCH_DIR / NAME
MLFLOW_PINNED = ["mlflow==3.17.*"]
MLFLOW_FALLBACK = ["mlflow>=3,<4"]
EXPERIMENT = "bench"
HISTORY_EXPERIMENT = "history"
FILTER = "metrics.m > 0.5"
THRESHOLD = 0.5
ORDER_BY = {"shipyard": "metrics.m desc", "mlflow": "metrics.m DESC"}
LIMIT = 100
PARAMS = 5
API_RUNS = 3  # created through each API; the rest are bulk-inserted with sqlite3
API_VALUES = (0.99951, 0.9995, 0.2)  # two of them rank in the top 100, one fails the filter
OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}

# --- the worker scripts --------------------------------------------------------------------

WORKER_COMMON = '''
import hashlib
import json
import sys
import time
from pathlib import Path


def value(step):
    """The metric value logged at ``step``, the same on both sides."""
    return 1.0 / (step + 1)


def timed_calls(call, warmup, repeat):
    """``warmup`` untimed calls, then ``repeat`` timed ones: their seconds, last result."""
    result = None
    for _ in range(warmup):
        result = call()
    seconds = []
    for _ in range(repeat):
        started = time.perf_counter()
        result = call()
        seconds.append(time.perf_counter() - started)
    return seconds, result


def digest(pairs):
    """A short digest of (step, value) pairs."""
    text = json.dumps([[int(step), float(val)] for step, val in pairs])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def paced(log, points, interval):
    """Call ``log(step)`` every ``interval`` seconds: each call's seconds, the errors."""
    latencies, errors = [], []
    start = time.perf_counter()
    for step in range(points):
        delay = start + step * interval - time.perf_counter()
        if delay > 0:
            time.sleep(delay)
        began = time.perf_counter()
        try:
            log(step)
        except Exception as exc:
            errors.append(repr(exc))
        latencies.append(time.perf_counter() - began)
    return latencies, errors


def wait_for_go():
    """Tell the parent we are ready, then wait until it says go."""
    print("READY", flush=True)
    sys.stdin.readline()


def main(jobs):
    """Run the job given as JSON in argv[1]; print its result as one JSON line."""
    job = json.loads(sys.argv[1])
    result = jobs[job["mode"]](job)
    print("RESULT " + json.dumps(result), flush=True)
'''

SHIPYARD_WORKER = """
import shipyard as sy


def one_run(ws, experiment, name, params, points):
    with ws.start_run(experiment, name=name) as run:
        run.log_params(params)
        for step in range(points):
            run.log_metric("loss", value(step))
    return run.id


def ingest(job):
    ws = sy.connect(job["folder"])
    params = {f"p{i}": str(i) for i in range(job["params"])}
    one_run(ws, "warmup", "warmup", params, job["warmup_points"])
    seconds, ids = [], []
    for index in range(job["runs"]):
        started = time.perf_counter()
        ids.append(one_run(ws, job["experiment"], f"run-{index}", params, job["points"]))
        seconds.append(time.perf_counter() - started)
    ws.close()
    return {"seconds": seconds, "run_ids": ids}


def search(job):
    ws = sy.connect(job["folder"])

    def call():
        return ws.runs.search(
            experiment=job["experiment"],
            filter=job["filter"],
            order_by=job["order_by"],
            limit=job["limit"],
        )

    seconds, found = timed_calls(call, job["warmup"], job["repeat"])
    ws.close()
    return {
        "seconds": seconds,
        "ids": [run.id for run in found],
        "names": [run.name for run in found],
        "params": sum(len(run.params) for run in found),
    }


def history(job):
    ws = sy.connect(job["folder"])
    call = lambda: ws.runs.history(job["run_id"], job["key"])  # noqa: E731
    seconds, points = timed_calls(call, job["warmup"], job["repeat"])
    ws.close()
    pairs = [(point.step, point.value) for point in points]
    return {"seconds": seconds, "count": len(points), "digest": digest(pairs)}


def writer(job):
    ws = sy.connect(job["folder"])
    errors, end_s = [], None
    with ws.start_run(job["experiment"], name=job["name"]) as run:
        wait_for_go()
        log = lambda step: run.log_metric("loss", value(step))  # noqa: E731
        latencies, errors = paced(log, job["points"], job["interval"])
        ending = time.perf_counter()
    end_s = time.perf_counter() - ending
    ws.close()
    return {"run_id": run.id, "latencies": latencies, "end_s": end_s, "errors": errors}


if __name__ == "__main__":
    main({"ingest": ingest, "search": search, "history": history, "writer": writer})
"""

MLFLOW_WORKER = """
import sqlite3

import mlflow
from mlflow import MlflowClient
from mlflow.entities import Metric, Param


def connect(job):
    mlflow.set_tracking_uri(job["uri"])
    return MlflowClient()


def one_by_one(client, name, params, points):
    with mlflow.start_run(run_name=name) as run:
        mlflow.log_params(params)
        for step in range(points):
            mlflow.log_metric("loss", value(step), step=step)
    return run.info.run_id


def one_batch(client, name, params, points):
    with mlflow.start_run(run_name=name) as run:
        now = int(time.time() * 1000)
        metrics = [Metric("loss", value(step), now, step) for step in range(points)]
        pairs = [Param(key, val) for key, val in params.items()]
        client.log_batch(run.info.run_id, metrics=metrics, params=pairs)
    return run.info.run_id


def ingest(job):
    client = connect(job)
    params = {f"p{i}": str(i) for i in range(job["params"])}
    log = one_batch if job["variant"] == "batch" else one_by_one
    mlflow.set_experiment("warmup")
    log(client, "warmup", params, job["warmup_points"])
    mlflow.set_experiment(job["experiment"])
    seconds, ids = [], []
    for index in range(job["runs"]):
        started = time.perf_counter()
        ids.append(log(client, f"run-{index}", params, job["points"]))
        seconds.append(time.perf_counter() - started)
    return {"seconds": seconds, "run_ids": ids}


def search(job):
    client = connect(job)
    experiment = client.get_experiment_by_name(job["experiment"]).experiment_id

    def call():
        return client.search_runs(
            [experiment],
            filter_string=job["filter"],
            order_by=[job["order_by"]],
            max_results=job["limit"],
        )

    seconds, found = timed_calls(call, job["warmup"], job["repeat"])
    return {
        "seconds": seconds,
        "ids": [run.info.run_id for run in found],
        "names": [run.info.run_name for run in found],
        "params": sum(len(run.data.params) for run in found),
    }


def history(job):
    client = connect(job)
    call = lambda: client.get_metric_history(job["run_id"], job["key"])  # noqa: E731
    seconds, points = timed_calls(call, job["warmup"], job["repeat"])
    pairs = sorted((point.step, point.value) for point in points)
    return {"seconds": seconds, "count": len(points), "digest": digest(pairs)}


def writer(job):
    connect(job)
    mlflow.set_experiment(job["experiment"])
    run = mlflow.start_run(run_name=job["name"])
    wait_for_go()
    log = lambda step: mlflow.log_metric("loss", value(step), step=step)  # noqa: E731
    latencies, errors = paced(log, job["points"], job["interval"])
    ending = time.perf_counter()
    try:
        mlflow.end_run()
    except Exception as exc:
        errors.append(repr(exc))
    end_s = time.perf_counter() - ending
    return {"run_id": run.info.run_id, "latencies": latencies, "end_s": end_s, "errors": errors}


def init(job):
    client = connect(job)
    for name in job["experiments"]:
        client.create_experiment(name)
    return {"version": mlflow.__version__}


def api_run(client, experiment, data, index, params):
    run = client.create_run(experiment, run_name=data["names"][index])
    now = int(time.time() * 1000)
    metrics = [Metric("m", data["m"][index], now, 0), Metric("loss", data["loss"][index], now, 0)]
    pairs = [Param(key, val) for key, val in params.items()]
    client.log_batch(run.info.run_id, metrics=metrics, params=pairs)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def bulk_rows(con, template, data, first, params):
    cursor = con.execute("SELECT * FROM runs WHERE run_uuid = ?", (template,))
    base = dict(zip([d[0] for d in cursor.description], cursor.fetchone()))
    tags = con.execute("SELECT key, value FROM tags WHERE run_uuid = ?", (template,)).fetchall()
    rows = {"runs": [], "tags": [], "params": [], "latest_metrics": [], "metrics": []}
    for index in range(first, len(data["ids"])):
        rid, name = data["ids"][index], data["names"][index]
        start = int(data["start"][index] * 1000)
        uri = base["artifact_uri"].replace(template, rid)
        run = {"run_uuid": rid, "name": name, "start_time": start, "end_time": start + 1000}
        rows["runs"].append({**base, **run, "artifact_uri": uri})
        rows["tags"] += [(k, name if k == "mlflow.runName" else v, rid) for k, v in tags]
        rows["params"] += [(key, val, rid) for key, val in params.items()]
        for key in ("m", "loss"):
            rows["latest_metrics"].append((key, data[key][index], start, 0, 0, rid))
            rows["metrics"].append((key, data[key][index], start, rid, 0, 0))
    return rows


def bulk_insert(db, template, data, first, params):
    con = sqlite3.connect(db)
    rows = bulk_rows(con, template, data, first, params)
    columns = list(rows["runs"][0])
    names = ", ".join(columns)
    marks = ", ".join(f":{column}" for column in columns)
    with con:
        con.executemany(f"INSERT INTO runs ({names}) VALUES ({marks})", rows["runs"])
        con.executemany("INSERT INTO tags (key, value, run_uuid) VALUES (?, ?, ?)", rows["tags"])
        con.executemany(
            "INSERT INTO params (key, value, run_uuid) VALUES (?, ?, ?)", rows["params"]
        )
        con.executemany(
            "INSERT INTO latest_metrics (key, value, timestamp, step, is_nan, run_uuid) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows["latest_metrics"],
        )
        con.executemany(
            "INSERT INTO metrics (key, value, timestamp, run_uuid, step, is_nan) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            rows["metrics"],
        )
    con.close()


def history_run(client, experiment_name, steps):
    experiment = client.create_experiment(experiment_name)
    run = client.create_run(experiment, run_name="history")
    now = int(time.time() * 1000)
    for first in range(0, steps, 1000):
        stop = min(first + 1000, steps)
        metrics = [Metric("loss", value(step), now, step) for step in range(first, stop)]
        client.log_batch(run.info.run_id, metrics=metrics)
    client.set_terminated(run.info.run_id)
    return run.info.run_id


def fill(job):
    client = connect(job)
    data = json.loads(Path(job["dataset"]).read_text())
    params = {f"p{i}": str(i) for i in range(job["params"])}
    experiment = client.create_experiment(job["experiment"])
    api = [api_run(client, experiment, data, i, params) for i in range(job["api_runs"])]
    bulk_insert(job["db"], api[0], data, job["api_runs"], params)
    history_id = history_run(client, job["history_experiment"], job["history_steps"])
    seen = client.search_runs([experiment], max_results=50000)
    return {"api_ids": api, "history_run_id": history_id, "seen": len(seen)}


if __name__ == "__main__":
    main(
        {
            "ingest": ingest,
            "search": search,
            "history": history,
            "writer": writer,
            "init": init,
            "fill": fill,
        }
    )
"""

RAW_WORKER = '''
import sqlite3

SEARCH = """
SELECT r.id FROM run_latest_metrics m JOIN runs r ON r.id = m.run_id
WHERE m.key = ? AND m.value > ?
  AND r.experiment_id = (SELECT id FROM experiments WHERE name = ?)
ORDER BY m.value DESC, r.start_time DESC, r.id LIMIT ?
"""
HISTORY = """
SELECT step, value, timestamp FROM run_metrics WHERE run_id = ? AND key = ?
ORDER BY step, timestamp
"""


def load(con, ids):
    """The runs ``ids`` with their experiment, params, tags, latest metrics and inputs."""
    marks = ", ".join("?" * len(ids))
    cursor = con.execute(
        "SELECT r.*, e.name AS experiment FROM runs r JOIN experiments e "
        f"ON e.id = r.experiment_id WHERE r.id IN ({marks})",
        ids,
    )
    columns = [d[0] for d in cursor.description]
    found = {}
    for row in cursor:
        run = dict(zip(columns, row))
        for key in ("code_version", "environment"):
            run[key] = json.loads(run[key]) if run[key] else None
        found[run["id"]] = {**run, "params": {}, "tags": {}, "metrics": {}, "inputs": []}
    keyed = (("run_params", "params"), ("run_tags", "tags"), ("run_latest_metrics", "metrics"))
    for table, key in keyed:
        query = f"SELECT run_id, key, value FROM {table} WHERE run_id IN ({marks})"
        for run_id, name, val in con.execute(query, ids):
            found[run_id][key][name] = val
    query = f"SELECT run_id, dataset, version FROM run_inputs WHERE run_id IN ({marks})"
    for run_id, dataset, version in con.execute(query, ids):
        found[run_id]["inputs"].append(f"{dataset}@v{version}")
    return [found[i] for i in ids if i in found]


def search(job):
    con = sqlite3.connect(job["db"])
    args = (job["key"], job["threshold"], job["experiment"], job["limit"])

    def call():
        ids = [row[0] for row in con.execute(SEARCH, args)]
        return load(con, ids)

    seconds, found = timed_calls(call, job["warmup"], job["repeat"])
    plan = [row[-1] for row in con.execute("EXPLAIN QUERY PLAN " + SEARCH, args)]
    return {
        "seconds": seconds,
        "ids": [run["id"] for run in found],
        "names": [run["name"] for run in found],
        "params": sum(len(run["params"]) for run in found),
        "plan": plan,
    }


def history(job):
    con = sqlite3.connect(job["db"])
    call = lambda: con.execute(HISTORY, (job["run_id"], job["key"])).fetchall()  # noqa: E731
    seconds, points = timed_calls(call, job["warmup"], job["repeat"])
    pairs = [(step, val) for step, val, _ in points]
    return {"seconds": seconds, "count": len(points), "digest": digest(pairs)}


if __name__ == "__main__":
    main({"search": search, "history": history})
'''

WORKERS = {
    "shipyard": WORKER_COMMON + SHIPYARD_WORKER,
    "mlflow": WORKER_COMMON + MLFLOW_WORKER,
    "raw": WORKER_COMMON + RAW_WORKER,
}


class Broken(RuntimeError):
    """A worker succeeded but gave a wrong answer (or set-up went wrong): the run is void."""


@dataclass(frozen=True)
class Check:
    """One line of a scenario's table: a goal (``op`` set) or a figure for reference."""

    goal: str
    value: float
    op: str | None
    target: float
    unit: str  # "x" for ratios, "ms", or "" for a count
    shipyard: str = "-"
    mlflow: str = "-"
    limit: str = "-"

    @property
    def met(self) -> bool | None:
        """Whether the value satisfies the target; None for a reference line."""
        return None if self.op is None else OPS[self.op](self.value, self.target)


def reference(what: str, ratio: float, shipyard: str, mlflow: str) -> Check:
    """A line for reference: the ratio of two figures, with no target."""
    return Check(f"{what} (reference)", ratio, None, 0, "x", shipyard, mlflow)


@dataclass
class Scenario:
    """One scenario's samples, table lines, remarks and extra JSON."""

    title: str
    samples: dict[str, list[float]]
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def median(self, label: str) -> float:
        """The median of ``label``'s samples."""
        return float(summarize(self.samples[label])["median"])


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


# --- set-up -------------------------------------------------------------------------------


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


def sqlite_uri(db: Path) -> str:
    """MLflow's tracking URI for its SQLite store ``db``."""
    return f"sqlite:///{db}"


def shipyard_db(home: Path) -> Path:
    """The SQLite file of the workspace in ``home``."""
    return home / ".shipyard" / "shipyard.db"


def params_dict() -> dict[str, str]:
    """The params every run logs."""
    return {f"p{i}": str(i) for i in range(PARAMS)}


def new_workspace(home: Path) -> None:
    """A fresh shipyard workspace in ``home``."""
    import shipyard as sy

    home.mkdir(parents=True)
    sy.init_workspace(home)
    if not shipyard_db(home).is_file():
        raise Broken(f"init_workspace made no {shipyard_db(home)}")


@contextmanager
def sqlite(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to ``db``, closed afterwards."""
    con = sqlite3.connect(db)
    try:
        yield con
    finally:
        con.close()


# --- checking what was written ------------------------------------------------------------

COUNTS = {
    "shipyard": """
        SELECT r.id, r.status,
          (SELECT COUNT(*) FROM run_metrics x WHERE x.run_id = r.id),
          (SELECT COUNT(DISTINCT step) FROM run_metrics x WHERE x.run_id = r.id),
          (SELECT COUNT(*) FROM run_params x WHERE x.run_id = r.id)
        FROM runs r WHERE r.id IN ({marks})""",
    "mlflow": """
        SELECT r.run_uuid, r.status,
          (SELECT COUNT(*) FROM metrics x WHERE x.run_uuid = r.run_uuid),
          (SELECT COUNT(DISTINCT step) FROM metrics x WHERE x.run_uuid = r.run_uuid),
          (SELECT COUNT(*) FROM params x WHERE x.run_uuid = r.run_uuid)
        FROM runs r WHERE r.run_uuid IN ({marks})""",
}
FINISHED = {"shipyard": "finished", "mlflow": "FINISHED"}


def counts(side: str, db: Path, ids: Sequence[str]) -> dict[str, tuple[str, int, int, int]]:
    """Each run's status, stored points, distinct steps and params, read with sqlite3."""
    query = COUNTS[side].format(marks=", ".join("?" * len(ids)))
    with sqlite(db) as con:
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in con.execute(query, ids)}


def verify_runs(side: str, db: Path, ids: Sequence[str], points: int, params: int) -> None:
    """Stop the run unless every run finished with exactly its points and params."""
    found = counts(side, db, ids)
    wanted = (FINISHED[side], points, points, params)
    wrong = {i: found.get(i) for i in ids if found.get(i) != wanted}
    if wrong:
        raise Broken(f"{side} stored wrong runs (want {wanted}): {dict(list(wrong.items())[:5])}")


def expected_digest(steps: int) -> str:
    """The digest the workers print for a history of ``steps`` points (as they compute it)."""
    text = json.dumps([[step, 1.0 / (step + 1)] for step in range(steps)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- search data --------------------------------------------------------------------------


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


# --- running workers ----------------------------------------------------------------------

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


# --- formatting ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as milliseconds with about three significant digits."""
    value = seconds * 1000
    if value < 1:
        return f"{value:.3f} ms"
    if value < 10:
        return f"{value:.2f} ms"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def rate(points_per_s: float) -> str:
    """A throughput in points per second."""
    return f"{points_per_s:,.0f} points/s"


# --- scenario 1: ingest -------------------------------------------------------------------

INGEST_LABELS = ("shipyard", "MLflow log_metric", "MLflow log_batch")


def ingest_job(
    label: str, index: int, args: argparse.Namespace, home: Path, uri: str
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
        return "shipyard", {**job, "folder": str(home), "experiment": f"ingest-{index}"}
    variant = "batch" if label.endswith("log_batch") else "one"
    return "mlflow", {**job, "uri": uri, "variant": variant, "experiment": f"{variant}-{index}"}


def bench_ingest(workers: Workers, args: argparse.Namespace) -> Scenario:
    """Scenario 1: one worker per side and round, each timing ``--runs`` runs."""
    home, db = ROOT / "ingest" / "shipyard", ROOT / "ingest" / "mlflow.db"
    new_workspace(home)
    workers.call("mlflow", {"mode": "init", "uri": sqlite_uri(db), "experiments": []})
    samples: dict[str, list[float]] = {label: [] for label in INGEST_LABELS}
    for index in range(args.rounds):
        print(f"  round {index + 1}/{args.rounds}")
        for label in INGEST_LABELS:
            side, job = ingest_job(label, index, args, home, sqlite_uri(db))
            out = workers.call(side, job)
            store = shipyard_db(home) if side == "shipyard" else db
            verify_runs(side, store, out["run_ids"], args.points, PARAMS)
            samples[label] += [args.points / seconds for seconds in out["seconds"]]
    title = f"1. ingest: runs of {PARAMS} params and {args.points} log_metric calls"
    modes = {"shipyard": journal_mode(shipyard_db(home)), "mlflow": journal_mode(db)}
    return finish_ingest(Scenario(title, samples, extra={"journal_mode": modes}), args)


def journal_mode(db: Path) -> str:
    """The journal mode stored in a SQLite file (WAL persists; others read as 'delete')."""
    with sqlite(db) as con:
        return str(con.execute("PRAGMA journal_mode").fetchone()[0])


def finish_ingest(scenario: Scenario, args: argparse.Namespace) -> Scenario:
    """Scenario 1's lines and notes."""
    sy, one, batch = (scenario.median(label) for label in INGEST_LABELS)
    goal = Check("points/s vs MLflow, one call at a time", sy / one, ">=", 50, "x", rate(sy))
    scenario.checks = [
        replace(goal, mlflow=rate(one)),
        reference("points/s vs MLflow log_batch", sy / batch, rate(sy), rate(batch)),
    ]
    runs, modes = len(scenario.samples["shipyard"]), scenario.extra["journal_mode"]
    scenario.notes = [
        f"per run: start, {PARAMS} params in one call, {args.points} metric points, end; points/s "
        f"of each run, median over {runs} runs per side ({args.rounds} rounds of {args.runs}, "
        "after one untimed warm-up run per worker)",
        f"median seconds per run: shipyard {ms(args.points / sy)}, MLflow one call at a time "
        f"{ms(args.points / one)}, MLflow log_batch {ms(args.points / batch)}",
        "through the server (goal >= 10x) is not measured: the shipyard server does not exist yet",
        "both work outside any git repository (the workers and their working folder are in "
        "a temporary folder), so neither records a commit",
        f"durability differs: MLflow keeps SQLite's defaults (journal mode "
        f"{modes['mlflow']}, synchronous FULL: fsyncs at every commit); shipyard's store "
        f"is in journal mode {modes['shipyard']}",
        f"every run checked with sqlite3 afterwards: finished, {args.points} points with "
        f"distinct steps, {PARAMS} params",
    ]
    return scenario


# --- scenarios 2 and 3: search and history ------------------------------------------------


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


# --- scenario 4: concurrent writers -------------------------------------------------------


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
            lost, shipyard=f"{sy.lost} of {sy.expected:,}", mlflow=f"{ml.lost} of {ml.expected:,}"
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


# --- report --------------------------------------------------------------------------------


def verdict(check: Check) -> str:
    """met, MISSED, or - for a reference line."""
    if check.met is None:
        return "-"
    return "met" if check.met else "MISSED"


def table(scenario: Scenario) -> str:
    """The markdown table of one scenario."""
    rows = []
    for check in scenario.checks:
        ratio = f"{check.value:.2f}x" if check.unit == "x" else "-"
        unit = "x" if check.unit == "x" else f" {check.unit}".rstrip()
        target = "-" if check.op is None else f"{check.op} {check.target:g}{unit}"
        row = [check.goal, check.shipyard, check.mlflow, check.limit, ratio, target]
        rows.append([*row, verdict(check)])
    headers = ["measure", "shipyard", "MLflow", "limit", "ratio", "target", "verdict"]
    return markdown_table(rows, headers)


def report(scenarios: list[Scenario]) -> None:
    """Print every scenario's table and notes."""
    for scenario in scenarios:
        runs = ", ".join(f"{k} {len(v)}" for k, v in scenario.samples.items())
        print(f"\n### {scenario.title} (medians; samples: {runs})\n")
        print(table(scenario))
        for note in scenario.notes:
            print(f"- {note}")


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
    report(scenarios)
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
