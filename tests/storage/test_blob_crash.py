"""A writer killed with SIGKILL mid-write leaves nothing under any final key.

A subprocess streams a 200 MB deterministic blob into a ContentStore; the test kills it
once the write is well under way, checks that no blob (whole or partial) is visible,
then writes the same content in-process and verifies it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import blake3
import pytest

from shipyard.storage.blobs.local import LocalBlobBackend
from shipyard.storage.content import ContentStore, digest_key

if TYPE_CHECKING:
    from s3_server import S3Bucket

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

TOTAL = 200 * 10**6
MiB = 2**20

# One source for the content, run both in the writer process and in this one.
GENERATOR = """
import io, random, time

class GeneratedReader(io.RawIOBase):
    '''TOTAL bytes: a seeded 1 MiB block with the block counter in its first 8 bytes.'''

    def __init__(self, total, pause=0.0):
        self.base = random.Random(20240229).randbytes(2**20)
        self.total, self.pause, self.position = total, pause, 0

    def readable(self):
        return True

    def readinto(self, buffer):
        index, offset = divmod(self.position, 2**20)
        n = min(len(buffer), self.total - self.position, 2**20 - offset)
        if n <= 0:
            return 0
        if offset == 0 and self.pause:
            time.sleep(self.pause)  # a slow producer, like a network stream
        block = index.to_bytes(8, "little") + self.base[8:]
        buffer[:n] = block[offset : offset + n]
        self.position += n
        return n
"""

WRITER = (
    GENERATOR
    + """
import json, sys
from shipyard.storage.blobs import open_backend
from shipyard.storage.content import ContentStore

url, options, total, pause = sys.argv[1], json.loads(sys.argv[2]), sys.argv[3], sys.argv[4]
store = ContentStore(open_backend(url, options=options))
info = store.put_stream(GeneratedReader(int(total), float(pause)))
print(info.digest, flush=True)
"""
)


def _reader(total: int = TOTAL) -> Any:
    namespace: dict[str, Any] = {}
    exec(GENERATOR, namespace)
    return namespace["GeneratedReader"](total)


def _start_writer(url: str, options: dict[str, Any], pause: float) -> subprocess.Popen[bytes]:
    import json

    return subprocess.Popen(
        [sys.executable, "-c", WRITER, url, json.dumps(options), str(TOTAL), str(pause)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )


def _kill_when(proc: subprocess.Popen[bytes], ready: Callable[[], bool], timeout: float) -> None:
    """SIGKILL ``proc`` as soon as ``ready()``; fail if it ends or times out first."""
    deadline = time.monotonic() + timeout
    while not ready():
        if proc.poll() is not None:
            _, err = proc.communicate()
            pytest.fail(f"the writer ended (rc={proc.returncode}) before the kill:\n{err.decode()}")
        if time.monotonic() > deadline:
            proc.kill()
            proc.communicate()
            pytest.fail(f"the writer never reached the kill point within {timeout} s")
        time.sleep(0.005)
    proc.send_signal(signal.SIGKILL)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL, "the writer finished before it was killed"


@pytest.fixture(scope="module")
def expected_digest() -> str:
    """The digest of the writer's content, computed in this process."""
    hasher = blake3.blake3(max_threads=blake3.blake3.AUTO)
    reader, buffer = _reader(), bytearray(4 * MiB)
    while n := reader.readinto(buffer):
        hasher.update(memoryview(buffer)[:n])
    return hasher.hexdigest()


def _assert_rewrite_succeeds(store: ContentStore, expected_digest: str) -> None:
    info = store.put_stream(_reader())
    assert (info.digest, info.size, info.created) == (expected_digest, TOTAL, True)
    store.verify(expected_digest)
    assert list(store.digests()) == [expected_digest]


def _staged_bytes(folder: Path) -> int:
    try:
        return sum(entry.stat().st_size for entry in os.scandir(folder))
    except FileNotFoundError:
        return 0


@pytest.mark.slow
def test_killed_local_writer_leaves_no_blob(tmp_path: Path, expected_digest: str) -> None:
    backend = LocalBlobBackend(tmp_path / "blobs")
    proc = _start_writer(str(backend.root), {}, pause=0.01)
    _kill_when(proc, lambda: _staged_bytes(backend.temp_dir) > 32 * MiB, timeout=60)

    store = ContentStore(backend)
    assert not store.exists(expected_digest)
    assert list(backend.list()) == []  # no final key at all, whole or partial
    (orphan,) = backend.temp_dir.iterdir()  # the killed writer's temp file stays behind...
    assert orphan.stat().st_size < TOTAL

    _assert_rewrite_succeeds(store, expected_digest)
    assert backend.size(digest_key(expected_digest)) == TOTAL
    assert backend.sweep_stale_temp(0) == 1  # ...until the sweep removes it
    assert os.listdir(backend.temp_dir) == []


@pytest.mark.slow
@pytest.mark.s3
def test_killed_s3_writer_mid_upload_leaves_no_object(
    s3_bucket: S3Bucket, tmp_path: Path, expected_digest: str
) -> None:
    spool = tmp_path / "spool"
    spool.mkdir()
    # One part at a time keeps the multipart upload in flight long enough to kill it.
    options = {"spool_dir": str(spool), "max_concurrency": 1}
    backend = s3_bucket.backend("crash", **options)
    proc = _start_writer(
        s3_bucket.url("crash"), {"endpoint_url": s3_bucket.endpoint_url, **options}, pause=0
    )

    def upload_in_flight() -> bool:
        uploads = s3_bucket.pending_uploads()
        if not uploads:
            return False
        parts = s3_bucket.client.list_parts(
            Bucket=s3_bucket.name, Key=uploads[0]["Key"], UploadId=uploads[0]["UploadId"]
        )
        return len(parts.get("Parts", [])) >= 2

    _kill_when(proc, upload_in_flight, timeout=90)

    store = ContentStore(backend)
    assert not store.exists(expected_digest)
    assert s3_bucket.object_keys() == []  # the object appears only when the upload completes
    assert list(backend.list()) == []
    assert len(s3_bucket.pending_uploads()) == 1
    assert backend.sweep_stale_temp(0) == 1  # aborts the dead writer's multipart upload
    assert s3_bucket.pending_uploads() == []
    for leftover in spool.iterdir():  # a killed process cannot remove its spool file
        leftover.unlink()

    _assert_rewrite_succeeds(store, expected_digest)
    assert s3_bucket.object_keys() == [f"crash/{digest_key(expected_digest)}"]
    assert os.listdir(spool) == []
