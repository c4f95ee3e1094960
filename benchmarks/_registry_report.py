"""The figures, goals and tables of ``registry_vs_mlflow.py``."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from _common import markdown_table
from _registry_measure import PENDING, summary
from _scenarios import OPS
from _tracking_base import ms

LOAD = "fresh-process load"
SIDES = {
    "bare": "bare",
    "shipyard": "shipyard",
    "mlflow": "MLflow",
    "mlflow_raw": "MLflow raw",
    "bare_numpy": "bare numpy",
}
OPTIONAL = ("mlflow_raw", "bare_numpy")  # reference columns, "-" where not measured
# (measure, numerator, denominator, op, target): the goals, on medians
GOALS = [
    (LOAD, "shipyard", "bare", "<=", 1.3),
    (LOAD, "mlflow", "shipyard", ">=", 3.0),
    ("predict 1 row", "shipyard", "bare", "<=", 2.0),
    ("predict 1 row", "mlflow", "shipyard", ">=", 10.0),
    ("predict 10,000 rows", "shipyard", "bare", "<=", 1.2),
    ("predict 10,000 rows", "mlflow", "shipyard", ">=", 10.0),
]
REFERENCES = [  # ratios printed for context only
    (LOAD, "mlflow", "bare"),
    ("predict 1 row", "bare", "bare_numpy"),
    ("predict 10,000 rows", "bare", "bare_numpy"),
    ("predict 1 row", "mlflow", "mlflow_raw"),
    ("predict 10,000 rows", "mlflow", "mlflow_raw"),
]


@dataclass(frozen=True)
class Figures:
    """Summaries (seconds) of every side, by measure: the fresh load, then each frame."""

    by_measure: dict[str, dict[str, dict[str, float | int]]]

    @classmethod
    def build(
        cls,
        load: Mapping[str, list[float]],
        predict: Mapping[str, Mapping[str, list[float]]],
    ) -> Figures:
        """From the load samples by side and the predict samples by frame, then side."""
        measures = {LOAD: {side: summary(v) for side, v in load.items()}}
        for frame, by_side in predict.items():
            measures[f"predict {frame}"] = {side: summary(v) for side, v in by_side.items()}
        return cls(measures)

    def median(self, measure: str, side: str) -> float | None:
        """The median of ``side`` on ``measure``; None when it was not measured."""
        found = self.by_measure[measure].get(side)
        return None if found is None else float(found["median"])

    def ratio(self, measure: str, top: str, bottom: str) -> float | None:
        """median(top) / median(bottom); None when either is missing."""
        a, b = self.median(measure, top), self.median(measure, bottom)
        return None if a is None or b is None else a / b

    def to_json(self) -> dict[str, Any]:
        """The summaries as JSON."""
        return self.by_measure


def label(top: str, bottom: str) -> str:
    """A ratio's name, as in ``shipyard / bare``."""
    return f"{SIDES[top]} / {SIDES[bottom]}"


def goal_lines(figures: Figures) -> list[dict[str, Any]]:
    """Every goal with its value and PASS, MISS or pending."""
    lines = []
    for measure, top, bottom, op, target in GOALS:
        value = figures.ratio(measure, top, bottom)
        verdict = "pending" if value is None else ("PASS" if OPS[op](value, target) else "MISS")
        goal = f"{measure}: {label(top, bottom)}"
        lines.append({"goal": goal, "value": value, "op": op, "target": target, "verdict": verdict})
    return lines


def duration(seconds: float | None) -> str:
    """A duration for the tables: seconds from 1 s up, else milliseconds."""
    if seconds is None:
        return PENDING
    return f"{seconds:.2f} s" if seconds >= 1 else ms(seconds)


def times(value: float | None, digits: int = 2) -> str:
    """A ratio for the tables."""
    return "-" if value is None else f"{value:.{digits}f}x"


def raw_table(figures: Figures) -> str:
    """Medians and tails of every side, with the ratios ours/bare and MLflow/ours."""
    rows = []
    for measure, by_side in figures.by_measure.items():
        tail = "p90" if measure == LOAD else "p95"
        for stat in ("median", tail):
            cells = []
            for side in SIDES:
                found = by_side.get(side)
                shown = duration(float(found[stat])) if found else None
                cells.append(shown or ("-" if side in OPTIONAL else PENDING))
            ratios = [figures.ratio(measure, "shipyard", "bare")]
            ratios.append(figures.ratio(measure, "mlflow", "shipyard"))
            if stat != "median":
                ratios = [None, None]
            rows.append([f"{measure}, {stat}", *cells, *(times(r) for r in ratios)])
    headers = ["measure", *SIDES.values(), "ours/bare", "MLflow/ours"]
    return markdown_table(rows, headers)


def goals_table(lines: list[dict[str, Any]], figures: Figures) -> str:
    """One row per goal, then the reference ratios."""
    rows = []
    for line in lines:
        value = PENDING if line["value"] is None else times(line["value"], 3)
        target = f"{line['op']} {line['target']:g}x"
        rows.append([line["goal"], value, target, line["verdict"]])
    for measure, top, bottom in REFERENCES:
        ratio = times(figures.ratio(measure, top, bottom))
        rows.append([f"{measure}: {label(top, bottom)}", ratio, "reference", "-"])
    return markdown_table(rows, ["goal", "ratio of medians", "target", "verdict"])


def print_report(figures: Figures, lines: list[dict[str, Any]], raw: Mapping[str, Any]) -> None:
    """Both tables, the sample counts, and how well the predictions agree."""
    counts = ", ".join(f"{side} {len(v)}" for side, v in raw["load"].items())
    print(f"\n### Raw figures (fresh-process loads: {counts})\n")
    print(raw_table(figures))
    print("\n- for reference: MLflow raw, the sklearn model inside MLflow's pyfunc;")
    print("  bare numpy, the bare model on the frame's numpy array (no feature-name checks).")
    for what, share in raw["agreement"].items():
        print(f"- predictions {what}: {share:.2%} equal")
    pending = raw["setup"]["shipyard"].get("pending")
    if pending:
        print(f"- shipyard: {PENDING}: {pending}")
    print("\n### Goals (ratios of medians from this run)\n")
    print(goals_table(lines, figures))
