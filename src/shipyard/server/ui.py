"""The web UI at ``/``: server-rendered pages over the same services as the REST API.

Overview, datasets, runs, models and the audit trail, as plain HTML (Jinja2, no script).
With auth on, a page needs a viewer's API token: ``/ui/login`` takes it once and keeps
it in an HTTP-only cookie; without auth (loopback only) the server's user sees all.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import cache
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from shipyard.errors import NotFound, ShipyardError, Unauthenticated

if TYPE_CHECKING:
    import jinja2

    from shipyard.platform import Platform

COOKIE = "shipyard_token"
LOGIN = "/ui/login"
RECENT_RUNS = 100
RECENT_AUDIT = 200

router = APIRouter(include_in_schema=False)


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


def _viewer(request: Request) -> Platform:
    """The platform acting for the caller (viewer at least); Unauthenticated without a
    valid token in the cookie."""
    base: Platform = request.app.state.platform
    if not request.app.state.auth:
        return base
    secret = request.cookies.get(COOKIE)
    if not secret:
        raise Unauthenticated("sign in with an API token")
    principal = base.access.authenticate(secret)
    base.access.authorize(principal, "viewer")
    return base.as_actor(principal.user, principal.role)


def _guarded(render: Any) -> Any:
    """A page whose errors are pages too: sign-in for a missing token, else the message."""

    def page(request: Request, **params: Any) -> Response:
        try:
            return render(_viewer(request), **params)  # type: ignore[no-any-return]
        except Unauthenticated:
            return RedirectResponse(LOGIN, status_code=303)
        except NotFound as exc:
            return _page("error.html.j2", "Not found", "", 404, message=exc.message)
        except ShipyardError as exc:
            return _page("error.html.j2", "Error", "", exc.http_status, message=exc.message)

    return page


def _models(platform: Platform) -> list[Any]:
    return sorted(platform.models.list(), key=lambda m: (m.name, m.version))


@router.get("/", response_class=HTMLResponse)
def overview(request: Request) -> Response:
    """Counts and the latest of everything."""

    def render(platform: Platform) -> Response:
        return _page(
            "overview.html.j2",
            "Overview",
            "/",
            datasets=platform.datasets.list(),
            runs=platform.runs.search(limit=RECENT_RUNS),
            models=_models(platform),
            chain=platform.audit.verify(),
        )

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/datasets", response_class=HTMLResponse)
def datasets(request: Request) -> Response:
    """Every dataset with its latest version."""

    def render(platform: Platform) -> Response:
        table = "datasets_table.html.j2"
        found = platform.datasets.list()
        return _page("list.html.j2", "Datasets", "/ui/datasets", table=table, datasets=found)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/datasets/{name}", response_class=HTMLResponse)
def dataset(request: Request, name: str) -> Response:
    """Every version of one dataset; the newest one's columns."""

    def render(platform: Platform) -> Response:
        versions = platform.datasets.log(name)
        if not versions:
            raise NotFound(f"no dataset named {name!r}")
        newest = platform.datasets.get(versions[0].ref)
        columns = (newest.schema or {}).get("columns", [])
        return _page("dataset.html.j2", name, "/ui/datasets", versions=versions, columns=columns)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/runs", response_class=HTMLResponse)
def runs(request: Request) -> Response:
    """The newest runs."""

    def render(platform: Platform) -> Response:
        found = platform.runs.search(limit=RECENT_RUNS)
        return _page("list.html.j2", "Runs", "/ui/runs", table="runs_table.html.j2", runs=found)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run(request: Request, run_id: str) -> Response:
    """One run: inputs, parameters, metrics, tags."""

    def render(platform: Platform) -> Response:
        found = platform.runs.get(run_id)
        return _page("run.html.j2", f"Run {found.id[:8]}", "/ui/runs", run=found)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/models", response_class=HTMLResponse)
def models(request: Request) -> Response:
    """Every registered model version."""

    def render(platform: Platform) -> Response:
        table = "models_table.html.j2"
        return _page("list.html.j2", "Models", "/ui/models", table=table, models=_models(platform))

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/models/{name}", response_class=HTMLResponse)
def model(request: Request, name: str) -> Response:
    """The versions of one model and their aliases."""

    def render(platform: Platform) -> Response:
        versions = platform.models.versions(name)
        return _page("model.html.j2", name, "/ui/models", models=versions)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get("/ui/audit", response_class=HTMLResponse)
def audit(request: Request) -> Response:
    """The newest audit entries, newest first, and the chain's verdict."""

    def render(platform: Platform) -> Response:
        entries = list(reversed(platform.audit.entries(limit=RECENT_AUDIT)))
        chain = platform.audit.verify()
        return _page("audit.html.j2", "Audit trail", "/ui/audit", entries=entries, chain=chain)

    return _guarded(render)(request)  # type: ignore[no-any-return]


@router.get(LOGIN, response_class=HTMLResponse)
def login_form(request: Request) -> Response:
    """Ask for an API token."""
    return _page("login.html.j2", "Sign in", "")


@router.post(LOGIN, response_class=HTMLResponse)
async def login(request: Request) -> Response:
    """Check the token, then keep it in an HTTP-only cookie."""
    from urllib.parse import parse_qs

    form = parse_qs((await request.body()).decode("utf-8", "replace"))
    token = (form.get("token") or [""])[0]
    platform: Platform = request.app.state.platform
    try:
        principal = platform.access.authenticate(token.strip())
        platform.access.authorize(principal, "viewer")
    except ShipyardError as exc:
        return _page("login.html.j2", "Sign in", "", 401, error=exc.message)
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(COOKIE, token.strip(), httponly=True, samesite="strict")
    return response
