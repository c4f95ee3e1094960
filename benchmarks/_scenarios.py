"""What the scenario benchmarks share: a goal line, a scenario, and how both are printed.

A scenario holds its samples, its table lines (``Check``) and its notes; ``report`` prints
each scenario's markdown table. The peer tool (DVC, MLflow) gets its own column, named by
the caller.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

from _common import markdown_table, summarize

OPS: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
}


@dataclass(frozen=True)
class Check:
    """One line of a scenario's table: a goal (``op`` set) or a figure for reference."""

    goal: str
    value: float
    op: str | None
    target: float
    unit: str  # "x" for ratios, else "s", "ms", "MB", or "" for a count
    shipyard: str = "-"
    peer: str = "-"
    limit: str = "-"

    @property
    def met(self) -> bool | None:
        """Whether the value satisfies the target; None for a reference line."""
        return None if self.op is None else OPS[self.op](self.value, self.target)


@dataclass
class Scenario:
    """One scenario's samples, table lines, remarks and extra JSON."""

    title: str
    samples: dict[str, list[float]]
    checks: list[Check] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def median(self, label: str) -> float:
        """The median of ``label``'s samples."""
        return float(summarize(self.samples[label])["median"])


def verdict(check: Check) -> str:
    """met, MISSED, or - for a reference line."""
    if check.met is None:
        return "-"
    return "met" if check.met else "MISSED"


def table(scenario: Scenario, peer: str, first: str = "measure") -> str:
    """The markdown table of one scenario; ``peer`` and ``first`` name two columns."""
    rows = []
    for check in scenario.checks:
        ratio = f"{check.value:.2f}x" if check.unit == "x" else "-"
        unit = "x" if check.unit == "x" else f" {check.unit}".rstrip()
        target = "-" if check.op is None else f"{check.op} {check.target:g}{unit}"
        row = [check.goal, check.shipyard, check.peer, check.limit, ratio, target]
        rows.append([*row, verdict(check)])
    headers = [first, "shipyard", peer, "limit", "ratio", "target", "verdict"]
    return markdown_table(rows, headers)


def report(
    scenarios: list[Scenario],
    peer: str,
    *,
    first: str = "measure",
    counted: str = "samples",
    hidden: Collection[str] = (),
) -> None:
    """Print every scenario's table, its sample counts (but ``hidden``) and its notes."""
    for scenario in scenarios:
        shown = {k: v for k, v in scenario.samples.items() if k not in hidden}
        runs = ", ".join(f"{k} {len(v)}" for k, v in shown.items())
        print(f"\n### {scenario.title} (medians; {counted}: {runs})\n")
        print(table(scenario, peer, first))
        for note in scenario.notes:
            print(f"- {note}")
