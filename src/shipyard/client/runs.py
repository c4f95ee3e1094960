"""Runs through a server: the same methods as the embedded run service."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from shipyard.client.http import Api
from shipyard.entities import DatasetVersion, FileEntry, MetricPoint, ModelVersion, Run
from shipyard.tracking.active import ActiveRun, check_key
from shipyard.tracking.buffer import Point


class RemoteRunService:
    """Start, log, read and search runs on a shipyard server."""

    def __init__(self, api: Api) -> None:
        self._api = api

    def start(
        self,
        experiment: str = "default",
        *,
        name: str | None = None,
        inputs: Iterable[DatasetVersion | str] = (),
        tags: dict[str, Any] | None = None,
    ) -> ActiveRun:
        """Create a run on the server; log to it as to a local one."""
        body = {
            "experiment": experiment,
            "name": name,
            "inputs": [_ref(item) for item in inputs],
            "tags": {check_key(k): str(v) for k, v in (tags or {}).items()},
        }
        return ActiveRun(self, self._api.post("/runs", body)["id"])

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
        """Pack and check the model here, upload its files, register it on the server."""
        from shipyard.client.models import upload_model

        return upload_model(
            self._api,
            run_id,
            model,
            name=name,
            example=example,
            trust=trust,
            description=description,
        )

    def write_params(self, run_id: str, params: dict[str, str]) -> None:
        """Set params."""
        self._api.post(f"/runs/{run_id}/params", {"params": params})

    def write_tags(self, run_id: str, tags: dict[str, str]) -> None:
        """Set tags."""
        self._api.post(f"/runs/{run_id}/tags", {"tags": tags})

    def write_inputs(self, run_id: str, refs: Sequence[Any]) -> None:
        """Link dataset versions."""
        self._api.post(f"/runs/{run_id}/inputs", {"inputs": [_ref(item) for item in refs]})

    def write_metrics(
        self, run_id: str, points: Sequence[Point], batch_id: str | None = None
    ) -> bool:
        """Send one batch (retried with the same id until the server answers)."""
        rows = [{"key": k, "step": s, "value": v, "timestamp": t} for k, s, v, t in points]
        answer = self._api.post(f"/runs/{run_id}/metrics", {"points": rows, "batch_id": batch_id})
        return not answer.get("duplicate", False)

    def write_artifacts(
        self, run_id: str, source: str | Path, artifact_path: str = ""
    ) -> list[FileEntry]:
        """Upload a file or folder as artifacts (each file streamed from disk)."""
        from shipyard.data.manifest import scan

        _, files = scan(Path(source).expanduser())
        prefix = artifact_path.strip("/")
        stored = []
        for local in files:
            target = f"{prefix}/{local.rel}" if prefix else local.rel
            with open(local.path, "rb") as body:
                answer = self._api.put(f"/runs/{run_id}/artifacts/{target}", body)
            stored.append(FileEntry(**answer))
        return stored

    def artifacts(self, run_id: str) -> list[FileEntry]:
        """Every artifact file of a run."""
        return [FileEntry(**row) for row in self._api.get(f"/runs/{run_id}/artifacts")]

    def download_artifacts(self, run_id: str, dest: str | Path, path: str = "") -> list[FileEntry]:
        """Download a run's artifacts (under ``path``) into ``dest``, checking each digest."""
        from shipyard.tracking.service import select_artifacts

        chosen = select_artifacts(self.artifacts(run_id), path)
        for entry in chosen:
            self._api.download(
                f"/runs/{run_id}/artifacts/{entry.path}", Path(dest) / entry.path, entry.digest
            )
        return chosen

    def finish(self, run_id: str, status: str) -> None:
        """End a run."""
        self._api.post(f"/runs/{run_id}/end", {"status": status})

    def get(self, run_id: str) -> Run:
        """One run."""
        return Run(**self._api.get(f"/runs/{run_id}"))

    def history(self, run_id: str, key: str) -> list[MetricPoint]:
        """Every point of one metric, in step order."""
        points = self._api.get(f"/runs/{run_id}/metrics/{key}")
        return [MetricPoint(p["step"], p["value"], p["timestamp"]) for p in points]

    def search(
        self,
        *,
        experiment: str | None = None,
        filter: str | None = None,
        order_by: str | None = None,
        limit: int | None = 100,
    ) -> list[Run]:
        """Runs matching ``filter``, as `shipyard runs list` finds them."""
        found = self._api.get(
            "/runs", experiment=experiment, filter=filter, order_by=order_by, limit=limit
        )
        return [Run(**row) for row in found]


def _ref(item: DatasetVersion | str) -> str:
    return item.ref if isinstance(item, DatasetVersion) else str(item)
