"""ContentStore specifics beyond the conformance checks: memory, hashing helpers, temp files."""

from __future__ import annotations

import dataclasses
import io
import os
import random
import time
import tracemalloc
from pathlib import Path
from typing import Any

import blake3
import pytest

from shipyard.errors import IntegrityError, NotFound, ValidationError
from shipyard.storage.blobs import StagedBlob
from shipyard.storage.blobs.local import LocalBlobBackend
from shipyard.storage.content import (
    DEFAULT_BLOCK_SIZE,
    BlobInfo,
    ContentStore,
    digest_key,
    hash_file,
)
from shipyard.testing import MemoryBlobBackend

MiB = 2**20


class GeneratedReader(io.RawIOBase):
    """``total`` deterministic bytes made on the fly from one 1 MiB block and a counter."""

    def __init__(self, total: int, seed: int = 1) -> None:
        self.base = random.Random(seed).randbytes(MiB)
        self.total = total
        self.position = 0
        self.largest_request = 0

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
        view = memoryview(buffer).cast("B")
        self.largest_request = max(self.largest_request, len(view))
        n = min(len(view), self.total - self.position, MiB - self.position % MiB)
        if n <= 0:
            return 0
        block, offset = divmod(self.position, MiB)
        view[:n] = _block(self.base, block)[offset : offset + n]
        self.position += n
        return n


