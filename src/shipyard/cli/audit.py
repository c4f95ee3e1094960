"""`shipyard audit`: read and verify the hash-chained audit trail."""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated

import typer

from shipyard.cli.output import JsonFlag, emit, stdout
from shipyard.cli.state import open_workspace

app = typer.Typer(help="The audit trail: every write, hash-chained.", no_args_is_help=True)


@app.command("log")
def log(
    limit: Annotated[
        int, typer.Option("--limit", "-n", min=1, help="Show the N newest entries.")
    ] = 50,
    show_all: Annotated[bool, typer.Option("--all", help="Show every entry.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """List the newest audit entries, oldest first."""
    with open_workspace() as ws:
        events = ws.audit.entries(None if show_all else limit)
    document = {"entries": [asdict(event) for event in events], "count": len(events)}

    def render() -> None:
        from rich.table import Table

        table = Table(box=None, header_style="bold")
        for column in ("#", "time", "actor", "action", "entity", "details"):
            table.add_column(column, overflow="fold")
        for event in events:
            details = ", ".join(f"{k}={v}" for k, v in event.payload.items())
            table.add_row(
                str(event.seq),
                event.occurred_at[:19].replace("T", " "),
                event.actor,
                event.action,
                f"{event.entity_kind}:{event.entity_id}",
                details,
            )
        stdout.print(table if events else "The audit trail is empty.")

    emit(document, as_json, render)


@app.command("verify")
def verify(as_json: JsonFlag = False) -> None:
    """Check the hash chain; exit 1 naming the first bad entry if anything was altered."""
    with open_workspace() as ws:
        verdict = ws.audit.verify()
    document = {
        "ok": verdict.ok,
        "entries": verdict.entries,
        "first_bad": (
            None
            if verdict.ok
            else {"seq": verdict.first_bad_seq, "reason": verdict.reason, **verdict.details}
        ),
    }

    def render() -> None:
        if verdict.ok:
            stdout.print(f"[green]ok[/]: {verdict.entries} entries, hash chain intact")

    emit(document, as_json, render)
    if not verdict.ok:
        from shipyard.errors import AuditChainBroken

        raise AuditChainBroken(
            f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.reason}"
        )
