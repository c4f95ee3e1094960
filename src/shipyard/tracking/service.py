"""Runs: start, log, finish, look up and search; every write audited in its transaction.

Metric batches are audited as one event per batch (the key names and the count), not
one per point: the trail records that a run logged, the metric tables hold the values.
"""

from __future__ import annotations

import functools
import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.entities import DatasetVersion, FileEntry, MetricPoint, ModelVersion, Run
from shipyard.errors import Conflict, NotFound, ValidationError
from shipyard.governance.audit import AuditTrail, utc_now
from shipyard.storage.sql.engine import Database
from shipyard.storage.sql.runs import SqlRunStore
from shipyard.tracking import provenance
from shipyard.tracking.active import ActiveRun, check_key
from shipyard.tracking.buffer import Point

if TYPE_CHECKING:
    from shipyard.data.service import DatasetService
    from shipyard.registry.service import ModelService

STATUSES = ("running", "finished", "failed", "killed")
NAME_LIMIT = 200


class RunService:
    """Starts runs and reads them back."""

    def __init__(
        self,
        db: Database,
        audit: AuditTrail,
        actor: str,
        datasets: DatasetService,
        models: Callable[[], ModelService],
    ) -> None:
        self._db = db
        self._audit = audit
        self._actor = actor
        self._datasets = datasets
        self._models = models
        self._store = SqlRunStore()

    def start(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        inputs: Iterable[DatasetVersion | str] = (),
        tags: dict[str, Any] | None = None,
        capture_code: bool = True,
    ) -> ActiveRun:
        """Start a run in ``experiment`` linked to the dataset versions ``inputs``."""
        run_id = self.create(
            experiment, name=name, inputs=inputs, tags=tags, capture_code=capture_code
        )
        return ActiveRun(self, run_id)

    def create(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        inputs: Iterable[DatasetVersion | str] = (),
        tags: dict[str, Any] | None = None,
        capture_code: bool = True,
    ) -> str:
        """Create a running run and return its id (``start`` wraps it for logging)."""
        _check_name("experiment", experiment)
        run_id = uuid.uuid4().hex
        name = name or f"run-{run_id[:8]}"
        _check_name("run name", name)
        linked = [self._resolve_input(item) for item in inputs]
        row = {
            "id": run_id,
            "name": name,
            "status": "running",
            "user": self._actor,
            "start_time": time.time(),
            "end_time": None,
            "code_version": _json(provenance.code_version() if capture_code else None),
            "environment": _json(provenance.environment()),
        }
        with self._db.write() as conn:
            now = utc_now()
            row["experiment_id"] = self._store.ensure_experiment(
                conn, experiment, now=now, actor=self._actor
            )
            self._store.insert_run(conn, row)
            self._store.add_inputs(conn, run_id, linked)
            self._store.put_tags(
                conn, run_id, {check_key(k): str(v) for k, v in (tags or {}).items()}
            )
            self._record(
                conn,
                "run.start",
                run_id,
                {
                    "experiment": experiment,
                    "name": name,
                    "inputs": [f"{d}@v{v}" for d, v in linked],
                },
            )
        return run_id

    def write_params(self, run_id: str, params: dict[str, str]) -> None:
        """Store params; setting one again to a different value is a Conflict."""
        if not params:
            return
        with self._db.write() as conn:
            self._require_running(conn, run_id)
            existing = self._store.params(conn, run_id)
            changed = {
                k: (existing[k], v) for k, v in params.items() if k in existing and existing[k] != v
            }
            if changed:
                key, (old, new) = next(iter(changed.items()))
                raise Conflict(
                    f"param {key!r} of run {run_id} is {old!r} already and params never "
                    f"change; got {new!r}. Log a new run to try another value"
                )
            fresh = {k: v for k, v in params.items() if k not in existing}
            self._store.insert_params(conn, run_id, fresh)
            if fresh:
                self._record(conn, "run.params", run_id, fresh)

    def write_inputs(self, run_id: str, refs: Iterable[DatasetVersion | str]) -> None:
        """Link dataset versions to a run that is still running."""
        linked = [self._resolve_input(item) for item in refs]
        with self._db.write() as conn:
            self._require_running(conn, run_id)
            known = set(self._store.inputs(conn, run_id))
            fresh = [pair for pair in dict.fromkeys(linked) if pair not in known]
            self._store.add_inputs(conn, run_id, fresh)
            if fresh:
                self._record(
                    conn, "run.inputs", run_id, {"inputs": [f"{d}@v{v}" for d, v in fresh]}
                )

    def write_artifacts(
        self, run_id: str, source: str | Path, artifact_path: str = ""
    ) -> list[FileEntry]:
        """Store a file or folder as artifacts of a running run (under ``artifact_path``)."""
        from shipyard.data.manifest import scan

        prefix = _artifact_prefix(artifact_path)
        _, files = scan(Path(source).expanduser())
        blobs = self._datasets.blobs
        entries = []
        for local in files:
            info = blobs.put_file(local.path)
            entries.append(FileEntry(prefix + local.rel, info.size, local.mode, info.digest))
        with self._db.write() as conn:
            self._require_running(conn, run_id)
            self._store.put_artifacts(conn, run_id, entries)
            summary = {"files": len(entries), "bytes": sum(e.size for e in entries)}
            self._record(conn, "run.artifacts", run_id, {**summary, "path": artifact_path})
        return entries

    def log_model(
        self,
        run_id: str,
        model: Any,
        *,
        name: str,
        example: Any,
        trust: bool = False,
        description: str = "",
    ) -> ModelVersion:
        """Register ``model`` as the next version of ``name``, produced by this run."""
        return self._models().log(
            run_id, model, name=name, example=example, trust=trust, description=description
        )

    def artifacts(self, run_id: str) -> list[FileEntry]:
        """Every artifact file of a run."""
        with self._db.read() as conn:
            self._require_run(conn, run_id)
            return self._store.artifacts(conn, run_id)

    def download_artifacts(self, run_id: str, dest: str | Path, path: str = "") -> list[FileEntry]:
        """Restore a run's artifacts (those under ``path``) into the empty folder ``dest``."""
        from shipyard.data.checkout import checkout
        from shipyard.data.manifest import Manifest

        chosen = select_artifacts(self.artifacts(run_id), path)
        checkout(self._datasets.blobs, Manifest(tuple(chosen)), Path(dest))
        return chosen

    def write_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set tags on a run."""
        with self._db.write() as conn:
            self._require_run(conn, run_id)
            self._store.put_tags(conn, run_id, tags)
            self._record(conn, "run.tags", run_id, tags)

    def write_metrics(
        self, run_id: str, points: Sequence[Point], batch_id: str | None = None
    ) -> bool:
        """Append one batch of points in one transaction; False if ``batch_id`` was seen.

        A client that lost the answer to a batch sends it again with the same id; the
        second copy is recognized and dropped, so every point lands exactly once.
        """
        with self._db.write() as conn:
            self._require_running(conn, run_id)
            if batch_id is not None and not self._store.claim_batch(
                conn, run_id, batch_id, len(points)
            ):
                return False
            self._store.append_metrics(conn, run_id, list(points))
            keys = sorted({p[0] for p in points})
            self._record(conn, "run.metrics", run_id, {"points": len(points), "keys": keys[:20]})
        return True

    def finish(self, run_id: str, status: str) -> None:
        """Close a running run with ``status``."""
        if status not in STATUSES[1:]:
            raise ValidationError(
                f"a run ends as finished, failed or killed, got {status!r} instead"
            )
        with self._db.write() as conn:
            self._require_running(conn, run_id)
            self._store.set_status(conn, run_id, status, time.time())
            self._record(conn, "run.end", run_id, {"status": status})

    def get(self, run_id: str) -> Run:
        """One run with its params, latest metrics, tags and inputs."""
        with self._db.read() as conn:
            rows = self._store.load(conn, [run_id])
        if not rows:
            raise NotFound(f"no run with id {run_id!r}; `shipyard runs list` shows them")
        return _to_run(rows[0])

    def search(
        self,
        *,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
        limit: int | None = 100,
    ) -> list[Run]:
        """Runs matching ``filter`` (the search language), in ``order_by`` order."""
        with self._db.read() as conn:
            ids = None
            if experiment is not None:
                found = self._store.experiment_id(conn, experiment)
                if found is None:
                    raise NotFound(f"no experiment named {experiment!r}")
                ids = (found,)
            query = _search_query(filter or "", order_by or "", ids, limit)
            run_ids = [row[0] for row in conn.execute(query)]
            return [_to_run(row) for row in self._store.load(conn, run_ids)]

    def history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of metric ``key`` of a run, in step order."""
        with self._db.read() as conn:
            self._require_run(conn, run_id)
            return [MetricPoint(*point) for point in self._store.history(conn, run_id, key)]

    def _require_run(self, conn: Any, run_id: str) -> str:
        status = self._store.status(conn, run_id) if isinstance(run_id, str) else None
        if status is None:
            raise NotFound(f"no run with id {run_id!r}; `shipyard runs list` shows them")
        return status

    def _require_running(self, conn: Any, run_id: str) -> None:
        status = self._require_run(conn, run_id)
        if status != "running":
            raise Conflict(f"run {run_id} is {status}: a finished run takes no more writes")

    def _resolve_input(self, item: DatasetVersion | str) -> tuple[str, int]:
        version = item if isinstance(item, DatasetVersion) else self._datasets.get(item)
        return version.name, version.version

    def _record(self, conn: Any, action: str, run_id: str, payload: dict[str, Any]) -> None:
        self._audit.record(
            conn,
            actor=self._actor,
            action=action,
            entity_kind="run",
            entity_id=run_id,
            payload=payload,
        )