class RecordingBackend(MemoryBlobBackend):
    """The in-memory backend, recording the size of every staged write."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[int] = []

    def stage(self) -> StagedBlob:
        return _RecordingStage(super().stage(), self.writes)


class _RecordingStage(StagedBlob):
    def __init__(self, inner: StagedBlob, writes: list[int]) -> None:
        self.inner, self.writes = inner, writes

    def write(self, data: bytes | memoryview) -> int:
        self.writes.append(len(data))
        return self.inner.write(data)

    def commit(self, key: str) -> None:
        self.inner.commit(key)

    def abort(self) -> None:
        self.inner.abort()


def _block(base: bytes, index: int) -> bytes:
    return index.to_bytes(8, "little") + base[8:]


def _expected_digest(total: int) -> str:
    hasher = blake3.blake3()
    reader = GeneratedReader(total)
    while chunk := reader.read(MiB):
        hasher.update(chunk)
    return hasher.hexdigest()


def _tamper(backend: LocalBlobBackend, digest: str) -> None:
    path = backend.local_path(digest_key(digest))
    assert path is not None
    data = bytearray(Path(path).read_bytes())
    data[len(data) // 2] ^= 0xFF
    Path(path).write_bytes(bytes(data))


@pytest.fixture
def local(tmp_path: Path) -> LocalBlobBackend:
    return LocalBlobBackend(tmp_path / "blobs")


def test_streaming_put_and_reads_keep_memory_small(local: LocalBlobBackend, tmp_path: Path) -> None:
    total = 64 * MiB
    expected = _expected_digest(total)
    store = ContentStore(local)
    reader = GeneratedReader(total)
    tracemalloc.start()
    try:
        info = store.put_stream(reader)  # type: ignore[arg-type]
        _, put_peak = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        store.verify(info.digest)
        store.get_file(info.digest, tmp_path / "out.bin")
        _, read_peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert info == BlobInfo(expected, total, created=True)
    assert reader.largest_request == DEFAULT_BLOCK_SIZE  # large blocks, not many small reads
    assert put_peak < 16 * MiB, f"put_stream peaked at {put_peak / MiB:.1f} MiB"
    assert read_peak < 16 * MiB, f"verify + get_file peaked at {read_peak / MiB:.1f} MiB"
    assert (tmp_path / "out.bin").stat().st_size == total


@pytest.mark.parametrize(
    "size",
    [0, 1, DEFAULT_BLOCK_SIZE - 1, DEFAULT_BLOCK_SIZE, DEFAULT_BLOCK_SIZE + 1, 9 * MiB + 7],
    ids=["empty", "one", "block-1", "block", "block+1", "two-blocks-and-more"],
)
def test_hash_file_is_blake3_of_the_bytes(tmp_path: Path, size: int) -> None:
    data = random.Random(size).randbytes(size)
    path = tmp_path / "file.bin"
    path.write_bytes(data)
    assert hash_file(path) == blake3.blake3(data).hexdigest()
    assert hash_file(path, block_size=1000) == blake3.blake3(data).hexdigest()
    assert ContentStore(MemoryBlobBackend()).put_file(path).digest == hash_file(str(path))


def test_short_reads_are_gathered_into_full_blocks() -> None:
    class Trickle(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = data

        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            n = min(7, len(buffer), len(self.data))
            buffer[:n] = self.data[:n]
            self.data = self.data[n:]
            return n

    data = random.Random(5).randbytes(10_000)
    backend = RecordingBackend()
    info = ContentStore(backend, block_size=4096).put_stream(Trickle(data))  # type: ignore[arg-type]
    assert info.digest == blake3.blake3(data).hexdigest()
    assert backend.writes == [4096, 4096, 1808]


def test_read_only_reader_without_readinto() -> None:
    class ReadOnly:
        def __init__(self, data: bytes) -> None:
            self.stream = io.BytesIO(data)

        def read(self, size: int = -1) -> bytes:
            return self.stream.read(size)

    data = b"plain read() is enough" * 1000
    info = ContentStore(MemoryBlobBackend(), block_size=100).put_stream(ReadOnly(data))  # type: ignore[arg-type]
    assert info.digest == blake3.blake3(data).hexdigest()


def test_text_reader_is_rejected() -> None:
    with pytest.raises(ValidationError, match="binary mode"):
        ContentStore(MemoryBlobBackend()).put_stream(io.StringIO("text"))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "block_size", [0, -1, True, 1.5], ids=["zero", "negative", "bool", "float"]
)
def test_block_size_must_be_a_positive_int(block_size: object) -> None:
    with pytest.raises(ValidationError, match="block_size"):
        ContentStore(MemoryBlobBackend(), block_size=block_size)  # type: ignore[arg-type]


def test_blob_info_is_frozen() -> None:
    info = ContentStore(MemoryBlobBackend()).put_bytes(b"x")
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.size = 2  # type: ignore[misc]


def test_streaming_reader_gets_bytes_then_the_error_at_the_end(local: LocalBlobBackend) -> None:
    store = ContentStore(local, block_size=1024)
    data = random.Random(2).randbytes(10_000)
    digest = store.put_bytes(data).digest
    _tamper(local, digest)
    with store.open(digest) as reader:
        assert reader.read(100) == data[:100]  # no error before the end...
        with pytest.raises(IntegrityError) as caught:
            reader.read()
        with pytest.raises(IntegrityError):  # ...and the failure sticks
            reader.read(1)
    message = str(caught.value)
    assert digest in message
    assert str(local.local_path(digest_key(digest))) in message


def test_corrupt_blob_leaves_an_existing_dest_untouched(
    local: LocalBlobBackend, tmp_path: Path
) -> None:
    store = ContentStore(local)
    dest = tmp_path / "out" / "model.bin"
    dest.parent.mkdir()
    dest.write_bytes(b"previous version")
    digest = store.put_bytes(b"new version" * 1000).digest
    _tamper(local, digest)
    with pytest.raises(IntegrityError, match=digest):
        store.get_file(digest, dest)
    assert dest.read_bytes() == b"previous version"
    assert sorted(os.listdir(dest.parent)) == ["model.bin"]


def test_get_file_replaces_dest_and_creates_folders(
    local: LocalBlobBackend, tmp_path: Path
) -> None:
    store = ContentStore(local)
    digest = store.put_bytes(b"fresh bytes").digest
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "dest").write_bytes(b"old")
    store.get_file(digest, tmp_path / "a" / "dest")
    store.get_file(digest, tmp_path / "new" / "folder" / "dest")
    assert (tmp_path / "a" / "dest").read_bytes() == b"fresh bytes"
    assert (tmp_path / "new" / "folder" / "dest").read_bytes() == b"fresh bytes"
    assert os.listdir(tmp_path / "a") == ["dest"]


def test_blobs_use_the_two_character_fan_out(local: LocalBlobBackend) -> None:
    digest = ContentStore(local).put_bytes(b"layout").digest
    assert (local.root / digest[:2] / digest[2:]).read_bytes() == b"layout"
    assert digest_key(digest) == f"{digest[:2]}/{digest[2:]}"


def test_digests_skip_keys_outside_the_layout() -> None:
    backend = MemoryBlobBackend()
    store = ContentStore(backend)
    digest = store.put_bytes(b"real").digest
    for key in ("README", "ab/short", f"{digest[:3]}/{digest[3:]}", f"zz/{digest[2:]}"):
        with backend.stage() as staged:
            staged.write(b"foreign")
            staged.commit(key)
    assert list(store.digests()) == [digest]


def test_put_file_of_a_missing_path_is_not_found(tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="no-such-file"):
        ContentStore(MemoryBlobBackend()).put_file(tmp_path / "no-such-file")


def test_failed_put_leaves_no_temp_file(local: LocalBlobBackend) -> None:
    class Broken(io.RawIOBase):
        def readable(self) -> bool:
            return True

        def readinto(self, buffer: memoryview) -> int:  # type: ignore[override]
            raise OSError("disk on the other side vanished")

    with pytest.raises(OSError, match="vanished"):
        ContentStore(local).put_stream(Broken())  # type: ignore[arg-type]
    assert os.listdir(local.temp_dir) == []
    assert list(local.list()) == []


def test_dedup_drops_the_staged_temp_file(local: LocalBlobBackend) -> None:
    store = ContentStore(local)
    assert store.put_bytes(b"twice").created
    assert not store.put_bytes(b"twice").created
    assert os.listdir(local.temp_dir) == []


def test_sweep_removes_only_stale_temp_files(local: LocalBlobBackend) -> None:
    assert local.sweep_stale_temp(0) == 0  # nothing written yet: cheap, creates nothing
    assert not local.root.exists()
    abandoned = local.stage()  # a writer that died without committing or aborting
    abandoned.write(b"half of something")
    (stale,) = local.temp_dir.iterdir()
    two_hours_ago = time.time() - 7200
    os.utime(stale, (two_hours_ago, two_hours_ago))
    with local.stage() as live:
        live.write(b"still being written")
        assert local.sweep_stale_temp(3600) == 1
        assert not stale.exists()
        assert len(list(local.temp_dir.iterdir())) == 1  # the live writer's file survives
        live.commit("kept/key")
    assert local.sweep_stale_temp(3600) == 0
    assert list(local.list()) == ["kept/key"]
    abandoned.abort()  # closing the dead writer's handle; its file is gone already


def test_list_skips_the_temp_folder_and_hidden_files(local: LocalBlobBackend) -> None:
    staged = local.stage()
    staged.write(b"uncommitted")
    local.root.joinpath(".DS_Store").write_bytes(b"")
    with local.stage() as done:
        done.write(b"committed")
        done.commit("visible")
    assert list(local.list()) == ["visible"]
    staged.abort()


@pytest.mark.parametrize("size", [(4 << 20) + 1, (9 << 20) + 4097], ids=["block+1", "odd"])
def test_large_files_take_the_kernel_copy_path(
    local: LocalBlobBackend, tmp_path: Path, size: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shipyard.storage.content as content

    data = bytes(range(256)) * (size // 256) + b"x" * (size % 256)
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    calls: list[int] = []
    original = content.copy_and_hash

    def spy(src: int, dst: int, length: int, on_bytes: Any = None) -> str:
        calls.append(length)
        return original(src, dst, length, on_bytes)

    monkeypatch.setattr(content, "copy_and_hash", spy)  # observes, still does the work
    info = ContentStore(local).put_file(path)
    assert calls == [size]
    assert info == BlobInfo(blake3.blake3(data).hexdigest(), size, created=True)
    assert ContentStore(local).get_bytes(info.digest) == data
    assert ContentStore(local).put_file(path).created is False


def test_large_files_without_a_local_stage_stream(tmp_path: Path) -> None:
    data = b"y" * ((4 << 20) + 3)
    path = tmp_path / "large.bin"
    path.write_bytes(data)
    store = ContentStore(MemoryBlobBackend())
    info = store.put_file(path)
    assert info.digest == blake3.blake3(data).hexdigest()
    assert store.get_bytes(info.digest) == data
