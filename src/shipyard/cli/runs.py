"""`shipyard runs`: search, show and compare tracked runs."""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, stdout
from shipyard.cli.state import open_workspace

if TYPE_CHECKING:
    from shipyard.entities import Run

app = typer.Typer(help="Experiment runs: search, show, compare.", no_args_is_help=True)


@app.command("list")
def list_runs(
    experiment: Annotated[
        str | None, typer.Option("--experiment", "-e", help="Only runs of this experiment.")
    ] = None,
    filter: Annotated[
        str | None,
        typer.Option(
            "--filter",
            "-f",
            help="e.g. \"metrics.auc > 0.9 and params.model = 'rf'\": metrics., params., "
            "tags., status, name, user, start_time, end_time, experiment; = != < <= > >= "
            "in (...) like, and/or/not, parentheses.",
        ),
    ] = None,
    order_by: Annotated[
        str | None,
        typer.Option("--order-by", "-o", help="e.g. 'metrics.auc desc, start_time'."),
    ] = None,
    limit: Annotated[int, typer.Option("--limit", "-n", min=0, help="At most N runs.")] = 100,
    as_json: JsonFlag = False,
) -> None:
    """Search runs (newest first unless --order-by says otherwise)."""
    with open_workspace() as ws:
        runs = ws.runs.search(experiment=experiment, filter=filter, order_by=order_by, limit=limit)
    emit([asdict(run) for run in runs], as_json, lambda: _render_list(runs))


@app.command("show")
def show(run_id: str, as_json: JsonFlag = False) -> None:
    """One run: params, latest metrics, tags, inputs, code version and environment."""
    with open_workspace() as ws:
        run = ws.runs.get(run_id)
    emit(asdict(run), as_json, lambda: _render_run(run))


@app.command("compare")
def compare(
    run_ids: Annotated[list[str], typer.Argument(help="Two or more run ids.")],
    as_json: JsonFlag = False,
) -> None:
    """Params and metrics of several runs side by side."""
    with open_workspace() as ws:
        runs = [ws.runs.get(run_id) for run_id in run_ids]
    emit([asdict(run) for run in runs], as_json, lambda: _render_compare(runs))


def _when(stamp: float | None) -> str:
    if stamp is None:
        return "-"
    return dt.datetime.fromtimestamp(stamp, dt.UTC).strftime("%Y-%m-%d %H:%M:%S")


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def _render_list(runs: list[Run]) -> None:
    from rich.table import Table

    metric_keys = sorted({key for run in runs for key in run.metrics})[:6]
    table = Table(box=None, header_style="bold")
    for column in ("id", "experiment", "name", "status", "started", *metric_keys):
        table.add_column(column)
    for run in runs:
        metrics = [_number(run.metrics[k]) if k in run.metrics else "-" for k in metric_keys]
        row = [run.id[:12], run.experiment, run.name, run.status, _when(run.start_time)]
        table.add_row(*row, *metrics)
    stdout.print(table if runs else "No runs match.")


def _render_run(run: Run) -> None:
    stdout.print(f"[bold]{run.name}[/] ({run.id}) in {run.experiment}: {run.status}")
    stdout.print(f"  by {run.user}, {_when(run.start_time)} to {_when(run.end_time)}")
    for title, values in (("params", run.params), ("metrics", run.metrics), ("tags", run.tags)):
        for key, value in sorted(values.items()):
            stdout.print(f"  {title[:-1]} {key} = {_number(value)}")
    for ref in run.inputs:
        stdout.print(f"  input {ref}")
    if run.code_version:
        dirty = " (dirty)" if run.code_version.get("dirty") else ""
        stdout.print(f"  code {run.code_version.get('commit')}{dirty}")


def _render_compare(runs: list[Run]) -> None:
    from rich.table import Table

    table = Table(header_style="bold")
    table.add_column("")
    for run in runs:
        table.add_column(f"{run.name}\n{run.id[:12]}")
    for title in ("params", "metrics"):
        keys = sorted({key for run in runs for key in getattr(run, title)})
        for key in keys:
            values = [getattr(run, title).get(key) for run in runs]
            cells = ["-" if v is None else _number(v) for v in values]
            style = "yellow" if len(set(cells)) > 1 else ""
            table.add_row(f"{title[:-1]} {key}", *cells, style=style)
    stdout.print(table)
