"""`shipyard monitor`: watch data move away from what a model learned from."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from shipyard.cli.output import JsonFlag, emit, stdout

if TYPE_CHECKING:
    import pandas as pd

    from shipyard.monitoring.drift import DriftReport
    from shipyard.workspace import Workspace

app = typer.Typer(help="Monitoring: data drift between a reference and current data.")


@app.command("drift")
def drift(
    reference: Annotated[str, typer.Argument(help="Dataset ref (credit@v1) or CSV/Parquet file.")],
    current: Annotated[str, typer.Argument(help="Dataset ref or CSV/Parquet file to check.")],
    columns: Annotated[
        str | None, typer.Option("--columns", help="Only these columns (comma-separated).")
    ] = None,
    drift_share: Annotated[
        float,
        typer.Option("--drift-share", help="Share of drifted columns that means dataset drift."),
    ] = 0.5,
    as_json: JsonFlag = False,
) -> None:
    """Per-column drift tests of CURRENT against REFERENCE, and the dataset's verdict."""
    from shipyard.monitoring.drift import drift_report
    from shipyard.monitoring.tables import read_table

    loader = _RefLoader()
    try:
        ref_frame = read_table(reference, loader)
        cur_frame = read_table(current, loader)
    finally:
        loader.close()
    wanted = [c.strip() for c in columns.split(",") if c.strip()] if columns else None
    report = drift_report(ref_frame, cur_frame, columns=wanted, drift_share=drift_share)
    emit(report.to_dict(), as_json, lambda: _render(report))


class _RefLoader:
    """Loads dataset refs through the workspace, opened only if a ref is given."""

    def __init__(self) -> None:
        self._workspace: Workspace | None = None

    def __call__(self, ref: str) -> pd.DataFrame:
        from shipyard.cli.state import open_workspace

        if self._workspace is None:
            self._workspace = open_workspace()
        return self._workspace.data.load(ref)

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


def _render(report: DriftReport) -> None:
    drifted = [c for c in report.columns if c.drifted]
    verdict = "[red]drift[/]" if report.dataset_drift else "[green]no drift[/]"
    stdout.print(
        f"{verdict}: {len(drifted)} of {len(report.columns)} columns drifted "
        f"({report.drift_share:.0%}; dataset drift from {report.threshold_share:.0%})"
    )
    for column in report.columns:
        mark = "[red]✗[/]" if column.drifted else "[green]✓[/]"
        stdout.print(
            f"{mark} {column.column} [dim]{column.kind}, {column.test} "
            f"{column.statistic:.4g} (threshold {column.threshold:g})[/]"
        )
    for skipped in report.skipped:
        stdout.print(f"[dim]- {skipped['column']}: {skipped['reason']}[/]")
