"""`shipyard data`: version files, folders and tables; compare, restore and validate them."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, stdout
from shipyard.cli.progress import progress_bar
from shipyard.cli.state import open_workspace, options

if TYPE_CHECKING:
    from shipyard.data.local import StatusReport
    from shipyard.data.service import AddResult
    from shipyard.entities import DatasetVersion

app = typer.Typer(
    help="Datasets: content-addressed, immutable, diffable versions of files and tables.",
    no_args_is_help=True,
)

SchemaOption = Annotated[
    Path | None,
    typer.Option("--schema", help="YAML rules file (see the README); default: inferred rules."),
]


def summary(version: DatasetVersion) -> dict[str, Any]:
    """The short JSON form of a version (what `data add` and `data ls` print)."""
    return {
        "name": version.name,
        "version": version.version,
        "ref": version.ref,
        "digest": version.digest,
        "files": version.files,
        "bytes": version.bytes,
        "kind": version.kind,
        "message": version.message,
        "author": version.author,
        "created_at": version.created_at,
    }


@app.command("add")
def add(
    name: Annotated[str, typer.Argument(help="Dataset name, e.g. credit.")],
    path: Annotated[Path, typer.Argument(help="A file (CSV, Parquet, anything) or a folder.")],
    message: Annotated[str, typer.Option("--message", "-m", help="What this version is.")] = "",
    validate: Annotated[
        Path | None,
        typer.Option("--validate", help="YAML rules the data must pass, else nothing is added."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Version PATH as the next version of NAME (no new version if nothing changed)."""
    result = _add(name, path, message, validate)
    version = result.version
    document = {
        **summary(version),
        "created": result.created,
        "hashed_files": result.hashed,
        "new_bytes": result.new_bytes,
    }

    def render() -> None:
        if result.created:
            stdout.print(f"added {version.ref}: {version.files} files, {_size(version.bytes)}")
        else:
            stdout.print(f"unchanged: {version.ref} already holds these bytes")
        for finding in version.pii:
            stdout.print(f"[yellow]personal data?[/] column {finding['column']}: {finding['kind']}")

    emit(document, as_json, render)


@app.command("status")
def status(
    name: Annotated[str, typer.Argument(help="Dataset name.")],
    path: Annotated[Path, typer.Argument(help="The local file or folder to compare.")],
    as_json: JsonFlag = False,
) -> None:
    """Files added, removed and changed in PATH since the latest version of NAME."""
    report = _status_report(name, path)

    def render() -> None:
        if report.diff.clean:
            stdout.print(f"clean: {path} matches {report.ref}")
            return
        stdout.print(f"{path} against {report.ref or 'no version yet'}:")
        _render_paths(report.diff.to_dict())

    emit(report.to_dict(), as_json, render)


def _add(name: str, path: Path, message: str, rules: Path | None) -> AddResult:
    """A large file is stored while the workspace opens (shipyard.data.quick_add) when
    it can be; anything else through the open workspace."""
    from shipyard.data.quick_add import quick_add

    with progress_bar("hashing") as bar:
        result = quick_add(
            options.home, name, path, open_workspace, message=message, rules=rules, progress=bar
        )
    if result is not None:
        return result
    with open_workspace() as ws, progress_bar("hashing") as bar:
        return ws.data.add_with_stats(name, path, message=message, rules=rules, progress=bar)


def _status_report(name: str, path: Path) -> StatusReport:
    """Read-only, so an embedded SQLite workspace is read without SQLAlchemy when it can
    be (shipyard.data.quick_status); otherwise, or failing that, through the workspace."""
    from shipyard.data.quick_status import quick_status

    with progress_bar("checking") as bar:
        report = quick_status(options.home, name, path, bar)
    if report is not None:
        return report
    with open_workspace() as ws, progress_bar("checking") as bar:
        return ws.data.status(name, path, progress=bar)


@app.command("ls")
def list_datasets(as_json: JsonFlag = False) -> None:
    """Every dataset with its latest version."""
    with open_workspace() as ws:
        versions = ws.data.list()
    emit([summary(v) for v in versions], as_json, lambda: _render_versions(versions))


@app.command("log")
def log(name: str, as_json: JsonFlag = False) -> None:
    """Every version of NAME, newest first."""
    with open_workspace() as ws:
        versions = ws.data.log(name)
    emit([summary(v) for v in versions], as_json, lambda: _render_versions(versions))


@app.command("show")
def show(ref: str, as_json: JsonFlag = False) -> None:
    """One version: files, schema, profile and personal-data findings."""
    with open_workspace() as ws:
        version = ws.data.get(ref)
    document = {**asdict(version), "ref": version.ref}
    emit(document, as_json, lambda: _render_version(version))


