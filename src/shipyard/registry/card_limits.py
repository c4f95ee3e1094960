"""The limitations a model card states, each derived from a stored fact it names.

Thresholds: a group with fewer than ``SMALL_GROUP`` evaluation rows has unreliable
metrics; a parity difference above ``PARITY_DIFFERENCE`` or a parity ratio below
``PARITY_RATIO`` is reported.
"""

from __future__ import annotations

from typing import Any

SMALL_GROUP = 30
PARITY_DIFFERENCE = 0.1
PARITY_RATIO = 0.8
NOT_PARITY = ("by_group", "parity_skipped")


def limitations(facts: dict[str, Any]) -> list[str]:
    """What a model card must warn about, each derived from a stored fact."""
    found: list[str] = []
    if not facts.get("safe", True):
        found.append(
            f"It is stored as {facts.get('flavor')}, a format that runs code when loaded: "
            f"load it (trust=True) only if you trust {facts.get('author')}, who logged it."
        )
    found += _lineage_limits(facts)
    evaluations = facts.get("evaluations") or []
    if not evaluations:
        found.append("No evaluation is stored, so its quality and fairness are unknown.")
    trained_on = {d.get("ref") for d in (facts.get("lineage") or {}).get("datasets") or []}
    for result in evaluations:
        found += _evaluation_limits(result, trained_on)
    return found


def _lineage_limits(facts: dict[str, Any]) -> list[str]:
    lineage = facts.get("lineage") or {}
    if lineage.get("run") is None:
        return ["No training run is recorded, so its training data and code are unknown."]
    found: list[str] = []
    inputs = {column.get("name") for column in (facts.get("signature") or {}).get("inputs", [])}
    datasets = lineage.get("datasets") or []
    if not datasets:
        found.append("The training run declared no input dataset, so the training data is unknown.")
    for dataset in datasets:
        pii = list(dict.fromkeys(dataset.get("pii") or []))
        if pii:
            used = [c for c in pii if c in inputs]
            use = f"takes {', '.join(used)} as input" if used else "does not take it as input"
            found.append(
                f"The training data {dataset.get('ref')} holds personal data "
                f"({', '.join(pii)}); the model {use}."
            )
    code = lineage.get("code")
    if not code:
        found.append("The training run recorded no code version (it ran outside git).")
    elif code.get("dirty"):
        found.append(
            f"It was trained from code with uncommitted changes on commit "
            f"{str(code.get('commit'))[:12]}; the commit alone does not reproduce it."
        )
    return found


def _evaluation_limits(result: dict[str, Any], trained_on: set[Any]) -> list[str]:
    data = result.get("data")
    found: list[str] = []
    if data in trained_on:
        found.append(
            f"It was evaluated on {data}, which its training run also read: "
            "the metrics may be optimistic."
        )
    fairness = result.get("fairness") or {}
    if not fairness:
        found.append(f"The evaluation on {data} covered no sensitive column (no fairness report).")
    for column, report in fairness.items():
        for group, stats in (report.get("by_group") or {}).items():
            count = stats.get("count")
            if isinstance(count, int) and count < SMALL_GROUP:
                found.append(
                    f"Group {group!r} of {column} has only {count} rows in {data} "
                    f"(fewer than {SMALL_GROUP}): its metrics are unreliable."
                )
        found += _parity_limits(column, report, data)
    return found


def _parity_limits(column: str, report: dict[str, Any], data: Any) -> list[str]:
    found: list[str] = []
    if report.get("parity_skipped"):
        found.append(f"No parity metric over {column}: {report['parity_skipped']}.")
    for name, value in report.items():
        if name in NOT_PARITY or not isinstance(value, int | float):
            continue
        if name.endswith("_difference") and value > PARITY_DIFFERENCE:
            limit = f"above {PARITY_DIFFERENCE}"
        elif name.endswith("_ratio") and value < PARITY_RATIO:
            limit = f"below {PARITY_RATIO}"
        else:
            continue
        found.append(f"{name} over {column} is {value:.4g} on {data} ({limit}).")
    return found
