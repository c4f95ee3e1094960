"""The MLflow worker script (run with the Python of MLflow's venv), as a string.

It is appended to ``WORKER_COMMON`` of ``_tracking_scripts`` and written to a file at run time.
"""

from __future__ import annotations

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
