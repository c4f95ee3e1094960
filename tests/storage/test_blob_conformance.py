"""Every blob backend passes the same conformance checks; backends are picked by URL."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from shipyard.errors import ConfigError, StorageError, UnknownBackend, ValidationError
from shipyard.storage.blobs import BlobBackend, known_schemes, open_backend
from shipyard.storage.blobs.local import LocalBlobBackend
from shipyard.testing import MemoryBlobBackend
from shipyard.testing.blob_checks import (
    BLOB_BACKEND_CHECKS,
    check_content_round_trip,
    check_list_prefixes,
)

if TYPE_CHECKING:
    from s3_server import S3Bucket

BACKENDS = [
    pytest.param("local", id="local"),
    pytest.param("memory", id="memory"),
    pytest.param("s3", id="s3", marks=pytest.mark.s3),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest, tmp_path: Path) -> BlobBackend:
    """A fresh, empty backend of each kind."""
    if request.param == "local":
        return open_backend(str(tmp_path / "blobs"))
    if request.param == "memory":
        return MemoryBlobBackend()
    bucket: S3Bucket = request.getfixturevalue("s3_bucket")
    return bucket.backend("store/root")


@pytest.mark.parametrize("check", BLOB_BACKEND_CHECKS, ids=lambda c: c.__name__[6:])
def test_backend_conformance(backend: BlobBackend, check: Callable[[BlobBackend], None]) -> None:
    check(backend)


@pytest.mark.s3
@pytest.mark.parametrize(
    "check", [check_list_prefixes, check_content_round_trip], ids=lambda c: c.__name__[6:]
)
def test_s3_backend_at_bucket_root(
    s3_bucket: S3Bucket, check: Callable[[BlobBackend], None]
) -> None:
    check(s3_bucket.backend())


@pytest.mark.s3
def test_s3_prefix_isolates_stores(s3_bucket: S3Bucket) -> None:
    one, two = s3_bucket.backend("one"), s3_bucket.backend("one-two")
    with one.stage() as staged:
        staged.write(b"in one")
        staged.commit("k")
    assert list(one.list()) == ["k"]
    assert list(two.list()) == []
    assert not two.exists("k")
    assert s3_bucket.object_keys() == ["one/k"]


@pytest.mark.s3
def test_s3_missing_bucket_is_a_storage_error(s3_bucket: S3Bucket) -> None:
    backend = open_backend(
        "s3://no-such-bucket-here", options={"endpoint_url": s3_bucket.endpoint_url}
    )
    with pytest.raises(StorageError, match="bucket"):
        list(backend.list())


@pytest.mark.s3
def test_s3_unreachable_endpoint_is_a_storage_error(s3_bucket: S3Bucket) -> None:
    with socket.socket() as sock:  # a loopback port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    backend = open_backend(
        "s3://bucket/prefix",
        options={
            "endpoint_url": f"http://127.0.0.1:{port}",
            "config_kwargs": {"retries": {"max_attempts": 1}, "connect_timeout": 1},
        },
    )
    with pytest.raises(StorageError, match=f"127.0.0.1:{port}"):
        backend.exists("some/key")


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        pytest.param("{tmp}/blobs", LocalBlobBackend, id="plain-path"),
        pytest.param("file://{tmp}/blobs", LocalBlobBackend, id="file-url"),
        pytest.param("memory://conformance-url", MemoryBlobBackend, id="memory"),
    ],
)
def test_open_backend_by_scheme(tmp_path: Path, url: str, kind: type) -> None:
    backend = open_backend(url.format(tmp=tmp_path))
    assert isinstance(backend, kind)


def test_local_url_forms_point_at_the_same_folder(tmp_path: Path) -> None:
    by_path = open_backend(str(tmp_path / "a b"))
    by_url = open_backend((tmp_path / "a b").as_uri())
    assert by_path.url == by_url.url == (tmp_path / "a b").as_uri()
    with by_path.stage() as staged:
        staged.write(b"shared")
        staged.commit("x")
    assert by_url.exists("x")


def test_memory_urls_share_blobs_by_name() -> None:
    first, same = open_backend("memory://shared-name"), open_backend("memory://shared-name")
    other = open_backend("memory://another-name")
    with first.stage() as staged:
        staged.write(b"seen by name")
        staged.commit("k")
    assert same.exists("k")
    assert not other.exists("k")


def test_s3_backend_from_url_keeps_options_and_prefix() -> None:
    from shipyard.storage.blobs.s3 import S3BlobBackend

    backend = open_backend("s3://bucket/a/b/", options={"endpoint_url": "http://127.0.0.1:1"})
    assert isinstance(backend, S3BlobBackend)
    assert (backend.bucket, backend.prefix, backend.url) == ("bucket", "a/b", "s3://bucket/a/b")
    assert backend.storage_options == {"endpoint_url": "http://127.0.0.1:1"}


@pytest.mark.parametrize(
    ("url", "options"),
    [
        pytest.param("s3://", {}, id="no-bucket"),
        pytest.param("s3://bucket/../x", {}, id="bad-prefix"),
        pytest.param("s3://bucket", {"part_size": 1024}, id="tiny-parts"),
        pytest.param("memory://", {}, id="memory-no-name"),
        pytest.param("memory://x", {"endpoint_url": "x"}, id="memory-options"),
        pytest.param("/tmp/x", {"endpoint_url": "x"}, id="local-options"),
        pytest.param("file://remote-host/x", {}, id="file-remote-host"),
        pytest.param("", {}, id="empty"),
    ],
)
def test_open_backend_rejects_bad_urls_and_options(url: str, options: dict[str, object]) -> None:
    with pytest.raises(ValidationError):
        open_backend(url, options=options)


def test_unknown_scheme_lists_the_known_ones() -> None:
    with pytest.raises(UnknownBackend) as caught:
        open_backend("gs://bucket/x")
    for scheme in ("file://", "memory://", "s3://"):
        assert scheme in str(caught.value)
    assert isinstance(caught.value, ConfigError)
    assert known_schemes() == ("file", "memory", "s3")


def test_backends_are_imported_only_when_chosen() -> None:
    script = (
        "import sys\n"
        "from shipyard.storage.blobs import open_backend\n"
        "import shipyard.storage.content\n"
        "open_backend('memory://lazy')\n"
        "loaded = [m for m in ('s3fs', 'botocore', 'shipyard.storage.blobs.s3') "
        "if m in sys.modules]\n"
        "assert not loaded, loaded\n"
    )
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
