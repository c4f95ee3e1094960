"""/api/v1/runs: create, search, read runs; log params and metric batches; end runs."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, Field

from shipyard.platform import Platform
from shipyard.server.auth import require

router = APIRouter(prefix="/runs", tags=["runs"])
Viewer = Annotated[Platform, Depends(require("viewer"))]
Editor = Annotated[Platform, Depends(require("editor"))]


class NewRun(BaseModel):
    """A run to create."""

    experiment: str = Field(min_length=1, max_length=200)
    name: str | None = Field(default=None, max_length=200)
    tags: dict[str, str] = Field(default_factory=dict)
    inputs: list[str] = Field(default_factory=list, description="dataset refs, e.g. credit@v1")


class Params(BaseModel):
    """Params to set (immutable once set)."""

    params: dict[str, str | int | float | bool]


class Tags(BaseModel):
    """Tags to set."""

    tags: dict[str, str | int | float | bool]


class Inputs(BaseModel):
    """Dataset versions to link."""

    inputs: list[str]


class Point(BaseModel):
    """One metric point."""

    key: str
    value: float
    step: int
    timestamp: float


class MetricBatch(BaseModel):
    """Metric points written in one transaction."""

    points: list[Point] = Field(max_length=100_000)
    batch_id: str | None = Field(
        default=None,
        max_length=64,
        description="a client-chosen id: the same batch sent again is applied once",
    )


class RunEnd(BaseModel):
    """How a run ended."""

    status: str = Field(default="finished", pattern="^(finished|failed|killed)$")


@router.get("")
def list_runs(
    platform: Viewer,
    experiment: str | None = None,
    filter: str | None = None,
    order_by: str | None = None,
    limit: Annotated[int, Query(ge=0, le=10_000)] = 100,
) -> list[dict[str, Any]]:
    """Search runs with the same filter language as `shipyard runs list`."""
    found = platform.runs.search(
        experiment=experiment, filter=filter, order_by=order_by, limit=limit
    )
    return [asdict(run) for run in found]


@router.post("", status_code=201)
def create_run(body: NewRun, platform: Editor) -> dict[str, Any]:
    """Create a running run."""
    run_id = platform.runs.create(
        body.experiment, name=body.name, inputs=body.inputs, tags=body.tags, capture_code=False
    )
    return asdict(platform.runs.get(run_id))


@router.get("/{run_id}")
def get_run(run_id: str, platform: Viewer) -> dict[str, Any]:
    """One run."""
    return asdict(platform.runs.get(run_id))


@router.get("/{run_id}/metrics/{key}")
def metric_history(run_id: str, key: str, platform: Viewer) -> list[dict[str, float]]:
    """Every point of one metric, in step order."""
    return [point._asdict() for point in platform.runs.history(run_id, key)]


@router.post("/{run_id}/params")
def log_params(run_id: str, body: Params, platform: Editor) -> dict[str, Any]:
    """Set params."""
    from shipyard.tracking.active import check_key

    platform.runs.write_params(run_id, {check_key(k): str(v) for k, v in body.params.items()})
    return {"run_id": run_id, "params": len(body.params)}


@router.post("/{run_id}/tags")
def set_tags(run_id: str, body: Tags, platform: Editor) -> dict[str, Any]:
    """Set tags."""
    from shipyard.tracking.active import check_key

    platform.runs.write_tags(run_id, {check_key(k): str(v) for k, v in body.tags.items()})
    return {"run_id": run_id, "tags": len(body.tags)}


@router.post("/{run_id}/inputs")
def add_inputs(run_id: str, body: Inputs, platform: Editor) -> dict[str, Any]:
    """Link dataset versions."""
    platform.runs.write_inputs(run_id, body.inputs)
    return {"run_id": run_id, "inputs": len(body.inputs)}


@router.post("/{run_id}/metrics")
def log_metrics(run_id: str, body: MetricBatch, platform: Editor) -> dict[str, Any]:
    """Append one batch of metric points."""
    from shipyard.tracking.active import check_key, check_number

    points = [
        (check_key(p.key), p.step, check_number(p.key, p.value), p.timestamp) for p in body.points
    ]
    applied = platform.runs.write_metrics(run_id, points, body.batch_id) if points else True
    return {"run_id": run_id, "written": len(points) if applied else 0, "duplicate": not applied}


@router.post("/{run_id}/end")
def end_run(run_id: str, body: RunEnd, platform: Editor) -> dict[str, Any]:
    """Close a running run."""
    platform.runs.finish(run_id, body.status)
    return asdict(platform.runs.get(run_id))
