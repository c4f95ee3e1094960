"""`shipyard db`: the metadata store's schema."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from shipyard.cli.output import JsonFlag, emit, stdout

if TYPE_CHECKING:
    from shipyard.config import Settings

app = typer.Typer(help="The metadata store: schema revision and migrations.", no_args_is_help=True)


def _settings() -> Settings:
    from shipyard import config
    from shipyard.cli.state import options

    return config.resolve(options.home)


@app.command("upgrade")
def upgrade(as_json: JsonFlag = False) -> None:
    """Apply pending schema migrations (opening a workspace does this too)."""
    from shipyard.storage.sql.engine import Database
    from shipyard.storage.sql.migrate import upgrade as run_upgrade

    db = Database(_settings().store_url)
    try:
        before, after = run_upgrade(db)
    finally:
        db.dispose()
    document = {"from": before, "to": after, "changed": before != after}
    message = (
        f"schema upgraded {before} -> {after}"
        if before != after
        else f"schema up to date ({after})"
    )
    emit(document, as_json, lambda: stdout.print(message))


@app.command("current")
def current(as_json: JsonFlag = False) -> None:
    """Show the store's schema revision and the newest one this version knows."""
    from shipyard.storage.sql.engine import Database
    from shipyard.storage.sql.migrate import current_revision
    from shipyard.storage.sql.schema_head import SCHEMA_HEAD

    db = Database(_settings().store_url)
    try:
        with db.read() as conn:
            revision = current_revision(conn)
    finally:
        db.dispose()
    document = {"revision": revision, "head": SCHEMA_HEAD, "up_to_date": revision == SCHEMA_HEAD}
    emit(document, as_json, lambda: stdout.print(f"revision {revision} (newest: {SCHEMA_HEAD})"))
