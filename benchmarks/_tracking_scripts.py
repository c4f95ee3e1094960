"""The worker scripts of ``tracking_vs_mlflow.py``, as strings written to files at run time.

Each is ``WORKER_COMMON`` plus one side's jobs: shipyard's (on a workspace folder, or for
ingest through a server URL), MLflow's (in ``_tracking_mlflow_script``) and the raw SQL ones.
"""

from __future__ import annotations

from _tracking_mlflow_script import MLFLOW_WORKER

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


def open_workspace(job):
    # the workspace folder, or the server at job["url"] when the job names one
    if job.get("url"):
        return sy.connect(job["url"], token=job["token"])
    return sy.connect(job["folder"])


def ingest(job):
    ws = open_workspace(job)
    params = {f"p{i}": str(i) for i in range(job["params"])}
    one_run(ws, "warmup", "warmup", params, job["warmup_points"])
    seconds, ids = [], []
    for index in range(job["runs"]):
        started = time.perf_counter()
        ids.append(one_run(ws, job["experiment"], f"run-{index}", params, job["points"]))
        seconds.append(time.perf_counter() - started)
    counted = [len(ws.runs.history(run_id, "loss")) for run_id in ids]
    ws.close()
    return {"seconds": seconds, "run_ids": ids, "api_points": counted}


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
