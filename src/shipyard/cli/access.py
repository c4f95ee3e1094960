"""`shipyard users` and `shipyard tokens`: who may call a shared server, and with what role."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Annotated, Any

import typer

from shipyard.cli.output import JsonFlag, emit, note, stdout
from shipyard.cli.state import open_workspace
from shipyard.governance.roles import ROLES

if TYPE_CHECKING:
    from shipyard.entities import TokenInfo, User
    from shipyard.governance.access import AccessService

ROLE_HELP = f"One of {', '.join(ROLES)} (each includes the previous)."
ONCE_WARNING = (
    "[bold yellow]warning:[/] this is the only time the token is shown; store it now, "
    "it cannot be shown again (only its hash is kept)"
)

users_app = typer.Typer(
    help="Users of a shared server and their roles (every change is audited).",
    no_args_is_help=True,
)
tokens_app = typer.Typer(
    help="API tokens for a shared server: create, list, revoke (secrets are never stored).",
    no_args_is_help=True,
)

RoleOption = Annotated[str, typer.Option("--role", "-r", help=ROLE_HELP)]


@users_app.command("add")
def add_user(name: str, role: RoleOption, as_json: JsonFlag = False) -> None:
    """Add user NAME holding --role ROLE."""
    with open_workspace() as ws:
        user = ws.access.add_user(name, role)
    emit(asdict(user), as_json, lambda: stdout.print(f"added user {user.name} ({user.role})"))


@users_app.command("list")
def list_users(as_json: JsonFlag = False) -> None:
    """List every user with its role."""
    with open_workspace() as ws:
        users = ws.access.list_users()
    emit({"users": [asdict(user) for user in users]}, as_json, lambda: _render_users(users))


@users_app.command("set-role")
def set_role(
    name: str,
    role: Annotated[str, typer.Argument(help=ROLE_HELP)],
    as_json: JsonFlag = False,
) -> None:
    """Give user NAME the role ROLE (effective on its next request)."""
    with open_workspace() as ws:
        user = ws.access.set_role(name, role)
    emit(asdict(user), as_json, lambda: stdout.print(f"{user.name} now holds {user.role}"))


@users_app.command("disable")
def disable(name: str, as_json: JsonFlag = False) -> None:
    """Disable user NAME: every token of it stops working at once."""
    _set_disabled(name, True, as_json)


@users_app.command("enable")
def enable(name: str, as_json: JsonFlag = False) -> None:
    """Enable user NAME again (its tokens that are not revoked or expired work again)."""
    _set_disabled(name, False, as_json)


def _set_disabled(name: str, disabled: bool, as_json: bool) -> None:
    with open_workspace() as ws:
        user = ws.access.set_disabled(name, disabled)
    state = "disabled" if user.disabled else "enabled"
    emit(asdict(user), as_json, lambda: stdout.print(f"{user.name} is {state}"))


@tokens_app.command("create")
def create_token(
    user: Annotated[str, typer.Option("--user", "-u", help="The user the token acts as.")],
    role: Annotated[
        str | None,
        typer.Option(
            "--role",
            "-r",
            help=f"Create the user with this role if it does not exist. {ROLE_HELP}",
        ),
    ] = None,
    label: Annotated[
        str | None, typer.Option("--label", "-l", help="What the token is for.")
    ] = None,
    expires_in: Annotated[
        str | None,
        typer.Option(
            "--expires-in",
            help="30d, 12h, 90m, 2w (or 1w2d), or an ISO date/time such as 2027-01-31 "
            "(UTC unless it carries an offset). Default: never.",
        ),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Create an API token for --user; the secret is printed once, on stdout."""
    with open_workspace() as ws:
        info, secret = ws.access.create_token(user, label, expires_in, role=role)
        owner = ws.access.get_user(info.user)
    document = {"token": secret, **asdict(info), "role": owner.role}
    emit(document, as_json, lambda: _render_created(info, owner, secret))
    note(ONCE_WARNING)


@tokens_app.command("list")
def list_tokens(
    user: Annotated[
        str | None, typer.Option("--user", "-u", help="Only the tokens of this user.")
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """List tokens (never their secrets) with their status: active, expired, revoked."""
    with open_workspace() as ws:
        tokens = ws.access.list_tokens(user)
        rows = [_token_document(ws.access, info) for info in tokens]
    emit({"tokens": rows}, as_json, lambda: _render_tokens(rows))


@tokens_app.command("revoke")
def revoke(
    token_id: Annotated[str, typer.Argument(metavar="ID")], as_json: JsonFlag = False
) -> None:
    """Revoke token ID for good."""
    with open_workspace() as ws:
        info = ws.access.revoke_token(token_id)
        document = _token_document(ws.access, info)
    emit(document, as_json, lambda: stdout.print(f"revoked token {info.id} of {info.user}"))


def _token_document(access: AccessService, info: TokenInfo) -> dict[str, Any]:
    return {**asdict(info), "status": access.token_status(info)}


def _render_created(info: TokenInfo, owner: User, secret: str) -> None:
    expires = f"expires {info.expires_at}" if info.expires_at else "never expires"
    note(f"token {info.id} for {owner.name} (role {owner.role}), {expires}")
    stdout.print(secret, markup=False)


def _render_users(users: list[User]) -> None:
    if not users:
        stdout.print("No users yet: `shipyard users add NAME --role ROLE`.")
        return
    columns = ["name", "role", "disabled", "created_at", "created_by"]
    _table(columns, [asdict(user) for user in users])


def _render_tokens(rows: list[dict[str, Any]]) -> None:
    if not rows:
        stdout.print("No tokens yet: `shipyard tokens create --user U --role ROLE`.")
        return
    _table(["id", "user", "status", "label", "expires_at", "last_used_at"], rows)


def _cell(key: str, value: Any) -> str:
    if value is None or value is False:
        return ""
    if value is True:
        return "yes"
    text = str(value)
    return text[:19].replace("T", " ") if key.endswith("_at") else text


def _table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    from rich.table import Table
    from rich.text import Text

    table = Table(*columns, box=None, pad_edge=False)
    for row in rows:
        table.add_row(*[Text(_cell(key, row[key])) for key in columns])
    stdout.print(table)
