"""The roles of a shared server, each including the ones before it.

``viewer`` reads; ``editor`` also writes data, runs and models; ``approver`` also moves
protected aliases and approves; ``admin`` also manages users, tokens and settings.
Roles are plain strings everywhere (entities, rows, JSON); this module owns their order.
"""

from __future__ import annotations

from shipyard.errors import ValidationError

ROLES: tuple[str, ...] = ("viewer", "editor", "approver", "admin")
_RANK = {role: rank for rank, role in enumerate(ROLES)}


def parse_role(name: str) -> str:
    """``name`` as a known role (case and surrounding spaces ignored); ValidationError if not."""
    role = name.strip().lower() if isinstance(name, str) else None
    if role is None or role not in _RANK:
        raise ValidationError(
            f"role must be one of {', '.join(ROLES)} (each includes the previous), "
            f"got {name!r} instead"
        )
    return role


def role_rank(role: str) -> int:
    """The position of ``role`` in the order viewer < editor < approver < admin."""
    return _RANK[parse_role(role)]


def role_allows(have: str, need: str) -> bool:
    """True when holding role ``have`` grants what role ``need`` grants."""
    return role_rank(have) >= role_rank(need)
