"""`shipyard models` and `shipyard lineage`: the registry from the command line."""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, note, stdout
from shipyard.cli.state import open_workspace

if TYPE_CHECKING:
    from shipyard.entities import ModelVersion

app = typer.Typer(
    help="Model registry: versions, evaluation, promotion with gates, approvals, cards.",
    no_args_is_help=True,
)
Comment = Annotated[str, typer.Option("--comment", "-c", help="Why (kept in the audit trail).")]
Trust = Annotated[
    bool,
    typer.Option("--trust", help="Allow formats that run code when loaded (cloudpickle)."),
]


@app.command("list")
def list_models(as_json: JsonFlag = False) -> None:
    """The latest version of every registered model, with its aliases."""
    with open_workspace() as ws:
        models = ws.models.list()
    emit([_summary(m) for m in models], as_json, lambda: _render_list(models))


@app.command("versions")
def versions(name: str, as_json: JsonFlag = False) -> None:
    """Every version of model NAME, newest first."""
    with open_workspace() as ws:
        found = ws.models.versions(name)
    emit([_summary(m) for m in found], as_json, lambda: _render_list(found))


@app.command("show")
def show(
    ref: Annotated[str, typer.Argument(help="NAME, NAME@vN or NAME@ALIAS.")],
    as_json: JsonFlag = False,
) -> None:
    """One version: signature, lineage, evaluations, verdicts, approvals."""
    with open_workspace() as ws:
        facts = ws.models.describe(ref)
    emit(facts, as_json, lambda: _render_show(facts))


@app.command("evaluate")
def evaluate(
    ref: Annotated[str, typer.Argument(help="The model version, e.g. credit-risk@v2.")],
    data: Annotated[str, typer.Argument(help="A tabular dataset version, e.g. credit@v3.")],
    target: Annotated[str, typer.Option("--target", "-t", help="The label column.")],
    sensitive: Annotated[
        list[str] | None,
        typer.Option("--sensitive", "-s", help="A column to report fairness over (repeatable)."),
    ] = None,
    trust: Trust = False,
    as_json: JsonFlag = False,
) -> None:
    """Metrics, per-group fairness and feature importance on labelled data (stored)."""
    with open_workspace() as ws:
        note(f"evaluating {ref} on {data} ...")
        result = ws.models.evaluate(
            ref, data, target=target, sensitive=sensitive or [], trust=trust
        )
    emit(result, as_json, lambda: _render_evaluation(result))


@app.command("promote")
def promote(
    name: str,
    version: Annotated[int, typer.Argument(help="The version number to promote.", min=1)],
    alias: Annotated[str, typer.Option("--alias", "-a", help="e.g. champion, challenger.")],
    trust: Trust = False,
    as_json: JsonFlag = False,
) -> None:
    """Point ALIAS at version VERSION of NAME; the model's policy gates and approvals apply."""
    with open_workspace() as ws:
        verdict = ws.models.promote(name, version, alias=alias, trust=trust)
    emit(verdict, as_json, lambda: _render_verdict(verdict))


@app.command("policy")
def policy(
    name: str,
    file: Annotated[
        Path | None,
        typer.Option("--file", "-f", help="A YAML policy to set (see `models policy --help`)."),
    ] = None,
    clear: Annotated[bool, typer.Option("--clear", help="Remove the policy.")] = False,
    as_json: JsonFlag = False,
) -> None:
    """Show, set (--file) or remove (--clear) the promotion policy of model NAME.

    A policy guards aliases (default: champion) with gates such as 'roc_auc >= 0.8',
    'roc_auc may drop at most 0.01', 'demographic_parity_difference[sex] <= 0.1',
    'latency p95 <= 50 ms' and 'data validation passed', evaluated on the data named
    under evaluation: {data, target, sensitive}; require_approval: true adds approvals.
    """
    with open_workspace() as ws:
        if clear:
            ws.models.set_policy(name, None)
        elif file is not None:
            ws.models.set_policy(name, file)
        current = ws.models.policy(name)
    document = None if current is None else current.to_dict()
    emit(document, as_json, lambda: stdout.print(_policy_text(name, document)))


@app.command("request-approval")
def request_approval(ref: str, comment: Comment = "", as_json: JsonFlag = False) -> None:
    """Ask an approver to approve REF."""
    with open_workspace() as ws:
        event = ws.models.request_approval(ref, comment)
    emit(asdict(event), as_json, lambda: stdout.print(f"approval requested for {ref}"))


@app.command("approve")
def approve(ref: str, comment: Comment = "", as_json: JsonFlag = False) -> None:
    """Approve REF (approver role)."""
    with open_workspace() as ws:
        event = ws.models.approve(ref, comment)
    emit(asdict(event), as_json, lambda: stdout.print(f"{ref} approved by {event.actor}"))


@app.command("reject")
def reject(ref: str, comment: Comment = "", as_json: JsonFlag = False) -> None:
    """Reject REF with a reason (approver role)."""
    with open_workspace() as ws:
        event = ws.models.reject(ref, comment)
    emit(asdict(event), as_json, lambda: stdout.print(f"{ref} rejected by {event.actor}"))


@app.command("card")
def card(
    ref: str,
    format: Annotated[str, typer.Option("--format", help="md or html.")] = "md",
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write to this file, not stdout.")
    ] = None,
) -> None:
    """The model card of REF, generated from what the registry stores."""
    from shipyard.registry.card import card as render

    with open_workspace() as ws:
        text = render(ws.models, ref, format=format)
    if output is None:
        typer.echo(text)
    else:
        output.write_text(text, encoding="utf-8")
        note(f"wrote {output}")


