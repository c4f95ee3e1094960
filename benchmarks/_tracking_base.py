"""Constants and small helpers shared by the modules of ``tracking_vs_mlflow.py``."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from _common import BENCH_DIR
from _scenarios import Check

NAME = "tracking_vs_mlflow"
ROOT = BENCH_DIR / NAME
MLFLOW_PINNED = ["mlflow==3.17.*"]
MLFLOW_FALLBACK = ["mlflow>=3,<4"]
EXPERIMENT = "bench"
HISTORY_EXPERIMENT = "history"
FILTER = "metrics.m > 0.5"
THRESHOLD = 0.5
ORDER_BY = {"shipyard": "metrics.m desc", "mlflow": "metrics.m DESC"}
LIMIT = 100
PARAMS = 5
API_RUNS = 3  # created through each API; the rest are bulk-inserted with sqlite3
API_VALUES = (0.99951, 0.9995, 0.2)  # two of them rank in the top 100, one fails the filter


class Broken(RuntimeError):
    """A worker succeeded but gave a wrong answer (or set-up went wrong): the run is void."""


def reference(what: str, ratio: float, shipyard: str, mlflow: str) -> Check:
    """A line for reference: the ratio of two figures, with no target."""
    return Check(f"{what} (reference)", ratio, None, 0, "x", shipyard, mlflow)


def sqlite_uri(db: Path) -> str:
    """MLflow's tracking URI for its SQLite store ``db``."""
    return f"sqlite:///{db}"


def shipyard_db(home: Path) -> Path:
    """The SQLite file of the workspace in ``home``."""
    return home / ".shipyard" / "shipyard.db"


def params_dict() -> dict[str, str]:
    """The params every run logs."""
    return {f"p{i}": str(i) for i in range(PARAMS)}


def new_workspace(home: Path) -> None:
    """A fresh shipyard workspace in ``home``."""
    import shipyard as sy

    home.mkdir(parents=True)
    sy.init_workspace(home)
    if not shipyard_db(home).is_file():
        raise Broken(f"init_workspace made no {shipyard_db(home)}")


@contextmanager
def sqlite(db: Path) -> Iterator[sqlite3.Connection]:
    """A plain sqlite3 connection to ``db``, closed afterwards."""
    con = sqlite3.connect(db)
    try:
        yield con
    finally:
        con.close()


# --- checking what was written ------------------------------------------------------------

COUNTS = {
    "shipyard": """
        SELECT r.id, r.status,
          (SELECT COUNT(*) FROM run_metrics x WHERE x.run_id = r.id),
          (SELECT COUNT(DISTINCT step) FROM run_metrics x WHERE x.run_id = r.id),
          (SELECT COUNT(*) FROM run_params x WHERE x.run_id = r.id)
        FROM runs r WHERE r.id IN ({marks})""",
    "mlflow": """
        SELECT r.run_uuid, r.status,
          (SELECT COUNT(*) FROM metrics x WHERE x.run_uuid = r.run_uuid),
          (SELECT COUNT(DISTINCT step) FROM metrics x WHERE x.run_uuid = r.run_uuid),
          (SELECT COUNT(*) FROM params x WHERE x.run_uuid = r.run_uuid)
        FROM runs r WHERE r.run_uuid IN ({marks})""",
}
FINISHED = {"shipyard": "finished", "mlflow": "FINISHED"}


def counts(side: str, db: Path, ids: Sequence[str]) -> dict[str, tuple[str, int, int, int]]:
    """Each run's status, stored points, distinct steps and params, read with sqlite3."""
    query = COUNTS[side].format(marks=", ".join("?" * len(ids)))
    with sqlite(db) as con:
        return {row[0]: (row[1], row[2], row[3], row[4]) for row in con.execute(query, ids)}


def verify_runs(side: str, db: Path, ids: Sequence[str], points: int, params: int) -> None:
    """Stop the run unless every run finished with exactly its points and params."""
    found = counts(side, db, ids)
    wanted = (FINISHED[side], points, points, params)
    wrong = {i: found.get(i) for i in ids if found.get(i) != wanted}
    if wrong:
        raise Broken(f"{side} stored wrong runs (want {wanted}): {dict(list(wrong.items())[:5])}")


def expected_digest(steps: int) -> str:
    """The digest the workers print for a history of ``steps`` points (as they compute it)."""
    text = json.dumps([[step, 1.0 / (step + 1)] for step in range(steps)])
    return hashlib.sha256(text.encode()).hexdigest()[:16]


# --- formatting ---------------------------------------------------------------------------


def ms(seconds: float) -> str:
    """Seconds as milliseconds with about three significant digits."""
    value = seconds * 1000
    if value < 1:
        return f"{value:.3f} ms"
    if value < 10:
        return f"{value:.2f} ms"
    return f"{value:.1f} ms" if value < 100 else f"{value:,.0f} ms"


def rate(points_per_s: float) -> str:
    """A throughput in points per second."""
    return f"{points_per_s:,.0f} points/s"
