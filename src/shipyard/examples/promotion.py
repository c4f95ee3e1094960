"""The quickstart's promotion: a policy with gates, an approval, the champion, a model card."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from shipyard.examples.credit import SENSITIVE, TARGET

if TYPE_CHECKING:
    from shipyard.entities import DatasetVersion, ModelVersion
    from shipyard.workspace import Workspace


def demo_policy(holdout: DatasetVersion) -> dict[str, Any]:
    """The gates a credit model must pass to become champion."""
    return {
        "aliases": ["champion"],
        "evaluation": {"data": holdout.ref, "target": TARGET, "sensitive": list(SENSITIVE)},
        "gates": [
            "roc_auc >= 0.70",
            "roc_auc may drop at most 0.01",
            "demographic_parity_difference[sex] <= 0.10",
            "latency p95 <= 250 ms on 100 rows",
            "data validation passed",
        ],
        "require_approval": True,
    }


def evaluate(ws: Workspace, model: ModelVersion, holdout: DatasetVersion) -> dict[str, Any]:
    """Metrics and per-group fairness of ``model`` on the held-out rows (stored)."""
    return ws.models.evaluate(model.ref, holdout.ref, target=TARGET, sensitive=list(SENSITIVE))


def promote_champion(ws: Workspace, model: ModelVersion, holdout: DatasetVersion) -> dict[str, Any]:
    """Set the policy, get the approval it requires, and promote ``model`` to champion."""
    ws.models.set_policy(model.name, demo_policy(holdout))
    ws.models.request_approval(model.ref, "best AUC of the sweep on the held-out rows")
    ws.models.approve(model.ref, "reviewed the evaluation and the fairness report")
    return ws.models.promote(model.name, model.version, alias="champion")
