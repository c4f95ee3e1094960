"""HTTP to a shipyard server: bearer token, JSON, retries, errors rebuilt from the body.

Requests that fail in transit (refused, reset, timed out) or with 502/503/504 are sent
again with backoff: every write the client sends is safe to repeat (metric batches carry
an id the server deduplicates on). Any other error answer becomes the ShipyardError the
server raised, with its message.
"""

from __future__ import annotations

import time
from typing import Any

import httpx

from shipyard.errors import StorageError, from_document

RETRY_STATUSES = frozenset({502, 503, 504})
ATTEMPTS = 6
FIRST_WAIT_S = 0.1
API = "/api/v1"


class Api:
    """A connection to one server, authenticated with one token."""

    def __init__(self, url: str, token: str | None, *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(base_url=self.url + API, headers=headers, timeout=timeout)

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` (under /api/v1); None-valued params are left out."""
        query = {k: v for k, v in params.items() if v is not None}
        return self._request("GET", path, params=query)

    def post(self, path: str, body: dict[str, Any]) -> Any:
        """POST a JSON body to ``path`` (under /api/v1)."""
        return self._request("POST", path, json=body)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        wait = FIRST_WAIT_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS:
                    raise StorageError(
                        f"cannot reach the shipyard server at {self.url}: {exc}"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or attempt == ATTEMPTS:
                    return _result(response)
            time.sleep(wait)
            wait = min(wait * 2, 3.0)
        raise AssertionError("unreachable")


def _result(response: httpx.Response) -> Any:
    try:
        document = response.json()
    except ValueError:
        document = None
    if response.is_success:
        return document
    raise from_document(document, response.status_code)
