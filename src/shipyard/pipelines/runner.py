"""Running a pipeline: wave by wave, each step cached, run or skipped, all of it tracked.

A pipeline run is a tracking run (experiment: the pipeline's name) holding its
parameters, the dataset versions its parameters name as inputs, a ``step.NAME`` tag
with each step's status and a ``step.NAME.seconds`` metric. Steps run in waves: every
step whose inputs are known is looked up in the step cache by its key
(:mod:`shipyard.pipelines.keys`); the misses run together on the executor, their outputs
are stored as blobs and cached. A step that fails after its retries fails the run; the
steps that needed it are skipped.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFound, ValidationError
from shipyard.pipelines import codec
from shipyard.pipelines.executors import Call, Executor, Outcome, open_executor
from shipyard.pipelines.graph import Graph, Node, Output
from shipyard.pipelines.keys import cache_key

if TYPE_CHECKING:
    from shipyard.platform import Platform
    from shipyard.storage.sql.step_cache import CachedOutput

SUCCEEDED, CACHED, FAILED, SKIPPED = "succeeded", "cached", "failed", "skipped"


@dataclass
class StepReport:
    """How one step of a run went."""

    name: str
    status: str
    seconds: float = 0.0
    attempts: int = 0
    error: str | None = None
    output: str | None = None  # the digest of its stored output
    format: str | None = None  # how that output is stored (shipyard.pipelines.codec)


@dataclass
class PipelineResult:
    """What ``shipyard pipeline run`` reports."""

    run_id: str
    pipeline: str
    status: str
    steps: list[StepReport] = field(default_factory=list)

    @property
    def cached(self) -> int:
        """How many steps reused a cached output."""
        return sum(step.status == CACHED for step in self.steps)

    @property
    def error(self) -> str | None:
        """The first failed step's error, as one line."""
        failed = next((s for s in self.steps if s.status == FAILED), None)
        if failed is None:
            return None
        tries = f"after {failed.attempts} attempts" if failed.attempts > 1 else "(no retries)"
        return f"step {failed.name!r} failed {tries}: {failed.error}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape: ``run_id``, ``status``, ``steps``, ``cached``."""
        return {
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "status": self.status,
            "steps": [asdict(step) for step in self.steps],
            "cached": self.cached,
        }


def run_graph(
    platform: Platform, graph: Graph, executor: str, cluster: str | None
) -> PipelineResult:
    """Run the traced ``graph`` on the stores of ``platform`` with the named executor."""
    runner = open_executor(executor, cluster)
    try:
        return _Run(platform, graph, runner).execute()
    finally:
        runner.close()


