"""Promotion: roles on protected aliases, policies and their gates, approvals, verdicts.

Every test that needs a workspace runs on SQLite and on PostgreSQL. Gated promotions
evaluate on a small held-out table (``holdout_frame``) to stay quick.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shipyard.entities import DatasetVersion, ModelVersion
from shipyard.errors import NotFound, PermissionDenied, PromotionRefused, ValidationError
from shipyard.examples.credit import TARGET
from shipyard.examples.training import make_model
from shipyard.registry.policy import Gate, load_policy, parse_policy
from shipyard.registry.service import ModelService

LogModel = Callable[..., ModelVersion]
AsRole = Callable[[str, str], ModelService]


@pytest.fixture(scope="module")
def worse(credit_frame: pd.DataFrame, X: pd.DataFrame) -> Any:
    """The same pipeline fitted on shuffled labels: it has learnt nothing (AUC near 0.5)."""
    labels = np.random.default_rng(0).permutation(credit_frame[TARGET].to_numpy())
    return make_model(credit_frame, C=1.0).fit(X, labels)


@pytest.fixture
def holdout(ws: Any, holdout_frame: pd.DataFrame) -> DatasetVersion:
    version: DatasetVersion = ws.data.add("credit-holdout", holdout_frame)
    return version


def _evaluation(holdout: DatasetVersion) -> dict[str, Any]:
    return {"data": holdout.ref, "target": TARGET, "sensitive": ["sex"]}


def _aliases(ws: Any) -> list[Any]:
    return [event for event in ws.audit.entries() if event.action == "model.alias"]


def _champion(ws: Any) -> int:
    version: int = ws.models.get("credit@champion").version
    return version


# without a policy


def test_without_a_policy_any_version_is_promoted_and_every_move_is_audited(
    ws: Any, log_model: LogModel
) -> None:
    log_model()
    log_model()
    verdict = ws.models.promote("credit", 1, alias="champion")
    assert verdict == {
        "model": "credit@v1",
        "alias": "champion",
        "ok": True,
        "checks": [],
        "policy": False,
    }
    assert _champion(ws) == 1
    ws.models.promote("credit", 2, alias="champion")
    assert _champion(ws) == 2
    assert ws.models.get("credit@v1").aliases == ()
    assert ws.models.get("credit@v2").aliases == ("champion",)
    assert ws.models.verdicts("credit@v2") == []  # nothing was gated, nothing stored

    moves = _aliases(ws)
    assert [(e.actor, e.entity_id) for e in moves] == [
        ("tester", "credit@v1"),
        ("tester", "credit@v2"),
    ]
    assert [e.payload for e in moves] == [
        {"alias": "champion", "from": None, "to": "credit@v1", "gated": False},
        {"alias": "champion", "from": "credit@v1", "to": "credit@v2", "gated": False},
    ]
    assert ws.audit.verify().ok


def test_an_editor_cannot_move_champion_but_may_move_other_aliases(
    ws: Any, log_model: LogModel, as_role: AsRole
) -> None:
    log_model()
    log_model()
    ws.models.promote("credit", 1, alias="champion")
    erin = as_role("erin", "editor")
    with pytest.raises(PermissionDenied, match="protected alias 'champion'.*'approver'"):
        erin.promote("credit", 2, alias="champion")
    assert _champion(ws) == 1
    assert len(_aliases(ws)) == 1

    erin.promote("credit", 2, alias="challenger")
    assert ws.models.get("credit@challenger").version == 2
    assert _aliases(ws)[-1].actor == "erin"
    with pytest.raises(PermissionDenied, match="'editor' or higher"):
        as_role("vic", "viewer").promote("credit", 1, alias="challenger")
    with pytest.raises(ValidationError, match="alias"):
        ws.models.promote("credit", 1, alias="latest")


def test_a_policy_can_protect_more_aliases(ws: Any, log_model: LogModel, as_role: AsRole) -> None:
    log_model()
    ws.models.set_policy("credit", {"aliases": ["staging"]})
    with pytest.raises(PermissionDenied, match="protected alias 'staging'"):
        as_role("erin", "editor").promote("credit", 1, alias="staging")
    with pytest.raises(PermissionDenied, match="protected alias 'champion'"):
        as_role("erin", "editor").promote("credit", 1, alias="champion")  # always protected
    with pytest.raises(PermissionDenied, match="promotion policy"):
        as_role("erin", "editor").set_policy("credit", None)
    assert ws.models.promote("credit", 1, alias="staging")["policy"] is True


# policies are checked when they are set


def test_a_policy_naming_an_unknown_metric_is_refused_when_set(
    ws: Any, log_model: LogModel, holdout: DatasetVersion
) -> None:
    log_model()
    policy = {"evaluation": _evaluation(holdout), "gates": ["roc_auc >= 0.7", "rocauc >= 0.7"]}
    with pytest.raises(ValidationError, match="metric 'rocauc', which does not exist"):
        ws.models.set_policy("credit", policy)
    with pytest.raises(ValidationError, match="metric 'roc_aucc', which does not exist"):
        ws.models.set_policy("credit", {**policy, "gates": ["roc_aucc may drop at most 0.01"]})
    with pytest.raises(ValidationError, match="fairness metric 'parity'"):
        ws.models.set_policy("credit", {**policy, "gates": ["parity[sex] <= 0.1"]})
    assert ws.models.policy("credit") is None


def test_a_fairness_gate_on_a_column_that_is_not_sensitive_is_refused(
    ws: Any, log_model: LogModel, holdout: DatasetVersion
) -> None:
    log_model()
    policy = {
        "evaluation": _evaluation(holdout),
        "gates": ["demographic_parity_difference[age] <= 0.1"],
    }
    with pytest.raises(ValidationError, match="column 'age', which is not one of.*sex"):
        ws.models.set_policy("credit", policy)
    no_sensitive = {**policy, "evaluation": {"data": holdout.ref, "target": TARGET}}
    with pytest.raises(ValidationError, match=r"sensitive columns \(none\)"):
        ws.models.set_policy("credit", no_sensitive)
    assert ws.models.policy("credit") is None


def test_other_policy_mistakes_are_refused_when_set(ws: Any, log_model: LogModel) -> None:
    log_model()
    mistakes = {
        "needs an evaluation": {"gates": ["roc_auc >= 0.8"]},
        "is better higher": {
            "evaluation": {"data": "credit", "target": TARGET},
            "gates": ["roc_auc may rise at most 0.1"],
        },
        "not understood": {"gates": ["roc_auc is high"]},
        "unknown key": {"gate": ["roc_auc >= 0.8"]},
        "not valid YAML": "gates: [roc_auc >= 0.8",
    }
    for message, policy in mistakes.items():
        with pytest.raises(ValidationError, match=message):
            ws.models.set_policy("credit", policy)
    assert ws.models.policy("credit") is None


def test_a_latency_gate_without_evaluation_data_is_refused_when_set(
    ws: Any, log_model: LogModel
) -> None:
    # the gate draws its input rows from the evaluation data: without it, it cannot run
    log_model()
    with pytest.raises(ValidationError, match="needs an evaluation"):
        ws.models.set_policy("credit", {"gates": ["latency p95 <= 50 ms"]})
    assert ws.models.policy("credit") is None


def test_policy_numbers_are_checked_as_numbers() -> None:
    evaluation = {"data": "credit", "target": TARGET}
    for gate in ("roc_auc >= 0.8.1", "latency p95 <= . ms", "roc_auc may drop at most 1..2"):
        with pytest.raises(ValidationError, match="not understood"):
            parse_policy({"evaluation": evaluation, "gates": [gate]})


def _without_text(gates: tuple[Gate, ...]) -> list[Gate]:
    return [replace(gate, text="") for gate in gates]


def test_mapping_gates_parse_the_same_as_their_text() -> None:
    evaluation = {"data": "credit@v1", "target": TARGET, "sensitive": "sex"}
    texts = [
        "roc_auc >= 0.8",
        "log_loss <= 0.5",
        "roc_auc may drop at most 0.01",
        "log_loss may rise at most 0.02",
        "demographic_parity_ratio[sex] >= 0.8",
        "latency p95 <= 50 ms on 20 rows",
        "latency p95 <= 0.000001 ms",
        "data validation passed",
    ]
    mappings = [
        {"metric": "roc_auc", "min": 0.8},
        {"metric": "log_loss", "max": 0.5},
        {"metric": "roc_auc", "max_drop": 0.01},
        {"metric": "log_loss", "max_rise": 0.02},
        {"fairness": "demographic_parity_ratio", "column": "sex", "min": 0.8},
        {"latency_p95_ms": 50, "batch": 20},
        {"latency_p95_ms": 0.000001},  # YAML and Python write it 1e-06
        {"data_validation": True},
    ]
    from_text = parse_policy({"evaluation": evaluation, "gates": texts})
    from_mappings = parse_policy({"evaluation": evaluation, "gates": mappings})
    assert _without_text(from_mappings.gates) == _without_text(from_text.gates)
    assert [g.kind for g in from_text.gates] == [
        "metric",
        "metric",
        "change",
        "change",
        "fairness",
        "latency",
        "latency",
        "data_validation",
    ]
    assert from_text.gates[5].batch == 20
    assert from_text.gates[6].threshold == pytest.approx(1e-6)
    assert from_text.evaluation is not None
    assert from_text.evaluation.sensitive == ("sex",)
    assert parse_policy(from_text.to_dict()) == from_text  # the stored form parses back
    yaml_text = "evaluation: {data: credit, target: default}\ngates: [{latency_p95_ms: 1e-6}]"
    assert load_policy(yaml_text).gates[0].threshold == pytest.approx(1e-6)


# gates


def test_failing_gates_refuse_the_promotion_and_report_every_check(
    ws: Any, log_model: LogModel, holdout: DatasetVersion
) -> None:
    log_model()
    log_model()
    ws.models.promote("credit", 1, alias="champion")
    gates = [
        "roc_auc >= 0.99",
        "accuracy >= 0.5",
        "demographic_parity_difference[sex] <= 0.5",
        "log_loss <= 0.05",
        "latency p95 <= 60000 ms on 20 rows",
        "data validation passed",
    ]
    policy = {"evaluation": _evaluation(holdout), "gates": gates, "require_approval": True}
    assert ws.models.set_policy("credit", policy) is not None

    with pytest.raises(PromotionRefused, match="3 of 7 check") as caught:
        ws.models.promote("credit", 2, alias="champion")
    refused = caught.value
    assert "roc_auc >= 0.99" in refused.message
    assert "log_loss <= 0.05" in refused.message
    assert "accuracy >= 0.5" not in refused.message  # the message lists the failures
    checks = refused.details
    assert [c["gate"] for c in checks] == [*gates, "approval"]
    assert [c["ok"] for c in checks] == [False, True, True, False, True, True, False]
    assert [c["kind"] for c in checks] == [
        "metric",
        "metric",
        "fairness",
        "metric",
        "latency",
        "data_validation",
        "approval",
    ]
    assert 0.5 < checks[0]["value"] < 0.99
    assert checks[0]["detail"].startswith("roc_auc = ")
    assert "no approval requested" in checks[6]["detail"]

    assert _champion(ws) == 1  # nothing moved
    assert len(_aliases(ws)) == 1
    (verdict,) = ws.models.verdicts("credit@v2")
    assert verdict["ok"] is False
    assert verdict["checks"] == checks
    assert (verdict["alias"], verdict["holder"], verdict["data"]) == (
        "champion",
        "credit@v1",
        holdout.ref,
    )
    assert ws.models.describe("credit@v2")["verdicts"] == [verdict]
    (event,) = [e for e in ws.audit.entries() if e.action == "model.verdict"]
    assert (event.entity_id, event.payload) == ("credit@v2", {"alias": "champion", "ok": False})
    # the evaluation the gates ran is stored with the version
    assert [e["data"] for e in ws.models.evaluations("credit@v2")] == [holdout.ref]


def test_a_change_gate_refuses_a_worse_model_and_passes_an_equal_one(
    ws: Any, log_model: LogModel, holdout: DatasetVersion, worse: Any
) -> None:
    first, bad, same = log_model(), log_model(worse), log_model()
    policy = {"evaluation": _evaluation(holdout), "gates": ["roc_auc may drop at most 0.01"]}
    ws.models.set_policy("credit", policy)

    opening = ws.models.promote("credit", first.version, alias="champion")
    assert opening["ok"] is True
    assert opening["checks"][0]["detail"] == "no current champion"

    with pytest.raises(PromotionRefused, match="roc_auc may drop at most 0.01") as caught:
        ws.models.promote("credit", bad.version, alias="champion")
    (check,) = caught.value.details
    assert check["ok"] is False
    champion_auc = ws.models.evaluations(first.ref)[0]["metrics"]["roc_auc"]
    assert check["holder_value"] == pytest.approx(champion_auc)
    assert check["value"] < -0.01
    assert "credit@v1" in check["detail"]
    assert _champion(ws) == first.version

    verdict = ws.models.promote("credit", same.version, alias="champion")
    (check,) = verdict["checks"]
    assert check["ok"] is True
    assert check["value"] == pytest.approx(0.0, abs=1e-12)
    assert verdict["holder"] == first.ref
    assert _champion(ws) == same.version
    assert _aliases(ws)[-1].payload == {
        "alias": "champion",
        "from": "credit@v1",
        "to": "credit@v3",
        "gated": True,
    }
    assert len(ws.models.evaluations(first.ref)) == 1  # the holder's evaluation was reused


def test_a_latency_gate_passes_a_generous_budget_and_fails_a_tiny_one(
    ws: Any, log_model: LogModel, holdout: DatasetVersion
) -> None:
    log_model()
    policy = {"evaluation": _evaluation(holdout), "gates": ["latency p95 <= 60000 ms on 20 rows"]}
    ws.models.set_policy("credit", policy)
    (check,) = ws.models.promote("credit", 1, alias="champion")["checks"]
    assert check["ok"] is True
    assert 0 < check["value"] <= 60000
    assert "p95 predict time on 20 rows" in check["detail"]

    ws.models.set_policy("credit", {**policy, "gates": ["latency p95 <= 0.000001 ms"]})
    with pytest.raises(PromotionRefused, match="latency p95") as caught:
        ws.models.promote("credit", 1, alias="champion")
    (check,) = caught.value.details
    assert check["ok"] is False
    assert check["value"] > 0.000001
    assert ws.models.evaluations("credit@v1") == []  # timing needs no evaluation


def test_a_data_validation_gate_passes_on_clean_data(
    ws: Any, log_model: LogModel, holdout: DatasetVersion, credit_data: DatasetVersion
) -> None:
    log_model()
    policy = {"evaluation": _evaluation(holdout), "gates": ["data validation passed"]}
    ws.models.set_policy("credit", policy)
    verdict = ws.models.promote("credit", 1, alias="champion")
    (check,) = verdict["checks"]
    assert check["ok"] is True
    assert check["datasets"] == [credit_data.ref, holdout.ref]  # training, then evaluation
    assert check["detail"] == "2 dataset version(s) pass"
    assert _champion(ws) == 1


# approvals


def test_an_approval_is_required_and_only_approvers_decide(
    ws: Any, log_model: LogModel, as_role: AsRole
) -> None:
    mv = log_model()
    ws.models.set_policy("credit", {"require_approval": True})
    with pytest.raises(PromotionRefused, match="approval") as caught:
        ws.models.promote("credit", 1, alias="champion")
    assert caught.value.details[0]["detail"].startswith("no approval requested")

    erin = as_role("erin", "editor")
    requested = erin.request_approval(mv.ref, "AUC is up on the holdout")
    assert (requested.action, requested.actor) == ("requested", "erin")
    with pytest.raises(PromotionRefused, match="last step: requested"):
        ws.models.promote("credit", 1, alias="champion")
    with pytest.raises(PermissionDenied, match="approver"):
        erin.approve(mv.ref, "looks good to me")
    with pytest.raises(PermissionDenied):
        as_role("vic", "viewer").request_approval(mv.ref)

    with pytest.raises(ValidationError, match="rejection needs a --comment"):
        ws.models.reject(mv.ref, "  ")
    ws.models.reject(mv.ref, "fairness report missing")
    with pytest.raises(PromotionRefused, match="last step: rejected"):
        ws.models.promote("credit", 1, alias="champion")
    with pytest.raises(NotFound, match="no alias 'champion'"):
        ws.models.get("credit@champion")  # never moved

    approver = as_role("ava", "approver")
    approver.approve(mv.ref, "reviewed")
    verdict = approver.promote("credit", 1, alias="champion")
    assert verdict["ok"] is True
    assert verdict["checks"][0]["detail"].startswith("approved by ava")
    assert _champion(ws) == 1
    steps = ws.models.approvals(mv.ref)
    assert [(s.action, s.actor, s.comment) for s in steps] == [
        ("requested", "erin", "AUC is up on the holdout"),
        ("rejected", "tester", "fairness report missing"),
        ("approved", "ava", "reviewed"),
    ]
    assert [v["ok"] for v in ws.models.verdicts(mv.ref)] == [False, False, False, True]
    actions = [e.action for e in ws.audit.entries() if e.action.startswith("model.approval")]
    assert actions == [
        "model.approval.requested",
        "model.approval.rejected",
        "model.approval.approved",
    ]


# evaluations


def test_evaluations_are_stored_and_reused(
    ws: Any, log_model: LogModel, holdout: DatasetVersion
) -> None:
    mv = log_model()
    first = ws.models.evaluate(mv.ref, holdout.ref, target=TARGET, sensitive=["sex"])
    assert (first["model"], first["data"], first["rows"]) == (mv.ref, holdout.ref, 600)
    assert 0.6 < first["metrics"]["roc_auc"] < 1
    assert "demographic_parity_difference" in first["fairness"]["sex"]

    again = ws.models.evaluate(mv.ref, "credit-holdout", target=TARGET, sensitive=["sex"])
    assert again == first
    assert again["at"] == first["at"]  # the stored result, not a new computation
    assert ws.models.evaluations(mv.ref) == [first]
    evaluated = [e for e in ws.audit.entries() if e.action == "model.evaluate"]
    assert len(evaluated) == 1

    # a gated promotion on the same data, target and sensitive columns reuses it too
    policy = {"evaluation": _evaluation(holdout), "gates": ["roc_auc >= 0.6"]}
    ws.models.set_policy("credit", policy)
    ws.models.promote("credit", mv.version, alias="champion")
    assert ws.models.evaluations(mv.ref) == [first]
    assert ws.models.describe(mv.ref)["evaluations"] == [first]
