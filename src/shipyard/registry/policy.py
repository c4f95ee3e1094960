"""Promotion policies: the checks a model version must pass before an alias may point at it.

A policy is written in YAML (or as the same structure in Python)::

    aliases: [champion]            # the aliases it guards; they need the approver role
    evaluation: {data: credit@latest, target: default, sensitive: [sex]}
    gates:
      - roc_auc >= 0.80                          # a value threshold
      - roc_auc may drop at most 0.01            # against the alias's current holder
      - demographic_parity_difference[sex] <= 0.1   # fairness on a sensitive column
      - latency p95 <= 50 ms                     # predict on a batch of 100 rows
      - data validation passed                   # the training and evaluation data
    require_approval: true

Gates may also be mappings (``{metric: roc_auc, min: 0.8}``, ``{metric: roc_auc,
max_drop: 0.01}``, ``{fairness: demographic_parity_ratio, column: sex, min: 0.8}``,
``{latency_p95_ms: 50, batch: 100}``, ``{data_validation: true}``). Every name is checked
when the policy is loaded, so a typo fails at once rather than at promotion time.
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ValidationError
from shipyard.registry.refs import check_alias

OPERATORS = (">=", "<=", ">", "<")
# a plain or scientific number, as Python and YAML write floats (0.01, 5, 1e-06, 1.5e+3)
_NUMBER = r"(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_COMPARE = re.compile(rf"^\s*([a-z_0-9]+)(?:\[([^\]]+)\])?\s*(>=|<=|>|<)\s*(-?{_NUMBER})\s*$")
_CHANGE = re.compile(
    rf"^\s*([a-z_0-9]+)\s+may\s+(drop|rise)\s+(?:by\s+)?at\s+most\s+({_NUMBER})\s*$"
)
_LATENCY = re.compile(
    rf"^\s*latency\s+p95\s*(?:<=|<)\s*({_NUMBER})\s*ms(?:\s+on\s+(\d+)\s+rows)?\s*$"
)
_VALIDATION = re.compile(r"^\s*data\s+validation\s+passe[sd]\s*$")


@dataclass(frozen=True)
class Gate:
    """One check: ``kind`` is metric, change, fairness, latency or data_validation."""

    kind: str
    text: str
    metric: str | None = None
    op: str | None = None
    threshold: float | None = None
    column: str | None = None
    batch: int = 100


@dataclass(frozen=True)
class EvaluationSpec:
    """The labelled data every gated promotion is evaluated on."""

    data: str
    target: str
    sensitive: tuple[str, ...] = ()


@dataclass(frozen=True)
class Policy:
    """The gates and approvals that guard some aliases of one registered model."""

    aliases: tuple[str, ...] = ("champion",)
    evaluation: EvaluationSpec | None = None
    gates: tuple[Gate, ...] = ()
    require_approval: bool = False
    source: dict[str, Any] = field(default_factory=dict, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """The document stored with the registered model (it parses back to this policy)."""
        return {
            "aliases": list(self.aliases),
            "evaluation": None if self.evaluation is None else asdict(self.evaluation),
            "gates": [gate.text for gate in self.gates],
            "require_approval": self.require_approval,
        }


def load_policy(source: Policy | dict[str, Any] | str | Path) -> Policy:
    """A policy from a Policy, a mapping, a YAML file path or YAML text."""
    if isinstance(source, Policy):
        return source
    if isinstance(source, str | Path):
        source = _read_yaml(source)
    if not isinstance(source, dict):
        raise ValidationError("a policy must be a mapping with aliases, evaluation and gates")
    return parse_policy(source)


def parse_policy(document: dict[str, Any]) -> Policy:
    """Check and build a policy from its document form."""
    known = {"aliases", "evaluation", "gates", "require_approval"}
    unknown = sorted(set(document) - known)
    if unknown:
        raise ValidationError(
            f"policy has unknown key(s) {', '.join(unknown)}; it takes {', '.join(sorted(known))}"
        )
    aliases = document.get("aliases", ["champion"])
    if isinstance(aliases, str):
        aliases = [aliases]
    evaluation = _evaluation(document.get("evaluation"))
    gates = tuple(_gate(item, index) for index, item in enumerate(document.get("gates") or [], 1))
    for gate in gates:
        _check_gate(gate, evaluation)
    return Policy(
        aliases=tuple(check_alias(a) for a in aliases),
        evaluation=evaluation,
        gates=gates,
        require_approval=bool(document.get("require_approval", False)),
        source=document,
    )


def _read_yaml(source: str | Path) -> Any:
    import yaml

    text = str(source)
    path = Path(text)
    try:
        if "\n" not in text and path.suffix in (".yaml", ".yml", ".json"):
            text = path.read_text(encoding="utf-8")
        return yaml.safe_load(text)
    except OSError as exc:
        raise ValidationError(f"cannot read policy file {str(source)!r}: {exc.strerror}") from exc
    except yaml.YAMLError as exc:
        raise ValidationError(f"policy is not valid YAML: {exc}".splitlines()[0]) from exc


def _evaluation(spec: Any) -> EvaluationSpec | None:
    if spec is None:
        return None
    if not isinstance(spec, dict) or not spec.get("data") or not spec.get("target"):
        raise ValidationError(
            "policy evaluation must name its data and target, e.g. "
            "{data: credit@latest, target: default, sensitive: [sex]}"
        )
    sensitive = spec.get("sensitive") or []
    if isinstance(sensitive, str):
        sensitive = [sensitive]
    return EvaluationSpec(str(spec["data"]), str(spec["target"]), tuple(map(str, sensitive)))


def _gate(item: Any, index: int) -> Gate:
    if isinstance(item, str):
        return _gate_from_text(item, index)
    if isinstance(item, dict):
        return _gate_from_text(_text_of(item, index), index)
    raise ValidationError(f"policy gate {index} must be a text or a mapping, got {item!r}")


def _gate_from_text(text: str, index: int) -> Gate:
    if match := _COMPARE.match(text):
        metric, column, op, number = match.groups()
        kind = "fairness" if column else "metric"
        return Gate(kind, text.strip(), metric, op, float(number), column)
    if match := _CHANGE.match(text):
        metric, direction, number = match.groups()
        op = "drop" if direction == "drop" else "rise"
        return Gate("change", text.strip(), metric, op, float(number))
    if match := _LATENCY.match(text):
        batch = int(match.group(2) or 100)
        return Gate(
            "latency", text.strip(), "latency_p95_ms", "<=", float(match.group(1)), None, batch
        )
    if _VALIDATION.match(text):
        return Gate("data_validation", text.strip())
    raise ValidationError(
        f"policy gate {index} ({text!r}) is not understood; write e.g. 'roc_auc >= 0.8', "
        "'roc_auc may drop at most 0.01', 'demographic_parity_difference[sex] <= 0.1', "
        "'latency p95 <= 50 ms' or 'data validation passed'"
    )


def _text_of(item: dict[str, Any], index: int) -> str:
    """The text form of a gate written as a mapping."""
    if "metric" in item or "fairness" in item:
        metric = item.get("metric") or item.get("fairness")
        column = f"[{item['column']}]" if "column" in item else ""
        for key, text in (("min", ">="), ("max", "<=")):
            if key in item:
                return f"{metric}{column} {text} {item[key]}"
        for key, word in (("max_drop", "drop"), ("max_rise", "rise")):
            if key in item:
                return f"{metric} may {word} at most {item[key]}"
    if "latency_p95_ms" in item:
        return f"latency p95 <= {item['latency_p95_ms']} ms on {item.get('batch', 100)} rows"
    if item.get("data_validation") is True:
        return "data validation passed"
    raise ValidationError(f"policy gate {index} ({item!r}) is not understood")


def _check_gate(gate: Gate, evaluation: EvaluationSpec | None) -> None:
    from shipyard.registry.evaluation import (
        CLASSIFICATION_METRICS,
        FAIRNESS_METRICS,
        REGRESSION_METRICS,
        higher_is_better,
    )

    # a latency gate times predictions on rows drawn from the evaluation data
    if gate.kind in ("metric", "change", "fairness", "latency") and evaluation is None:
        raise ValidationError(
            f"policy gate {gate.text!r} needs an evaluation: add "
            "evaluation: {data: DATASET_REF, target: COLUMN} to the policy"
        )
    if gate.kind in ("metric", "change"):
        known = CLASSIFICATION_METRICS + REGRESSION_METRICS
        if gate.metric not in known:
            raise ValidationError(
                f"policy gate {gate.text!r} names metric {gate.metric!r}, which does not exist; "
                f"known metrics: {', '.join(known)}"
            )
    if gate.kind == "change" and (gate.op == "drop") != higher_is_better(str(gate.metric)):
        better = "higher" if higher_is_better(str(gate.metric)) else "lower"
        raise ValidationError(
            f"policy gate {gate.text!r}: {gate.metric} is better {better}, so write "
            f"'{gate.metric} may {'drop' if better == 'higher' else 'rise'} at most N'"
        )
    if gate.kind == "fairness":
        if gate.metric not in FAIRNESS_METRICS:
            raise ValidationError(
                f"policy gate {gate.text!r} names fairness metric {gate.metric!r}, which does "
                f"not exist; known: {', '.join(FAIRNESS_METRICS)}"
            )
        assert evaluation is not None
        if gate.column not in evaluation.sensitive:
            raise ValidationError(
                f"policy gate {gate.text!r} is about column {gate.column!r}, which is not one of "
                f"the evaluation's sensitive columns ({', '.join(evaluation.sensitive) or 'none'})"
            )