@app.command("diff")
def diff(old: str, new: str, as_json: JsonFlag = False) -> None:
    """What changed from OLD to NEW: files; for tables also rows, schema and statistics."""
    with open_workspace() as ws:
        document = ws.data.diff(old, new)
    emit(document, as_json, lambda: _render_diff(document))


@app.command("checkout")
def checkout(
    ref: str,
    dest: Annotated[Path, typer.Argument(help="Folder to restore into (must be empty).")],
    force: Annotated[bool, typer.Option("--force", help="Replace a non-empty DEST.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Restore REF byte for byte into DEST (all at once: a failure leaves DEST as it was)."""
    with open_workspace() as ws, progress_bar("restoring") as bar:
        version = ws.data.checkout(ref, dest, force=force, progress=bar)
    document = {
        "ref": version.ref,
        "files": version.files,
        "bytes": version.bytes,
        "dest": str(dest),
    }
    emit(document, as_json, lambda: stdout.print(f"restored {version.ref} into {dest}"))


@app.command("validate")
def validate(ref: str, schema: SchemaOption = None, as_json: JsonFlag = False) -> None:
    """Check a tabular version against rules; exit 1 listing every failure."""
    with open_workspace() as ws:
        report = ws.data.validate(ref, schema)
    document = report.to_dict()
    emit(document, as_json, lambda: _render_validation(ref, document))
    if not report.ok:
        raise typer.Exit(1)


def _size(count: int) -> str:
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{count} B"


def _render_paths(paths: dict[str, list[str]]) -> None:
    marks = {"added": "[green]+[/]", "removed": "[red]-[/]", "changed": "[yellow]~[/]"}
    for kind, mark in marks.items():
        for item in paths.get(kind, []):
            stdout.print(f"  {mark} {item}")


def _render_versions(versions: list[DatasetVersion]) -> None:
    from rich.table import Table

    table = Table(box=None, header_style="bold")
    for column in ("ref", "kind", "files", "size", "created", "author", "message"):
        table.add_column(column)
    for v in versions:
        created = v.created_at[:19].replace("T", " ")
        table.add_row(v.ref, v.kind, str(v.files), _size(v.bytes), created, v.author, v.message)
    stdout.print(table if versions else "No datasets yet: `shipyard data add NAME PATH`.")


def _render_version(version: DatasetVersion) -> None:
    stdout.print(f"[bold]{version.ref}[/] ({version.kind}) {version.digest}")
    stdout.print(f"  {version.files} files, {_size(version.bytes)}, by {version.author}")
    stdout.print(f"  created {version.created_at}, parent v{version.parent or '-'}")
    if version.message:
        stdout.print(f"  {version.message}")
    if version.schema:
        rows = version.schema.get("rows")
        stdout.print(f"  table {version.table_path}: {rows} rows")
        for column in version.schema.get("columns", []):
            null = "nullable" if column.get("nullable") else "required"
            stdout.print(f"    {column['name']}: {column['type']} ({null})")
    for finding in version.pii:
        stdout.print(
            f"  [yellow]personal data?[/] {finding['column']}: {finding['kind']} "
            f"(by {finding['evidence']})"
        )


def _render_diff(document: dict[str, Any]) -> None:
    stdout.print(f"{document['old']} -> {document['new']}")
    _render_paths(document["files"])
    table = document.get("table")
    if not table:
        return
    rows = table["rows"]
    stdout.print(f"  rows: {rows['old']} -> {rows['new']} ({rows['delta']:+d})")
    for kind in ("added", "removed"):
        for column in table["schema"][kind]:
            stdout.print(f"  column {kind}: {column}")
    for change in table["schema"]["type_changed"]:
        stdout.print(f"  column {change['column']}: {change['old']} -> {change['new']}")
    for column in table["columns"]:
        moved = ", ".join(
            f"{c['stat']} {c.get('old')} -> {c.get('new')}" for c in column["changes"]
        )
        stdout.print(f"  {column['column']}: {moved}")


def _render_validation(ref: str, document: dict[str, Any]) -> None:
    if document["ok"]:
        stdout.print(f"[green]ok[/]: {ref} passes every rule")
        return
    stdout.print(f"[red]{len(document['failures'])} rule(s) failed[/] for {ref}:")
    for failure in document["failures"]:
        examples = ", ".join(f"row {e['row']}: {e['value']!r}" for e in failure["examples"])
        stdout.print(
            f"  {failure['column']} {failure['rule']}: {failure['message']} "
            f"({failure['count']} rows; {examples})"
        )
