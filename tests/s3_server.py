"""S3 fixtures: a moto S3 server on loopback (one per session), a fresh bucket per test.

If moto cannot start, S3 tests fail when ``CI`` or ``SHIPYARD_REQUIRE_SERVICES`` is set
and are skipped (with a loud reason) otherwise.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from services import missing_service
from shipyard.storage.blobs import open_backend

if TYPE_CHECKING:  # s3fs is imported only by the tests that use S3
    from shipyard.storage.blobs.s3 import S3BlobBackend

FAKE_AWS_ENV = {
    "AWS_ACCESS_KEY_ID": "shipyard-test-key",
    "AWS_SECRET_ACCESS_KEY": "shipyard-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_CONFIG_FILE": os.devnull,
    "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
}
_UNSET_AWS_ENV = ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN")
_START_TIMEOUT = 15.0


@dataclass(frozen=True)
class S3Bucket:
    """A fresh, empty bucket on the moto server."""

    endpoint_url: str
    name: str
    client: Any  # a boto3 S3 client with the fake credentials

    def url(self, prefix: str = "") -> str:
        """The blob store URL of ``prefix`` in this bucket."""
        return f"s3://{self.name}/{prefix}".rstrip("/")

    def backend(self, prefix: str = "", **options: Any) -> S3BlobBackend:
        """An S3 blob backend on ``prefix``, built through open_backend like users do."""
        from shipyard.storage.blobs.s3 import S3BlobBackend

        backend = open_backend(
            self.url(prefix), options={"endpoint_url": self.endpoint_url, **options}
        )
        assert isinstance(backend, S3BlobBackend)
        return backend

    def object_keys(self) -> list[str]:
        """Every object key in the bucket, straight from the server."""
        pages = self.client.get_paginator("list_objects_v2").paginate(Bucket=self.name)
        return [item["Key"] for page in pages for item in page.get("Contents", [])]

    def pending_uploads(self) -> list[dict[str, Any]]:
        """Multipart uploads started and neither completed nor aborted."""
        return list(self.client.list_multipart_uploads(Bucket=self.name).get("Uploads", []))


def _unavailable(reason: str) -> NoReturn:
    missing_service(
        "S3 (moto)",
        f"the moto S3 server could not start on 127.0.0.1: {reason}; install moto[server] "
        "and check that loopback works",
    )


def _start_moto() -> tuple[Any, str]:
    from moto.server import ThreadedMotoServer

    # port=0: the OS picks a free port, read back below (no race with other processes).
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    # start() waits forever if the server thread dies, so wait in a helper thread, and
    # catch the server thread's exception to report it (pytest would turn it into an
    # unrelated test's error).
    errors: list[BaseException | None] = []
    starter = threading.Thread(target=server.start, daemon=True)
    previous_hook = threading.excepthook
    threading.excepthook = lambda args: errors.append(args.exc_value)
    try:
        starter.start()
        deadline = time.monotonic() + _START_TIMEOUT
        while starter.is_alive() and not errors and time.monotonic() < deadline:
            starter.join(0.05)
    finally:
        threading.excepthook = previous_hook
    if errors:
        raise RuntimeError(f"the server thread failed: {errors[0]!r}")
    if starter.is_alive():
        raise TimeoutError(f"no answer within {_START_TIMEOUT} s")
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    with urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=5) as response:
        assert response.status == 200
    return server, endpoint


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[str]:
    """The URL of a moto S3 server running in this process on loopback."""
    try:
        server, endpoint = _start_moto()
    except Exception as exc:  # any failure to start: skip or fail, as documented above
        _unavailable(f"{type(exc).__name__}: {exc}")
    # One INFO line per request would flood the captured logs of failing tests.
    access_log = logging.getLogger("werkzeug")
    level = access_log.level
    access_log.setLevel(logging.WARNING)
    try:
        yield endpoint
    finally:
        server.stop()
        access_log.setLevel(level)


@pytest.fixture
def s3_bucket(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Bucket]:
    """A fresh bucket; fake AWS credentials in the environment; server wiped afterwards."""
    import boto3

    for name, value in FAKE_AWS_ENV.items():
        monkeypatch.setenv(name, value)
    for name in _UNSET_AWS_ENV:
        monkeypatch.delenv(name, raising=False)
    no_proxy = ",".join(filter(None, ["127.0.0.1", "localhost", os.environ.get("NO_PROXY")]))
    monkeypatch.setenv("NO_PROXY", no_proxy)
    client = boto3.client("s3", endpoint_url=moto_endpoint, region_name="us-east-1")
    bucket = S3Bucket(moto_endpoint, f"shipyard-{uuid.uuid4().hex[:16]}", client)
    client.create_bucket(Bucket=bucket.name)
    try:
        yield bucket
    finally:
        client.close()
        # Frees the server's memory (tests upload up to hundreds of MB).
        request = urllib.request.Request(f"{moto_endpoint}/moto-api/reset", method="POST")
        urllib.request.urlopen(request, timeout=10).close()
