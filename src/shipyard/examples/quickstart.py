"""The quickstart: the lifecycle that exists so far, run end to end on generated data.

Each stage of shipyard adds its step here, so a newcomer always sees the whole loop.
Steps run in order; the first that fails stops the run and is reported as not ok.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from shipyard.errors import ShipyardError

DEFAULT_DIR = "shipyard-quickstart"
DATA_FILE = Path("data") / "credit.csv"


@dataclass
class Step:
    """One stage of the quickstart and how it went."""

    name: str
    ok: bool
    detail: str
    seconds: float


@dataclass
class QuickstartReport:
    """Everything the quickstart did, in the shape of ``shipyard quickstart --json``."""

    home: str
    steps: list[Step] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    ui_url: str | None = None

    @property
    def ok(self) -> bool:
        """True when every step succeeded."""
        return all(step.ok for step in self.steps)

    def to_dict(self) -> dict[str, Any]:
        """The JSON document the CLI prints."""
        return {**asdict(self), "ok": self.ok}


class _Runner:
    def __init__(self, report: QuickstartReport, on_step: Callable[[Step], None] | None) -> None:
        self.report = report
        self.on_step = on_step

    @contextmanager
    def step(self, name: str) -> Iterator[list[str]]:
        detail: list[str] = []
        started = time.perf_counter()
        try:
            yield detail
        except ShipyardError as exc:
            self._finish(Step(name, False, exc.message, time.perf_counter() - started))
            raise
        self._finish(Step(name, True, " ".join(detail), time.perf_counter() - started))

    def _finish(self, step: Step) -> None:
        self.report.steps.append(step)
        if self.on_step:
            self.on_step(step)


def run_quickstart(
    directory: str | Path = DEFAULT_DIR,
    *,
    rows: int = 20_000,
    on_step: Callable[[Step], None] | None = None,
) -> QuickstartReport:
    """Run every stage on fresh demo data in ``directory``; never raises ShipyardError."""
    from shipyard.workspace import connect, init_workspace

    root = Path(directory).expanduser().resolve()
    report = QuickstartReport(home=str(root / ".shipyard"))
    run = _Runner(report, on_step)
    try:
        with run.step("create workspace") as detail:
            home, created = init_workspace(root)
            detail.append(f"{'created' if created else 'reusing'} {home}")
        with run.step("generate demo data") as detail:
            path = _write_demo_data(root, rows)
            detail.append(f"{rows:,} credit applications (seed 7) -> {path}")
        with connect(home) as ws, run.step("verify audit trail") as detail:
            verdict = ws.audit.verify()
            if not verdict.ok:
                raise ShipyardError(
                    f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.reason}"
                )
            detail.append(f"{verdict.entries} entries, hash chain intact")
    except ShipyardError:
        pass
    return report


def _write_demo_data(root: Path, rows: int) -> Path:
    from shipyard.examples.credit import make_credit_table

    path = root / DATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    make_credit_table(rows, seed=7).to_csv(tmp, index=False)
    tmp.replace(path)
    return path