def lineage(
    ref: Annotated[
        str,
        typer.Argument(
            help="A model version (NAME, NAME@vN, NAME@ALIAS) or, with --data, a dataset version."
        ),
    ],
    data: Annotated[
        bool,
        typer.Option("--data", help="REF is a dataset version: show what was built from it."),
    ] = False,
    as_json: JsonFlag = False,
) -> None:
    """Where a model came from (run, dataset versions, code), or with --data what was built
    from a dataset version (runs and their models), as a tree."""
    with open_workspace() as ws:
        if data:
            graph = ws.models.downstream(ref)
            emit(graph, as_json, lambda: stdout.print(_downstream_tree(graph)))
            return
        graph = ws.models.lineage(ref)
    emit(graph, as_json, lambda: stdout.print(_lineage_tree(graph)))


def register(root: typer.Typer) -> None:
    """Add `models` and `lineage` to the root app."""
    root.add_typer(app, name="models")
    root.command("lineage")(lineage)


# rendering


def _summary(version: ModelVersion) -> dict[str, Any]:
    return {
        "ref": version.ref,
        "name": version.name,
        "version": version.version,
        "aliases": list(version.aliases),
        "flavor": version.flavor,
        "safe": version.safe,
        "run_id": version.run_id,
        "created_at": version.created_at,
        "author": version.author,
    }


def _render_list(models: list[ModelVersion]) -> None:
    from rich.table import Table

    table = Table("ref", "aliases", "flavor", "run", "created", "by")
    for m in models:
        flavor = m.flavor if m.safe else f"{m.flavor} (unsafe)"
        table.add_row(
            m.ref, ", ".join(m.aliases), flavor, (m.run_id or "-")[:8], m.created_at[:19], m.author
        )
    stdout.print(table if models else "no models registered yet")


def _render_show(facts: dict[str, Any]) -> None:
    aliases = ", ".join(facts["aliases"]) or "none"
    stdout.print(f"[bold]{facts['ref']}[/bold]  aliases: {aliases}  flavor: {facts['flavor']}")
    stdout.print(f"digest {facts['digest']}  by {facts['author']} at {facts['created_at']}")
    inputs = ", ".join(f"{c['name']}:{c['type']}" for c in facts["signature"]["inputs"])
    stdout.print(f"inputs: {inputs}")
    stdout.print(_lineage_tree(facts["lineage"]))
    for evaluation in facts["evaluations"]:
        _render_evaluation(evaluation)
    for verdict in facts["verdicts"]:
        _render_verdict(verdict)
    for event in facts["approvals"]:
        stdout.print(f"approval: {event['action']} by {event['actor']} {event['comment']}")


def _render_evaluation(result: dict[str, Any]) -> None:
    metrics = ", ".join(f"{k} {_number(v)}" for k, v in result.get("metrics", {}).items())
    stdout.print(f"evaluation of {result.get('model')} on {result.get('data')}: {metrics}")
    for column, report in result.get("fairness", {}).items():
        parity = {k: v for k, v in report.items() if k.startswith(("demographic", "equalized"))}
        text = ", ".join(f"{k} {_number(v)}" for k, v in parity.items())
        stdout.print(f"  fairness over {column}: {text}")


def _render_verdict(verdict: dict[str, Any]) -> None:
    if not verdict.get("policy", True) and not verdict["checks"]:
        stdout.print(f"{verdict['model']} is now {verdict['alias']} (no policy gates this alias)")
        return
    from rich.markup import escape

    state = "[green]passed[/green]" if verdict["ok"] else "[red]refused[/red]"
    stdout.print(f"{verdict['model']} -> {verdict['alias']}: {state}")
    for check in verdict["checks"]:
        mark = "[green]ok[/green]  " if check["ok"] else "[red]FAIL[/red]"
        stdout.print(f"  {mark} {escape(check['gate'])}: {escape(str(check['detail']))}")


def _policy_text(name: str, document: dict[str, Any] | None) -> str:
    if document is None:
        return f"{name} has no promotion policy (every promotion is allowed and audited)"
    import yaml

    return str(yaml.safe_dump(document, sort_keys=False)).rstrip()


def _lineage_tree(graph: dict[str, Any]) -> Any:
    from rich.tree import Tree

    tree = Tree(f"[bold]{graph['model']}[/bold]  {graph['digest'][:12]}")
    run = graph.get("run")
    if run is None:
        tree.add("no run recorded")
        return tree
    branch = tree.add(f"run {run['id'][:8]} ({run['experiment']}/{run['name']}, {run['status']})")
    for dataset in graph.get("datasets", []):
        pii = f"  personal data: {', '.join(dataset['pii'])}" if dataset.get("pii") else ""
        branch.add(f"data {dataset['ref']}  {dataset['digest'][:12]}{pii}")
    code = graph.get("code")
    if code:
        dirty = " (uncommitted changes)" if code.get("dirty") else ""
        branch.add(f"code {str(code.get('commit', '?'))[:12]}{dirty}")
    else:
        branch.add("code: not inside a git repository")
    return tree


def _downstream_tree(graph: dict[str, Any]) -> Any:
    from rich.tree import Tree

    tree = Tree(f"[bold]{graph['dataset']}[/bold]  {graph['digest'][:12]}")
    if not graph["runs"]:
        tree.add("no run has read it")
    for run in graph["runs"]:
        branch = tree.add(
            f"run {run['id'][:8]} ({run['experiment']}/{run['name']}, {run['status']})"
        )
        for model in run["models"]:
            branch.add(f"model {model}")
    return tree


def _number(value: Any) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)
