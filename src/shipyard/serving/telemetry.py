"""What ``GET /metrics`` exposes, in the Prometheus text format.

Each app keeps its own registry (so several apps in one process never mix counts):
requests by endpoint and status, their latency, and rows predicted. With ``--workers
N`` every worker process counts its own requests; scrape each, or sum per pod.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Telemetry:
    """Counters and a latency histogram for one served model."""

    def __init__(self, model: str) -> None:
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "shipyard_requests",
            "Prediction requests by endpoint and status code.",
            ["model", "endpoint", "status"],
            registry=self.registry,
        )
        self._latency = Histogram(
            "shipyard_request_seconds",
            "Time to answer a prediction request.",
            ["model", "endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._rows = Counter(
            "shipyard_predicted_rows", "Rows predicted.", ["model"], registry=self.registry
        )
        self.model = model

    def observe(self, endpoint: str, status: int, seconds: float) -> None:
        """Count one answered request."""
        self._requests.labels(self.model, endpoint, str(status)).inc()
        self._latency.labels(self.model, endpoint).observe(seconds)

    def rows(self, count: int) -> None:
        """Count rows predicted."""
        self._rows.labels(self.model).inc(count)

    def exposition(self) -> tuple[bytes, str]:
        """The text to serve and its content type."""
        return generate_latest(self.registry), CONTENT_TYPE_LATEST