@functools.lru_cache(maxsize=256)
def _search_query(
    filter: str, order_by: str, experiment_ids: tuple[int, ...] | None, limit: int | None
) -> Any:
    """The compiled search for these arguments (parsing and building cost ~1 ms; the
    same search repeated, as dashboards and scripts do, reuses the statement)."""
    from shipyard.storage.sql.run_search import search_runs_query
    from shipyard.tracking.search import parse_filter, parse_order_by

    ids = None if experiment_ids is None else list(experiment_ids)
    return search_runs_query(
        parse_filter(filter), parse_order_by(order_by), experiment_ids=ids, limit=limit
    )


def _to_run(row: dict[str, Any]) -> Run:
    return Run(
        id=row["id"],
        experiment=row["experiment"],
        name=row["name"],
        status=row["status"],
        user=row["user"],
        start_time=row["start_time"],
        end_time=row["end_time"],
        params=row["params"],
        metrics=row["metrics"],
        tags=row["tags"],
        inputs=row["inputs"],
        code_version=_object(row["code_version"]),
        environment=_object(row["environment"]),
    )


@functools.lru_cache(maxsize=1024)
def _decode(text: str) -> dict[str, Any]:
    return dict(json.loads(text))


def _object(text: str | None) -> dict[str, Any] | None:
    """A stored JSON object; most runs share their environment, so decoding is cached
    (each run still gets its own copy)."""
    return None if not text else dict(_decode(text))


def _artifact_prefix(artifact_path: str) -> str:
    cleaned = artifact_path.strip("/")
    if cleaned and (".." in cleaned.split("/") or cleaned.startswith(".")):
        raise ValidationError(f"artifact path must be a plain relative path, got {artifact_path!r}")
    return f"{cleaned}/" if cleaned else ""


def select_artifacts(entries: list[FileEntry], path: str) -> list[FileEntry]:
    """The entries at or under ``path`` (all for an empty path); NotFound when none."""
    wanted = path.strip("/")
    chosen = [
        e for e in entries if not wanted or e.path == wanted or e.path.startswith(wanted + "/")
    ]
    if not chosen:
        raise NotFound(f"no artifact at {path!r}" if wanted else "the run has no artifacts")
    return chosen


def _json(value: Any) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


def _check_name(what: str, name: str) -> None:
    if not isinstance(name, str) or not name.strip() or len(name) > NAME_LIMIT:
        raise ValidationError(f"{what} must be 1-{NAME_LIMIT} characters, got {name!r} instead")
