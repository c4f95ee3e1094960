"""`shipyard pipeline`: run pipelines whose steps are cached, retried and tracked."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.output import JsonFlag, emit, note, stdout
from shipyard.cli.state import open_workspace

if TYPE_CHECKING:
    from shipyard.pipelines.runner import PipelineResult

app = typer.Typer(
    help="Pipelines: plain Python functions as steps; unchanged steps reuse cached outputs.",
    no_args_is_help=True,
)


@app.command("run")
def run(
    target: Annotated[
        str, typer.Argument(help="MODULE:NAME (importable from here) or FILE.py:NAME.")
    ],
    executor: Annotated[
        str, typer.Option("--executor", help="Where steps run: local, or dask.")
    ] = "local",
    cluster: Annotated[
        str | None,
        typer.Option("--cluster", help="Dask scheduler address (default: a local cluster)."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("-p", "--param", help="KEY=VALUE, converted to the parameter's type."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Run the pipeline TARGET; exit 1 if a step fails after its retries."""
    from shipyard.pipelines.loading import load_pipeline, parse_params

    pipeline = load_pipeline(target)
    params = parse_params(pipeline, param or [])
    with open_workspace() as ws:
        result = ws.pipelines.run(pipeline, params, executor=executor, cluster=cluster)
    emit(result.to_dict(), as_json, lambda: _render(result))
    if result.error is not None:
        note(f"[bold red]error:[/] {result.error}")
        raise typer.Exit(1)


def _render(result: PipelineResult) -> None:
    marks = {"succeeded": "[green]✓[/]", "cached": "[cyan]↺[/]", "failed": "[red]✗[/]"}
    for step in result.steps:
        mark = marks.get(step.status, "[dim]-[/]")
        stdout.print(f"{mark} {step.name} [dim]{step.status}, {step.seconds:.2f}s[/]")
    stdout.print(f"run {result.run_id}: {result.status}, {result.cached} cached")
