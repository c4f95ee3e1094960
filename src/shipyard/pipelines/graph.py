"""Steps and pipelines: plain functions, and the graph that calling them inside a pipeline builds.

Outside a pipeline a step is its function: calling it calls it. While a pipeline
function is being traced (:meth:`Pipeline.build`), calling a step runs nothing: it
records a node whose arguments may be the outputs of earlier nodes, and returns an
:class:`Output` standing for what the step will return. A node can only use outputs
that exist when it is called, so the call order is already a topological order.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any, overload

from shipyard.errors import ValidationError


@dataclass(frozen=True)
class Output:
    """What a step will return, as a pipeline function sees it while it is traced."""

    node: int  # index of the node that produces it
    step: str

    def __bool__(self) -> bool:
        raise ValidationError(
            f"the output of step {self.step!r} has no value while the pipeline is being "
            "built; branch inside a step, not in the pipeline function"
        )

    def __iter__(self) -> Iterator[Any]:
        raise ValidationError(
            f"the output of step {self.step!r} cannot be unpacked while the pipeline is "
            "built: return one value (a tuple is one value) and index it inside a step"
        )


@dataclass(frozen=True)
class Node:
    """One call of a step in a pipeline: its arguments may hold :class:`Output` objects."""

    index: int
    name: str  # unique in the graph: the step's name, then name_2, name_3, ...
    step: Step
    args: tuple[Any, ...]
    kwargs: Mapping[str, Any]

    def inputs(self) -> list[int]:
        """The nodes whose outputs this one takes, in argument order, without repeats."""
        seen: list[int] = []
        for value in (*self.args, *self.kwargs.values()):
            if isinstance(value, Output) and value.node not in seen:
                seen.append(value.node)
        return seen


@dataclass
class Graph:
    """The nodes a pipeline function recorded, in call (and so topological) order."""

    pipeline: str
    params: dict[str, Any]
    nodes: list[Node] = field(default_factory=list)

    def add(self, step: Step, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Output:
        """Record a call of ``step``; the output it stands for."""
        taken = {node.name for node in self.nodes}
        name, n = step.name, 1
        while name in taken:
            n += 1
            name = f"{step.name}_{n}"
        node = Node(len(self.nodes), name, step, args, kwargs)
        self.nodes.append(node)
        return Output(node.index, name)


_tracing: ContextVar[Graph | None] = ContextVar("shipyard_pipeline_graph", default=None)


@contextmanager
def _traced(graph: Graph) -> Iterator[Graph]:
    token = _tracing.set(graph)
    try:
        yield graph
    finally:
        _tracing.reset(token)


class Step:
    """A plain function that a pipeline can call: cached, retried, its output stored."""

    def __init__(self, fn: Callable[..., Any], *, retries: int = 0, cache: bool = True) -> None:
        if retries < 0:
            raise ValidationError(f"retries must be 0 or more, got {retries}")
        self.fn = fn
        self.name = fn.__name__
        self.retries = retries
        self.cache = cache
        functools.update_wrapper(self, fn)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        graph = _tracing.get()
        if graph is None:
            return self.fn(*args, **kwargs)
        try:  # a wrong call fails while the graph is built, naming the step
            inspect.signature(self.fn).bind(*args, **kwargs)
        except TypeError as exc:
            raise ValidationError(f"step {self.name!r} is called wrongly: {exc}") from exc
        return graph.add(self, args, kwargs)

    def __repr__(self) -> str:
        return f"<step {self.name} retries={self.retries}>"


class Pipeline:
    """A function that calls steps; :meth:`build` traces it into a :class:`Graph`."""

    def __init__(self, fn: Callable[..., Any]) -> None:
        self.fn = fn
        self.name = fn.__name__
        functools.update_wrapper(self, fn)

    @property
    def parameters(self) -> dict[str, inspect.Parameter]:
        """The pipeline's parameters by name, with their defaults."""
        return dict(inspect.signature(self.fn).parameters)

    def build(self, **params: Any) -> Graph:
        """The graph of step calls the function makes with ``params`` (defaults filled in)."""
        try:
            bound = inspect.signature(self.fn).bind(**params)
        except TypeError as exc:
            known = ", ".join(self.parameters) or "none"
            raise ValidationError(
                f"pipeline {self.name!r}: {exc} (its parameters: {known})"
            ) from exc
        bound.apply_defaults()
        graph = Graph(self.name, dict(bound.arguments))
        with _traced(graph):
            self.fn(**bound.arguments)
        if not graph.nodes:
            raise ValidationError(f"pipeline {self.name!r} calls no step")
        return graph

    def __call__(self, **params: Any) -> Any:
        """Run the pipeline in this process's workspace (``SHIPYARD_HOME`` or the nearest);
        the :class:`shipyard.pipelines.runner.PipelineResult`."""
        from shipyard.workspace import open_local

        with open_local() as ws:
            return ws.pipelines.run(self, params)

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


@overload
def step(fn: Callable[..., Any], /) -> Step: ...
@overload
def step(*, retries: int = 0, cache: bool = True) -> Callable[[Callable[..., Any]], Step]: ...
def step(
    fn: Callable[..., Any] | None = None, /, *, retries: int = 0, cache: bool = True
) -> Step | Callable[[Callable[..., Any]], Step]:
    """Make ``fn`` a pipeline step: ``@step`` or ``@step(retries=2, cache=False)``.

    ``retries``: how many more times a failing call is tried. ``cache``: whether an
    unchanged call (same code, same input digests, same parameters) reuses the output
    stored by an earlier run.
    """
    if fn is not None:
        return Step(fn)
    return lambda function: Step(function, retries=retries, cache=cache)


def pipeline(fn: Callable[..., Any]) -> Pipeline:
    """Make ``fn`` a pipeline: calling steps inside it builds its graph."""
    return Pipeline(fn)
