"""Rows of experiment tracking: experiments, runs, params, metrics, tags and inputs.

Metric points are append-only history; the newest value of each (run, key) is also kept
in ``run_latest_metrics`` with an index on (key, value), so that searching and ordering
many runs by a metric reads one small indexed table instead of the whole history.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    bindparam,
    delete,
    select,
    update,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.elements import BindParameter

from shipyard.entities import FileEntry
from shipyard.storage.sql.schema import metadata

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)

runs = Table(
    "runs",
    metadata,
    Column("id", String(32), primary_key=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("status", String(20), nullable=False),  # running, finished, failed, killed
    Column("user", String(200), nullable=False),
    Column("start_time", Float, nullable=False),  # seconds since the epoch
    Column("end_time", Float, nullable=True),
    Column("code_version", Text, nullable=True),  # JSON: commit, dirty, diff digest
    Column("environment", Text, nullable=True),  # JSON: python, platform, packages digest
    Index("ix_runs_experiment_start", "experiment_id", "start_time"),
)

run_params = Table(
    "run_params",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

run_tags = Table(
    "run_tags",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("value", Text, nullable=False),
)

run_metrics = Table(
    "run_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), nullable=False),
    Column("key", String(250), nullable=False),
    Column("step", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_run_metrics_run_key_step", "run_id", "key", "step"),
)

run_latest_metrics = Table(
    "run_latest_metrics",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("key", String(250), primary_key=True),
    Column("step", BigInteger, nullable=False),
    Column("value", Float, nullable=False),
    Column("timestamp", Float, nullable=False),
    Index("ix_run_latest_metrics_key_value", "key", "value"),
)

run_metric_batches = Table(
    "run_metric_batches",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("batch_id", String(64), primary_key=True),
    Column("points", Integer, nullable=False),
)

run_artifacts = Table(
    "run_artifacts",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("path", String(1000), primary_key=True),
    Column("digest", String(64), nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("mode", Integer, nullable=False),
)

run_inputs = Table(
    "run_inputs",
    metadata,
    Column("run_id", String(32), ForeignKey("runs.id"), primary_key=True),
    Column("dataset", String(100), primary_key=True),
    Column("version", Integer, primary_key=True),
)


class SqlRunStore:
    """Reads and writes tracking rows; callers own the transaction."""

    def ensure_experiment(self, conn: Connection, name: str, *, now: str, actor: str) -> int:
        """The id of experiment ``name``, created if missing (safe under concurrency)."""
        insert = _insert_for(conn)(experiments).values(name=name, created_at=now, created_by=actor)
        conn.execute(insert.on_conflict_do_nothing(index_elements=["name"]))
        query = select(experiments.c.id).where(experiments.c.name == name)
        return int(conn.execute(query).scalar_one())

    def experiment_id(self, conn: Connection, name: str) -> int | None:
        """The id of experiment ``name``, or None."""
        query = select(experiments.c.id).where(experiments.c.name == name)
        value = conn.execute(query).scalar_one_or_none()
        return None if value is None else int(value)

    def insert_run(self, conn: Connection, row: dict[str, Any]) -> None:
        """Store a new run row."""
        conn.execute(runs.insert().values(row))

    def status(self, conn: Connection, run_id: str) -> str | None:
        """A run's status, or None when there is no such run."""
        query = select(runs.c.status).where(runs.c.id == run_id)
        value = conn.execute(query).scalar_one_or_none()
        return None if value is None else str(value)

    def set_status(self, conn: Connection, run_id: str, status: str, end: float | None) -> None:
        """Move a run to ``status`` (and stamp its end time)."""
        conn.execute(update(runs).where(runs.c.id == run_id).values(status=status, end_time=end))

    def params(self, conn: Connection, run_id: str) -> dict[str, str]:
        """Every param of a run."""
        query = select(run_params.c.key, run_params.c.value).where(run_params.c.run_id == run_id)
        return {key: value for key, value in conn.execute(query)}

    def insert_params(self, conn: Connection, run_id: str, params: dict[str, str]) -> None:
        """Store params that the run does not have yet."""
        rows = [{"run_id": run_id, "key": k, "value": v} for k, v in params.items()]
        if rows:
            conn.execute(run_params.insert(), rows)

    def put_tags(self, conn: Connection, run_id: str, tags: dict[str, str]) -> None:
        """Set tags (a tag may change; the audit trail keeps the old value)."""
        if not tags:
            return
        conn.execute(
            delete(run_tags).where(run_tags.c.run_id == run_id, run_tags.c.key.in_(list(tags)))
        )
        conn.execute(
            run_tags.insert(), [{"run_id": run_id, "key": k, "value": v} for k, v in tags.items()]
        )

    def inputs(self, conn: Connection, run_id: str) -> list[tuple[str, int]]:
        """The (dataset, version) pairs linked to a run."""
        query = select(run_inputs.c.dataset, run_inputs.c.version).where(
            run_inputs.c.run_id == run_id
        )
        return [(str(d), int(v)) for d, v in conn.execute(query)]

    def add_inputs(self, conn: Connection, run_id: str, inputs: list[tuple[str, int]]) -> None:
        """Link dataset versions to a run (lineage)."""
        rows = [{"run_id": run_id, "dataset": d, "version": v} for d, v in dict.fromkeys(inputs)]
        if rows:
            conn.execute(run_inputs.insert(), rows)

    def append_metrics(
        self, conn: Connection, run_id: str, points: list[tuple[str, int, float, float]]
    ) -> None:
        """Append (key, step, value, timestamp) points and move each key's latest value."""
        conn.execute(
            run_metrics.insert(),
            [
                {"run_id": run_id, "key": k, "step": s, "value": v, "timestamp": t}
                for k, s, v, t in points
            ],
        )
        newest: dict[str, tuple[int, float, float]] = {}  # key -> (step, timestamp, value)
        for key, step, value, stamp in points:
            if key not in newest or (step, stamp) >= newest[key][:2]:
                newest[key] = (step, stamp, value)
        insert = _insert_for(conn)(run_latest_metrics)
        for key, (step, stamp, value) in newest.items():
            row = {"run_id": run_id, "key": key, "step": step, "value": value, "timestamp": stamp}
            statement = insert.values(row).on_conflict_do_update(
                index_elements=["run_id", "key"],
                set_={"step": step, "value": value, "timestamp": stamp},
                where=run_latest_metrics.c.step <= step,
            )
            conn.execute(statement)

    def claim_batch(self, conn: Connection, run_id: str, batch_id: str, points: int) -> bool:
        """Record ``batch_id`` for the run; False when it was applied before (a retry)."""
        insert = _insert_for(conn)(run_metric_batches).values(
            run_id=run_id, batch_id=batch_id, points=points
        )
        statement = insert.on_conflict_do_nothing(index_elements=["run_id", "batch_id"])
        # RETURNING, not rowcount: drivers disagree on rowcount for a skipped insert.
        return conn.execute(statement.returning(run_metric_batches.c.batch_id)).first() is not None

    def put_artifacts(self, conn: Connection, run_id: str, entries: list[FileEntry]) -> None:
        """Record artifact files (a path logged again points at its new content)."""
        if not entries:
            return
        paths = [e.path for e in entries]
        conn.execute(
            delete(run_artifacts).where(
                run_artifacts.c.run_id == run_id, run_artifacts.c.path.in_(paths)
            )
        )
        rows = [
            {"run_id": run_id, "path": e.path, "digest": e.digest, "size": e.size, "mode": e.mode}
            for e in entries
        ]
        conn.execute(run_artifacts.insert(), rows)

    def artifacts(self, conn: Connection, run_id: str) -> list[FileEntry]:
        """Every artifact file of a run, sorted by path."""
        query = (
            select(
                run_artifacts.c.path,
                run_artifacts.c.size,
                run_artifacts.c.mode,
                run_artifacts.c.digest,
            )
            .where(run_artifacts.c.run_id == run_id)
            .order_by(run_artifacts.c.path)
        )
        return [FileEntry(str(p), int(s), int(m), str(d)) for p, s, m, d in conn.execute(query)]

    def history(self, conn: Connection, run_id: str, key: str) -> list[tuple[int, float, float]]:
        """Every point of one metric, in step order."""
        query = (
            select(run_metrics.c.step, run_metrics.c.value, run_metrics.c.timestamp)
            .where(run_metrics.c.run_id == run_id, run_metrics.c.key == key)
            .order_by(run_metrics.c.step, run_metrics.c.timestamp)
        )
        return [(int(step), float(value), float(t)) for step, value, t in conn.execute(query)]

    def load(self, conn: Connection, ids: list[str]) -> list[dict[str, Any]]:
        """Runs with their params, latest metrics, tags and inputs, in the order of ``ids``.

        Five prebuilt statements with one expanding parameter (no per-id coercion, cached
        compilation) and rows fetched in bulk: this is most of a search's time.
        """
        if not ids:
            return []
        bound = {"ids": ids}
        found = {
            row["id"]: {**row, "params": {}, "metrics": {}, "tags": {}, "inputs": []}
            for row in conn.execute(_LOAD_RUNS, bound).mappings().all()
        }
        for field, statement in _LOAD_KEYED:
            for run_id, key, value in conn.execute(statement, bound).all():
                found[run_id][field][key] = value
        for run_id, dataset, version in conn.execute(_LOAD_INPUTS, bound).all():
            found[run_id]["inputs"].append(f"{dataset}@v{version}")
        return [found[i] for i in ids if i in found]


_IDS: BindParameter[Any] = bindparam("ids", expanding=True)
_LOAD_RUNS = (
    select(runs, experiments.c.name.label("experiment"))
    .join(experiments, experiments.c.id == runs.c.experiment_id)
    .where(runs.c.id.in_(_IDS))
)
_LOAD_KEYED = [
    (field, select(table.c.run_id, table.c.key, table.c.value).where(table.c.run_id.in_(_IDS)))
    for field, table in (
        ("params", run_params),
        ("tags", run_tags),
        ("metrics", run_latest_metrics),
    )
]
_LOAD_INPUTS = (
    select(run_inputs.c.run_id, run_inputs.c.dataset, run_inputs.c.version)
    .where(run_inputs.c.run_id.in_(_IDS))
    .order_by(run_inputs.c.dataset)
)


def _insert_for(conn: Connection) -> Any:
    """The dialect's INSERT, which knows ON CONFLICT (SQLite and PostgreSQL both do)."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert
    return sqlite.insert
