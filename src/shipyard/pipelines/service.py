"""``ws.pipelines``: run pipelines against a workspace."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFound
from shipyard.pipelines import codec
from shipyard.pipelines.runner import PipelineResult, run_graph

if TYPE_CHECKING:
    from shipyard.pipelines.graph import Pipeline
    from shipyard.platform import Platform


class PipelineService:
    """Runs pipelines: every run is tracked, every step's output stored and cached."""

    def __init__(self, platform: Platform) -> None:
        self._platform = platform

    def run(
        self,
        pipeline: Pipeline,
        params: dict[str, Any] | None = None,
        *,
        executor: str = "local",
        cluster: str | None = None,
    ) -> PipelineResult:
        """Run ``pipeline`` with ``params`` (its defaults for the rest) on ``executor``
        (``local``, or ``dask`` on the scheduler at ``cluster``; none: a local cluster)."""
        graph = pipeline.build(**(params or {}))
        return run_graph(self._platform, graph, executor, cluster)

    def output(self, result: PipelineResult, step: str) -> Any:
        """What the step named ``step`` returned in the run ``result`` (read back from its
        stored output when it was cached)."""
        for report in result.steps:
            if report.name == step and report.output is not None and report.format:
                return codec.decode(report.format, self._platform.blobs.get_bytes(report.output))
        names = ", ".join(r.name for r in result.steps)
        raise NotFound(f"step {step!r} of run {result.run_id} left no output (steps: {names})")
