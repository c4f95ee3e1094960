"""The quickstart: the lifecycle that exists so far, run end to end on generated data.

Each stage of shipyard adds its step here, so a newcomer always sees the whole loop.
Steps run in order; the first that fails stops the run and is reported as not ok.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from shipyard.errors import ConfigError, ShipyardError

if TYPE_CHECKING:
    from shipyard.entities import DatasetVersion, ModelVersion
    from shipyard.workspace import Workspace

DEFAULT_DIR = "shipyard-quickstart"
MARKER = ".shipyard-quickstart"
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
    root = Path(directory).expanduser().resolve()
    report = QuickstartReport(home=str(root / ".shipyard"))
    run = _Runner(report, on_step)
    with suppress(ShipyardError):  # the failed step is in the report
        _stages(run, root, rows)
    return report


def _stages(run: _Runner, root: Path, rows: int) -> None:
    from shipyard.workspace import init_workspace, open_local

    with run.step("create workspace") as detail:
        _prepare(root)
        home, _ = init_workspace(root)
        detail.append(f"{home}")
    with open_local(home) as ws:
        with run.step("generate demo data") as detail:
            path = _write_demo_data(root, rows, snapshot=1)
            detail.append(f"{rows:,} credit applications (seed 7) -> {path}")
        with run.step("version data") as detail:
            first = ws.data.add("credit", path, message="May snapshot")
            detail.append(_describe(first))
        with run.step("version a later snapshot") as detail:
            _write_demo_data(root, rows, snapshot=2)
            second = ws.data.add("credit", path, message="June snapshot")
            moved = ws.data.diff(first.ref, second.ref)["table"]["columns"]
            names = ", ".join(column["column"] for column in moved)
            detail.append(f"{second.ref}; statistics moved in {len(moved)} columns ({names})")
        with run.step("validate the new snapshot") as detail:
            report = ws.data.validate(second.ref)
            failed = sorted({f"{f.column} {f.rule}" for f in report.failures})
            outcome = "passes" if report.ok else f"breaks {len(failed)}: {', '.join(failed)}"
            detail.append(f"{second.ref} against rules inferred from {first.ref}: {outcome}")
        with run.step("check the new snapshot for drift") as detail:
            detail.append(_drift(ws, first, second))
        with run.step("train, track and register models") as detail:
            from shipyard.examples.training import EXPERIMENT, train_sweep

            results, holdout = train_sweep(ws, first)
            best = max(results, key=lambda r: r.auc)
            run.report.models = [r.model.ref for r in results]
            detail.append(
                f"{len(results)} runs in experiment {EXPERIMENT!r} on {first.ref}, each logging "
                f"a model; best test AUC {best.auc:.3f} (C={best.C:g}, {best.model.ref})"
            )
        _promotion_stages(run, ws, best.model, holdout, root)
        with run.step("serve the champion and watch its traffic") as detail:
            from shipyard.examples.serving import serve_and_watch

            detail.append(serve_and_watch(ws, first, second))
        with run.step("retrain with a pipeline") as detail:
            detail.append(_retrain(ws, best.C))
        with run.step("verify audit trail") as detail:
            verdict = ws.audit.verify()
            if not verdict.ok:
                raise ShipyardError(
                    f"audit chain broken at entry {verdict.first_bad_seq}: {verdict.reason}"
                )
            detail.append(f"{verdict.entries} entries, hash chain intact")


def _promotion_stages(
    run: _Runner, ws: Workspace, model: ModelVersion, holdout: DatasetVersion, root: Path
) -> None:
    from shipyard.examples import promotion

    with run.step("evaluate with fairness") as detail:
        result = promotion.evaluate(ws, model, holdout)
        parity = result["fairness"]["sex"]["demographic_parity_difference"]
        detail.append(
            f"{model.ref} on {holdout.ref}: AUC {result['metrics']['roc_auc']:.3f}, "
            f"demographic parity difference over sex {parity:.3f}"
        )
    with run.step("promote through the policy") as detail:
        verdict = promotion.promote_champion(ws, model, holdout)
        detail.append(
            f"{model.ref} is champion: {len(verdict['checks'])} checks passed "
            "(AUC, change vs champion, fairness, latency, data validation, approval)"
        )
    with run.step("write the model card") as detail:
        from shipyard.registry.card import card

        path = root / "model-card.html"
        path.write_text(card(ws.models, f"{model.name}@champion", format="html"), "utf-8")
        detail.append(f"{path} (data, metrics, fairness per group, verdict, lineage)")


def _drift(ws: Workspace, first: DatasetVersion, second: DatasetVersion) -> str:
    """Drift of the model's features from one snapshot to the next."""
    from shipyard.examples.training import feature_columns
    from shipyard.monitoring.drift import drift_report

    before, after = ws.data.load(first.ref), ws.data.load(second.ref)
    numeric, categorical = feature_columns(before)
    report = drift_report(before, after, columns=numeric + categorical)
    drifted = [c.column for c in report.columns if c.drifted]
    verdict = "dataset drift" if report.dataset_drift else "no dataset drift"
    return (
        f"{first.ref} -> {second.ref}: {len(drifted)} of {len(report.columns)} features "
        f"drifted ({', '.join(drifted) or 'none'}); {verdict}"
    )


def _retrain(ws: Workspace, C: float) -> str:
    """Run the retraining pipeline on the newest snapshot, then again: all cached."""
    from shipyard.examples.retraining import credit_retraining

    params = {"home": str(ws.home), "C": C}
    first = ws.pipelines.run(credit_retraining, params)
    again = ws.pipelines.run(credit_retraining, params)
    if first.error or again.error:
        raise ShipyardError(first.error or again.error or "")
    auc = ws.pipelines.output(first, "score")
    return (
        f"{len(first.steps)} steps on credit@latest (test AUC {auc:.3f}); "
        f"run again: {again.cached} of {len(again.steps)} cached"
    )


def _prepare(root: Path) -> None:
    """Start from an empty folder: wipe an earlier quickstart, refuse anything else."""
    if root.exists() and not root.is_dir():
        raise ConfigError(f"cannot run the quickstart in {str(root)!r}: it is a file, not a folder")
    if (root / MARKER).is_file():
        shutil.rmtree(root)
    elif root.is_dir() and any(root.iterdir()):
        raise ConfigError(
            f"{str(root)!r} is not empty and holds no earlier quickstart; "
            "pass --dir with a new folder"
        )
    root.mkdir(parents=True, exist_ok=True)
    (root / MARKER).write_text("made by `shipyard quickstart`; rerunning it wipes this folder\n")


def _describe(version: DatasetVersion) -> str:
    schema = version.schema or {}
    pii = ", ".join(f"{p['column']} ({p['kind']})" for p in version.pii) or "none"
    return (
        f"{version.ref}: {schema.get('rows', 0):,} rows x {len(schema.get('columns', []))} "
        f"columns, {version.digest[:12]}; personal data: {pii}"
    )


def _write_demo_data(root: Path, rows: int, *, snapshot: int) -> Path:
    from shipyard.examples.credit import make_credit_table

    path = root / DATA_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".csv.tmp")
    make_credit_table(rows, seed=7, snapshot=snapshot).to_csv(tmp, index=False)
    tmp.replace(path)
    return path
