"""Running a promotion policy's gates against one model version: the verdict.

Every gate is checked (a failed one does not stop the rest), so a refused promotion
reports everything that needs fixing at once. The verdict is a JSON document stored
with the version whether it passed or not.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from shipyard.governance.audit import utc_now
from shipyard.registry.policy import Gate, Policy

if TYPE_CHECKING:
    from shipyard.entities import ModelVersion
    from shipyard.registry.service import ModelService

_OPS: dict[str, Callable[[float, float], bool]] = {
    ">=": operator.ge,
    "<=": operator.le,
    ">": operator.gt,
    "<": operator.lt,
}


class _Context:
    """What the gates look at, computed once and only when a gate needs it."""

    def __init__(
        self, models: ModelService, policy: Policy, version: ModelVersion, alias: str, trust: bool
    ) -> None:
        self.models = models
        self.policy = policy
        self.version = version
        self.alias = alias
        self.trust = trust
        self.data: str | None = None
        if policy.evaluation is not None:
            self.data = models.datasets.get(policy.evaluation.data).ref  # pinned to a version
        self._evaluations: dict[str, dict[str, Any]] = {}

    def evaluation(self, ref: str) -> dict[str, Any]:
        spec = self.policy.evaluation
        assert spec is not None
        assert self.data is not None
        if ref not in self._evaluations:
            self._evaluations[ref] = self.models.evaluate(
                ref, self.data, target=spec.target, sensitive=spec.sensitive, trust=self.trust
            )
        return self._evaluations[ref]

    def holder(self) -> ModelVersion | None:
        from shipyard.errors import NotFound

        try:
            holder = self.models.get(f"{self.version.name}@{self.alias}")
        except NotFound:
            return None
        return None if holder.version == self.version.version else holder


def run_gates(
    models: ModelService, policy: Policy, version: ModelVersion, alias: str, *, trust: bool
) -> dict[str, Any]:
    """The verdict of ``policy`` on ``version`` becoming ``alias``: every check and its result."""
    context = _Context(models, policy, version, alias, trust)
    checks = [_check(gate, context) for gate in policy.gates]
    if policy.require_approval:
        checks.append(_approval_check(models, version))
    holder = context.holder()
    return {
        "model": version.ref,
        "alias": alias,
        "ok": all(check["ok"] for check in checks),
        "checks": checks,
        "data": context.data,
        "holder": holder.ref if holder else None,
        "at": utc_now(),
        "actor": models.actor,
    }


def _check(gate: Gate, context: _Context) -> dict[str, Any]:
    runner = {
        "metric": _metric_check,
        "fairness": _fairness_check,
        "change": _change_check,
        "latency": _latency_check,
        "data_validation": _validation_check,
    }[gate.kind]
    return {"gate": gate.text, "kind": gate.kind, **runner(gate, context)}


def _compare(value: float | None, gate: Gate, what: str) -> dict[str, Any]:
    assert gate.op is not None
    assert gate.threshold is not None
    if value is None:
        return {"ok": False, "value": None, "detail": f"{what} could not be computed"}
    ok = _OPS[gate.op](value, gate.threshold)
    return {"ok": ok, "value": value, "detail": f"{what} = {value:.4g}"}


def _metric_check(gate: Gate, context: _Context) -> dict[str, Any]:
    metrics = context.evaluation(context.version.ref).get("metrics", {})
    return _compare(metrics.get(str(gate.metric)), gate, str(gate.metric))


def _fairness_check(gate: Gate, context: _Context) -> dict[str, Any]:
    fairness = context.evaluation(context.version.ref).get("fairness", {})
    value = fairness.get(str(gate.column), {}).get(str(gate.metric))
    return _compare(value, gate, f"{gate.metric} over {gate.column}")


def _change_check(gate: Gate, context: _Context) -> dict[str, Any]:
    metric, limit = str(gate.metric), float(gate.threshold or 0.0)
    value = context.evaluation(context.version.ref).get("metrics", {}).get(metric)
    holder = context.holder()
    if holder is None:
        return {"ok": value is not None, "value": value, "detail": f"no current {context.alias}"}
    before = context.evaluation(holder.ref).get("metrics", {}).get(metric)
    if value is None or before is None:
        return {"ok": False, "value": value, "detail": f"{metric} could not be computed"}
    change = value - before
    ok = change >= -limit if gate.op == "drop" else change <= limit
    detail = f"{metric} {value:.4g} vs {before:.4g} for {holder.ref} (change {change:+.4g})"
    return {"ok": ok, "value": change, "holder_value": before, "detail": detail}


def _latency_check(gate: Gate, context: _Context) -> dict[str, Any]:
    from shipyard.registry.evaluation import latency_p95_ms

    model = context.models.load(context.version.ref, trust=context.trust)
    rows = _sample_rows(context, model.signature.names, gate.batch)
    value = latency_p95_ms(model, rows, batch=gate.batch)
    result = _compare(value, gate, f"p95 predict time on {gate.batch} rows (ms)")
    return result


def _sample_rows(context: _Context, names: list[str], batch: int) -> Any:
    if context.data is None:
        from shipyard.errors import ValidationError

        raise ValidationError(
            "a latency gate needs the policy's evaluation data to draw input rows from"
        )
    frame = context.models.datasets.load(context.data)[names]
    return frame.sample(n=batch, replace=len(frame) < batch, random_state=0)


def _validation_check(gate: Gate, context: _Context) -> dict[str, Any]:
    lineage = context.models.lineage(context.version.ref)
    refs = [d["ref"] for d in lineage.get("datasets", []) if d["kind"] == "table"]
    if context.data is not None and context.data not in refs:
        refs.append(context.data)
    failed = []
    for ref in refs:
        report = context.models.datasets.validate(ref)
        if not report.ok:
            failed.append(f"{ref}: {len(report.failures)} rule(s) broken")
    detail = "; ".join(failed) if failed else f"{len(refs)} dataset version(s) pass"
    return {"ok": not failed, "value": len(failed), "detail": detail, "datasets": refs}


def _approval_check(models: ModelService, version: ModelVersion) -> dict[str, Any]:
    events = models.approvals(version.ref)
    last = events[-1] if events else None
    if last is not None and last.action == "approved":
        detail = f"approved by {last.actor} at {last.at}"
        return {"gate": "approval", "kind": "approval", "ok": True, "detail": detail}
    state = "no approval requested" if last is None else f"last step: {last.action}"
    return {
        "gate": "approval",
        "kind": "approval",
        "ok": False,
        "detail": f"{state}; `shipyard models request-approval {version.ref}`, then an approver "
        "runs `shipyard models approve`",
    }
