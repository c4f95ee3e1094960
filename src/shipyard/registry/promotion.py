"""Moving aliases: roles for protected aliases, policies and their gates, approvals.

In an embedded workspace the local user holds every role; through a server the
caller's role applies. A model without a policy is promoted freely (the move is still
audited); once a policy is set, every promotion into an alias it guards runs its gates,
and a refused promotion changes nothing but the stored verdict.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.entities import ApprovalEvent, ModelVersion
from shipyard.errors import Conflict, PermissionDenied, PromotionRefused, ValidationError
from shipyard.governance.audit import utc_now
from shipyard.governance.roles import role_allows
from shipyard.registry.policy import Policy, load_policy, parse_policy
from shipyard.registry.refs import check_alias, check_model_name

if TYPE_CHECKING:
    from shipyard.registry.service import ModelService

DEFAULT_PROTECTED = ("champion",)


def set_policy(
    models: ModelService, name: str, source: Policy | dict[str, Any] | str | Path | None
) -> Policy | None:
    """Set (or clear, with None) the promotion policy of model ``name``; needs approver."""
    check_model_name(name)
    policy = None if source is None else load_policy(source)
    _require_role(models, "approver", f"set the promotion policy of {name!r}")
    with models.db.write() as conn:
        if not models.store.model_exists(conn, name):
            raise_unknown(name)
        models.store.set_policy(conn, name, None if policy is None else policy.to_dict())
        models.audit.record(
            conn,
            actor=models.actor,
            action="model.policy",
            entity_kind="registered_model",
            entity_id=name,
            payload=None if policy is None else policy.to_dict(),
        )
    return policy


def get_policy(models: ModelService, name: str) -> Policy | None:
    """The promotion policy of model ``name``, or None."""
    check_model_name(name)
    with models.db.read() as conn:
        if not models.store.model_exists(conn, name):
            raise_unknown(name)
        document = models.store.policy(conn, name)
    return None if document is None else parse_policy(document)


def promote(
    models: ModelService, name: str, version: int, alias: str, *, trust: bool = False
) -> dict[str, Any]:
    """Point ``alias`` of ``name`` at ``version`` if the role, the gates and approvals allow.

    Returns the verdict (``ok`` and every check); raises PromotionRefused with the same
    report when a gate fails, PermissionDenied when the role is too low.
    """
    check_alias(alias)
    target = models.get(f"{check_model_name(name)}@v{int(version)}")
    policy = get_policy(models, name)
    protected = set(DEFAULT_PROTECTED) | set(policy.aliases if policy else ())
    if alias in protected:
        _require_role(models, "approver", f"move the protected alias {alias!r}")
    else:
        _require_role(models, "editor", f"move the alias {alias!r}")
    verdict = _verdict(models, policy, target, alias, trust)
    if not verdict["ok"]:
        failed = [c for c in verdict["checks"] if not c["ok"]]
        summary = "; ".join(f"{c['gate']} ({c['detail']})" for c in failed)
        raise PromotionRefused(
            f"{target.ref} cannot become {alias}: {len(failed)} of {len(verdict['checks'])} "
            f"check(s) failed: {summary}",
            details=verdict["checks"],
        )
    _move_alias(models, target, alias, verdict)
    return verdict


def _verdict(
    models: ModelService, policy: Policy | None, target: ModelVersion, alias: str, trust: bool
) -> dict[str, Any]:
    if policy is None or alias not in policy.aliases:
        return {"model": target.ref, "alias": alias, "ok": True, "checks": [], "policy": False}
    from shipyard.registry.gates import run_gates

    verdict = {**run_gates(models, policy, target, alias, trust=trust), "policy": True}
    with models.db.write() as conn:
        models.store.add_verdict(
            conn,
            target.name,
            target.version,
            verdict,
            created_at=verdict["at"],
            created_by=models.actor,
        )
        models.record(conn, "model.verdict", target, {"alias": alias, "ok": verdict["ok"]})
    return verdict


def _move_alias(
    models: ModelService, target: ModelVersion, alias: str, verdict: dict[str, Any]
) -> None:
    with models.db.write() as conn:
        models.store.lock_model(conn, target.name, created_at=utc_now(), actor=models.actor)
        before = models.store.alias_target(conn, target.name, alias)
        judged = verdict.get("holder")
        now = None if before in (None, target.version) else f"{target.name}@v{before}"
        if verdict.get("policy") and now != judged:
            raise Conflict(
                f"{alias} moved to {now or 'no version'} while the gates ran against "
                f"{judged or 'no holder'}; promote again to judge against the new holder"
            )
        models.store.set_alias(
            conn, target.name, alias, target.version, at=utc_now(), actor=models.actor
        )
        payload = {
            "alias": alias,
            "from": None if before is None else f"{target.name}@v{before}",
            "to": target.ref,
            "gated": verdict.get("policy", False),
        }
        models.record(conn, "model.alias", target, payload)


def request_approval(models: ModelService, ref: str, comment: str = "") -> ApprovalEvent:
    """Ask approvers to approve ``ref`` (editor role)."""
    _require_role(models, "editor", "request an approval")
    return _approval_step(models, ref, "requested", comment)


def decide(models: ModelService, ref: str, approved: bool, comment: str = "") -> ApprovalEvent:
    """Approve or reject ``ref`` (approver role)."""
    _require_role(models, "approver", "approve or reject a model version")
    if not approved and not comment.strip():
        raise ValidationError("a rejection needs a --comment saying why")
    return _approval_step(models, ref, "approved" if approved else "rejected", comment)


def _approval_step(models: ModelService, ref: str, action: str, comment: str) -> ApprovalEvent:
    version = models.get(ref)
    event = ApprovalEvent(
        name=version.name,
        version=version.version,
        action=action,
        actor=models.actor,
        at=utc_now(),
        comment=comment,
    )
    with models.db.write() as conn:
        models.store.add_approval(conn, event)
        models.record(conn, f"model.approval.{action}", version, {"comment": comment})
    return event


def _require_role(models: ModelService, role: str, what: str) -> None:
    if not role_allows(models.role, role):
        raise PermissionDenied(
            f"to {what} you need role {role!r} or higher; {models.actor!r} holds {models.role!r}"
        )


def raise_unknown(name: str) -> None:
    """NotFound for a model name that is not registered."""
    from shipyard.errors import NotFound

    raise NotFound(f"no model named {name!r}; `shipyard models list` shows them")
