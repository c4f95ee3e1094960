"""HTTP to a shipyard server: bearer token, JSON, retries, errors rebuilt from the body.

Requests that fail in transit (refused, reset, timed out) or with 502/503/504 are sent
again with backoff: every write the client sends is safe to repeat (metric batches carry
an id the server deduplicates on). Any other error answer becomes the ShipyardError the
server raised, with its message.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, BinaryIO

import blake3
import httpx

from shipyard.errors import IntegrityError, StorageError, from_document

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

    def post_bytes(self, path: str, body: bytes) -> Any:
        """POST raw bytes to ``path`` (under /api/v1)."""
        headers = {"Content-Type": "application/octet-stream"}
        return self._request("POST", path, content=body, headers=headers)

    def post_for_bytes(self, path: str, body: dict[str, Any]) -> bytes:
        """POST a JSON body to ``path`` (under /api/v1); the raw bytes of the answer."""
        response = self._with_retries(lambda: self._http.post(path, json=body), raw=True)
        return bytes(response.content)

    def delete(self, path: str) -> Any:
        """DELETE ``path`` (under /api/v1)."""
        return self._request("DELETE", path)

    def put_json(self, path: str, body: dict[str, Any]) -> Any:
        """PUT a JSON body to ``path`` (under /api/v1)."""
        return self._request("PUT", path, json=body)

    def fetch(self, path: str, digest: str) -> bytes:
        """The bytes at ``path``, returned only if their BLAKE3 digest is ``digest``."""
        response = self._with_retries(lambda: self._http.get(path), raw=True)
        data = bytes(response.content)
        if blake3.blake3(data).hexdigest() != digest:
            raise IntegrityError(f"downloaded {path} does not match its digest {digest}")
        return data

    def put(self, path: str, body: BinaryIO) -> Any:
        """PUT a file's bytes to ``path``, streamed (retried from the start on failure)."""
        start = body.tell()

        def send() -> httpx.Response:
            body.seek(start)
            return self._http.put(path, content=_chunks(body))

        return self._with_retries(send)

    def download(self, path: str, dest: Path, digest: str) -> None:
        """Stream ``path`` into ``dest``, which appears only if its BLAKE3 digest matches."""
        dest.parent.mkdir(parents=True, exist_ok=True)
        temp = dest.with_name(f".{dest.name}.part")
        hasher = blake3.blake3()
        with self._http.stream("GET", path) as response:
            if not response.is_success:
                response.read()
                raise from_document(_json(response), response.status_code)
            with temp.open("wb") as out:
                for chunk in response.iter_bytes(1 << 20):
                    hasher.update(chunk)
                    out.write(chunk)
        if hasher.hexdigest() != digest:
            temp.unlink(missing_ok=True)
            raise IntegrityError(f"downloaded {path} does not match its digest {digest}")
        temp.replace(dest)

    def close(self) -> None:
        """Close the connection pool."""
        self._http.close()

    def _request(self, method: str, path: str, **kwargs: Any) -> Any:
        return self._with_retries(lambda: self._http.request(method, path, **kwargs))

    def _with_retries(self, send: Callable[[], httpx.Response], *, raw: bool = False) -> Any:
        wait = FIRST_WAIT_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                response = send()
            except httpx.TransportError as exc:
                if attempt == ATTEMPTS:
                    raise StorageError(
                        f"cannot reach the shipyard server at {self.url}: {exc}"
                    ) from exc
            else:
                if response.status_code not in RETRY_STATUSES or attempt == ATTEMPTS:
                    if raw and response.is_success:
                        return response
                    return _result(response)
            time.sleep(wait)
            wait = min(wait * 2, 3.0)
        raise AssertionError("unreachable")


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None


def _result(response: httpx.Response) -> Any:
    document = _json(response)
    if response.is_success:
        return document
    raise from_document(document, response.status_code)


def _chunks(body: BinaryIO) -> Iterator[bytes]:
    while block := body.read(1 << 20):
        yield block
