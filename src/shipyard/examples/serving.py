"""The quickstart's production: serve the champion, send it the June applicants, log
what it was asked and answered, and compare that traffic with the training data."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from shipyard.errors import ShipyardError

if TYPE_CHECKING:
    from shipyard.entities import DatasetVersion
    from shipyard.workspace import Workspace

MODEL = "credit-risk@champion"
BATCH = 100  # rows per request
REQUESTS = 20


def serve_and_watch(ws: Workspace, training: DatasetVersion, june: DatasetVersion) -> str:
    """Serve the champion on loopback for a moment, send it June's applicants, and
    report the logged traffic and its drift from ``training``."""
    import httpx

    from shipyard.examples.training import feature_columns
    from shipyard.monitoring.drift import drift_report
    from shipyard.serving.app import ModelServer
    from shipyard.serving.background import BackgroundServer
    from shipyard.serving.logbook import PredictionLog

    model = ws.models.load(MODEL)
    features = [c.name for c in model.signature.columns]
    traffic = ws.data.load(june.ref)[features].dropna().head(BATCH * REQUESTS)
    log = PredictionLog(str(ws.home), f"{model.version.name}-predictions", every_rows=10**9)
    server = ModelServer(model, log=log)
    try:
        with BackgroundServer(server.app()) as url, httpx.Client(base_url=url) as http:
            for start in range(0, len(traffic), BATCH):
                rows = json.loads(traffic.iloc[start : start + BATCH].to_json(orient="records"))
                http.post("/predict", json={"inputs": rows}).raise_for_status()
    finally:
        log.close()  # writes what it holds (the server's shutdown would, too)
    if not log.versions:
        raise ShipyardError("the prediction log was not written; the server log says why")
    logged = log.versions[-1]
    window = ws.data.load(logged.ref)
    reference = ws.data.load(training.ref)
    numeric, categorical = feature_columns(reference)
    report = drift_report(reference, window, columns=numeric + categorical)
    drifted = [c.column for c in report.columns if c.drifted]
    return (
        f"{model.ref} on {url}: {len(traffic) // BATCH} requests, {len(window):,} predictions "
        f"logged as {logged.ref}; against {training.ref}: {len(drifted)} of "
        f"{len(report.columns)} features drifted ({', '.join(drifted) or 'none'})"
    )
