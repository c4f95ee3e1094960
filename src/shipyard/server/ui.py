"""The web UI at ``/``: server-rendered pages over the same services as the REST API.

Overview, datasets, runs, models and the audit trail, as plain HTML (Jinja2, no script).
With auth on, a page needs a viewer's API token: ``/ui/login`` takes it once and keeps
it in an HTTP-only cookie (``/ui/logout`` forgets it); the audit trail, as in the API,
needs an approver. Without auth (loopback only) the server's user sees all.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.concurrency import run_in_threadpool

from shipyard.errors import NotFound, ShipyardError, Unauthenticated
from shipyard.governance.roles import role_allows
from shipyard.server.auth import acting

if TYPE_CHECKING:
    import jinja2

    from shipyard.platform import Platform

COOKIE = "shipyard_token"
COOKIE_SECONDS = 12 * 3600
LOGIN = "/ui/login"
MAX_FORM_BYTES = 4096
RECENT_RUNS = 100
RECENT_AUDIT = 200

router = APIRouter(include_in_schema=False)
Render = Callable[..., Response]


@cache
def _templates() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("shipyard.server", "templates"),
        autoescape=jinja2.select_autoescape(["j2", "html"]),
    )
    environment.filters["when"] = _when
    return environment


def _when(epoch: float | None) -> str:
    if epoch is None:
        return ""
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M:%S")


def _page(template: str, title: str, here: str, status: int = 200, **values: Any) -> Response:
    html = _templates().get_template(template).render(title=title, here=here, **values)
    return HTMLResponse(html, status_code=status)


def page(path: str, role: str = "viewer") -> Callable[[Render], Render]:
    """Register ``render(platform, **path_params)`` as the page at ``path``, for callers
    holding ``role``: without a valid token, the sign-in page; errors as pages."""

    def register(render: Render) -> Render:
        def handler(request: Request) -> Response:
            try:
                platform = acting(request, role, request.cookies.get(COOKIE))
                return render(platform, **request.path_params)
            except Unauthenticated:
                return RedirectResponse(f"{LOGIN}?next={quote(request.url.path)}", 303)
            except NotFound as exc:
                return _page("error.html.j2", "Not found", "", 404, message=exc.message)
            except ShipyardError as exc:
                return _page("error.html.j2", "Error", "", exc.http_status, message=exc.message)

        handler.__name__ = render.__name__
        router.add_api_route(path, handler, methods=["GET"], response_class=HTMLResponse)
        return render

    return register


def _models(platform: Platform) -> list[Any]:
    return sorted(platform.models.list(), key=lambda m: (m.name, m.version))


def _may_audit(platform: Platform) -> bool:
    """Whether this caller may see the audit trail (approvers, as in the API)."""
    return role_allows(platform.role, "approver")


@page("/")
def overview(platform: Platform) -> Response:
    """Counts and the latest of everything (the chain's verdict for approvers)."""
    return _page(
        "overview.html.j2",
        "Overview",
        "/",
        datasets=platform.datasets.list(),
        runs=platform.runs.search(limit=RECENT_RUNS),
        models=_models(platform),
        chain=platform.audit.verify() if _may_audit(platform) else None,
    )


@page("/ui/datasets")
def datasets(platform: Platform) -> Response:
    """Every dataset with its latest version."""
    found = platform.datasets.list()
    table = "datasets_table.html.j2"
    return _page("list.html.j2", "Datasets", "/ui/datasets", table=table, datasets=found)


@page("/ui/datasets/{name}")
def dataset(platform: Platform, name: str) -> Response:
    """Every version of one dataset; the newest one's columns."""
    versions = platform.datasets.log(name)
    newest = platform.datasets.get(versions[0].ref)  # with its schema
    columns = (newest.schema or {}).get("columns", [])
    return _page("dataset.html.j2", name, "/ui/datasets", versions=versions, columns=columns)


@page("/ui/runs")
def runs(platform: Platform) -> Response:
    """The newest runs."""
    found = platform.runs.search(limit=RECENT_RUNS)
    return _page("list.html.j2", "Runs", "/ui/runs", table="runs_table.html.j2", runs=found)


@page("/ui/runs/{run_id}")
def run(platform: Platform, run_id: str) -> Response:
    """One run: inputs, parameters, metrics, tags."""
    found = platform.runs.get(run_id)
    return _page("run.html.j2", f"Run {found.id[:8]}", "/ui/runs", run=found)


@page("/ui/models")
def models(platform: Platform) -> Response:
    """The newest version of every registered model."""
    table = "models_table.html.j2"
    return _page("list.html.j2", "Models", "/ui/models", table=table, models=_models(platform))


@page("/ui/models/{name}")
def model(platform: Platform, name: str) -> Response:
    """The versions of one model and their aliases."""
    return _page("model.html.j2", name, "/ui/models", models=platform.models.versions(name))


@page("/ui/audit", role="approver")
def audit(platform: Platform) -> Response:
    """The newest audit entries, newest first, and the chain's verdict."""
    entries = list(reversed(platform.audit.entries(limit=RECENT_AUDIT)))
    chain = platform.audit.verify()
    return _page("audit.html.j2", "Audit trail", "/ui/audit", entries=entries, chain=chain)


@router.get(LOGIN, response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """Ask for an API token."""
    return _page("login.html.j2", "Sign in", "", next=_next(request.query_params.get("next")))


@router.post(LOGIN, response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token (on a worker thread: it reads the store), then keep it in an
    HTTP-only cookie and go where the caller was going."""
    body = await request.body()
    if len(body) > MAX_FORM_BYTES:
        return _page("login.html.j2", "Sign in", "", 413, error="that is not a token")
    form = parse_qs(body.decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0].strip()
    target = _next((form.get("next") or ["/"])[0])
    try:
        await run_in_threadpool(_check_token, request, token)
    except ShipyardError as exc:
        return _page("login.html.j2", "Sign in", "", 401, error=exc.message, next=target)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_SECONDS,
        httponly=True,
        samesite="lax",  # links from elsewhere arrive signed in; pages only read
        secure=request.url.scheme == "https",
    )
    return response


@router.get("/ui/logout")
def logout() -> Response:
    """Forget the token."""
    response = RedirectResponse(LOGIN, status_code=303)
    response.delete_cookie(COOKIE)
    return response


def _check_token(request: Request, token: str) -> None:
    acting(request, "viewer", token)


def _next(target: str | None) -> str:
    """Where to go after signing in: a path of this site only."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/"
    return target
