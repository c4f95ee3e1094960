"""Who is calling: bearer tokens checked on every /api/v1 request, roles per route.

With auth enabled (the default), a request needs ``Authorization: Bearer TOKEN``:
missing or invalid gives 401, a role below the route's gives 403. With auth disabled
(allowed on loopback only) the server's local user is the caller with every role.
The caller becomes the actor of every write the request makes (the audit trail's
"who"), through a platform bound to that actor.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import Request

from shipyard.errors import Unauthenticated
from shipyard.governance.roles import parse_role
from shipyard.platform import Platform


def require(role: str) -> Callable[[Request], Platform]:
    """A FastAPI dependency: the platform acting as a caller who holds at least ``role``."""
    role = parse_role(role)

    def caller(request: Request) -> Platform:
        if not request.app.state.auth:
            return acting(request, role, None)
        return acting(request, role, _bearer(request.headers.get("authorization")))

    caller.__name__ = f"require_{role}"
    return caller


def acting(request: Request, role: str, secret: str | None) -> Platform:
    """The platform acting as the holder of the token ``secret``, who must hold at least
    ``role`` (with auth off: the server's own user, every role). The web UI passes the
    token of its cookie, the API that of its header."""
    base: Platform = request.app.state.platform
    if not request.app.state.auth:
        return base
    if not secret:
        raise Unauthenticated("no API token was given")
    principal = base.access.authenticate(secret)
    base.access.authorize(principal, role)
    return base.as_actor(principal.user, principal.role)


def _bearer(header: str | None) -> str:
    if not header:
        raise Unauthenticated("missing Authorization header: send 'Authorization: Bearer TOKEN'")
    scheme, _, secret = header.partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        raise Unauthenticated("the Authorization header must be 'Bearer TOKEN'")
    return secret.strip()