class _Run:
    """One execution of a graph in a workspace."""

    def __init__(self, platform: Platform, graph: Graph, executor: Executor) -> None:
        self.platform = platform
        self.graph = graph
        self.executor = executor
        self.digests: dict[int, str] = {}
        self.values: dict[int, Any] = {}
        self.formats: dict[int, str] = {}
        self.reports: dict[int, StepReport] = {}
        self._refs: dict[str, str | None] = {}

    def execute(self) -> PipelineResult:
        inputs = [value for value in self.graph.params.values() if self._dataset(value)]
        tags = {"shipyard.pipeline": self.graph.pipeline}
        started = self.platform.runs.start(self.graph.pipeline, inputs=inputs, tags=tags)
        with started as active:
            active.log_params({k: _param_text(v) for k, v in self.graph.params.items()})
            self._waves(active.id)
            failed = any(r.status == FAILED for r in self.reports.values())
            active.set_tags({f"step.{r.name}": r.status for r in self.reports.values()})
            active.log_metrics({f"step.{r.name}.seconds": r.seconds for r in self.reports.values()})
            if failed:
                active.end("failed")
        steps = [self.reports[node.index] for node in self.graph.nodes]
        return PipelineResult(
            active.id, self.graph.pipeline, FAILED if failed else SUCCEEDED, steps
        )

    def _waves(self, run_id: str) -> None:
        """Run every node whose inputs are known, until none is left; a node behind a
        failed or skipped one is skipped (the order is topological: one pass marks them)."""
        pending = list(self.graph.nodes)
        while pending:
            for node in pending:
                if any(self._failed(i) for i in node.inputs()):
                    self.reports[node.index] = StepReport(node.name, SKIPPED)
            pending = [n for n in pending if n.index not in self.reports]
            ready = [n for n in pending if all(i in self.digests for i in n.inputs())]
            if not ready:
                return
            self._run_misses(self._lookup(ready), run_id)
            pending = [n for n in pending if n.index not in self.reports]

    def _lookup(self, ready: list[Node]) -> list[tuple[Node, str]]:
        """Mark the cached ones of ``ready``; the others with their keys."""
        from shipyard.storage.sql.step_cache import SqlStepCache

        misses = []
        store = SqlStepCache()
        keys = [cache_key(node, self.digests, self._dataset) for node in ready]
        with self.platform.db.read() as conn:  # one snapshot for the whole wave
            pairs = zip(ready, keys, strict=True)
            hits = [store.get(conn, key) if node.step.cache else None for node, key in pairs]
        for node, key, hit in zip(ready, keys, hits, strict=True):
            if hit is not None and self._reusable(hit):
                self.digests[node.index], self.formats[node.index] = hit.digest, hit.format
                self.reports[node.index] = StepReport(
                    node.name, CACHED, output=hit.digest, format=hit.format
                )
            else:
                misses.append((node, key))
        return misses

    def _reusable(self, hit: CachedOutput) -> bool:
        """Whether a cached output may stand in for a run: still stored, and, if it is
        pickled (which runs code when read), stored by this same actor: on a shared
        store nobody else's pickle is ever read."""
        if hit.format == "pickle" and hit.created_by != self.platform.actor:
            return False
        return self.platform.blobs.exists(hit.digest)

    def _run_misses(self, misses: list[tuple[Node, str]], run_id: str) -> None:
        calls = [self._call(node) for node, _ in misses]
        outcomes = self.executor.run(calls) if calls else []
        for (node, key), outcome in zip(misses, outcomes, strict=True):
            self._record(node, key, outcome, run_id)

    def _record(self, node: Node, key: str, outcome: Outcome, run_id: str) -> None:
        report = StepReport(node.name, SUCCEEDED, outcome.seconds, outcome.attempts)
        self.reports[node.index] = report
        if outcome.error is not None:
            report.status, report.error = FAILED, outcome.error
            return
        try:
            kind, data = codec.encode(outcome.value)
        except Exception as exc:  # noqa: BLE001 - the step's output, not shipyard, failed
            report.status = FAILED
            report.error = f"its output cannot be stored: {type(exc).__name__}: {exc}"
            return
        digest = self.platform.blobs.put_bytes(data).digest
        self.digests[node.index], self.formats[node.index] = digest, kind
        self.values[node.index] = outcome.value
        report.output, report.format = digest, kind
        if node.step.cache:
            self._remember(node, key, kind, digest, len(data), run_id)

    def _remember(
        self, node: Node, key: str, kind: str, digest: str, size: int, run_id: str
    ) -> None:
        from shipyard.governance.audit import utc_now
        from shipyard.storage.sql.step_cache import CachedOutput, SqlStepCache

        entry = CachedOutput(
            key, node.step.name, digest, kind, size, run_id, utc_now(), self.platform.actor
        )
        with self.platform.db.write() as conn:
            SqlStepCache().put(conn, entry)

    def _call(self, node: Node) -> Call:
        args = tuple(self._value(a) for a in node.args)
        kwargs = {name: self._value(v) for name, v in node.kwargs.items()}
        return Call(node.name, node.step.fn, args, kwargs, node.step.retries)

    def _value(self, argument: Any) -> Any:
        """An argument's value: an upstream output (read from its blob if it was cached)."""
        if not isinstance(argument, Output):
            return argument
        index = argument.node
        if index not in self.values:
            data = self.platform.blobs.get_bytes(self.digests[index])
            self.values[index] = codec.decode(self.formats[index], data)
        return self.values[index]

    def _failed(self, index: int) -> bool:
        report = self.reports.get(index)
        return report is not None and report.status in (FAILED, SKIPPED)

    def _dataset(self, value: Any) -> str | None:
        """The digest of the dataset version the string ``value`` names, if it names one."""
        if not isinstance(value, str) or "@" not in value:
            return None
        if value not in self._refs:
            try:
                self._refs[value] = self.platform.datasets.get(value).digest
            except (NotFound, ValidationError):
                self._refs[value] = None
        return self._refs[value]


def _param_text(value: Any) -> str:
    return value if isinstance(value, str) else repr(value)
