"""Conformance checks every :class:`~shipyard.storage.blobs.BlobBackend` must pass.

Each check is a plain function ``check_xxx(backend)`` that gets a fresh, empty backend and
raises ``AssertionError`` when the backend breaks the contract. The ``check_content_*``
checks run a :class:`~shipyard.storage.content.ContentStore` over the backend. Run them
all with pytest, one test per backend and check::

    @pytest.mark.parametrize("check", BLOB_BACKEND_CHECKS, ids=lambda c: c.__name__)
    def test_my_backend(check, tmp_path):
        check(MyBackend(tmp_path))

Checks need no test framework; they only use ``assert``.
"""

from __future__ import annotations

import os
import random
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import blake3

from shipyard.errors import IntegrityError, NotFound, ShipyardError, ValidationError
from shipyard.storage.blobs import BlobBackend
from shipyard.storage.content import ContentStore, digest_key

__all__ = ["BLOB_BACKEND_CHECKS"]

E = TypeVar("E", bound=BaseException)
MiB = 2**20


def _data(size: int, seed: int = 0) -> bytes:
    return random.Random(seed).randbytes(size)


def _expect(kind: type[E], call: Callable[..., Any], *args: Any) -> E:
    try:
        call(*args)
    except kind as exc:
        return exc
    raise AssertionError(f"{getattr(call, '__name__', call)}{args!r} did not raise {kind}")


def _put(backend: BlobBackend, key: str, data: bytes) -> None:
    with backend.stage() as staged:
        staged.write(data)
        staged.commit(key)


def _read(backend: BlobBackend, key: str) -> bytes:
    with backend.open(key) as reader:
        return reader.read()


def _replace(backend: BlobBackend, key: str, data: bytes) -> None:
    """Overwrite ``key`` through the backend's own API (commit never overwrites)."""
    backend.delete(key)
    _put(backend, key, data)
    assert _read(backend, key) == data


def check_stage_commit_round_trip(backend: BlobBackend) -> None:
    """Bytes written in pieces (bytes and memoryview) read back whole after commit."""
    data = _data(100_000)
    with backend.stage() as staged:
        assert staged.write(data[:10]) == 10
        assert staged.write(memoryview(data)[10:60_000]) == 59_990
        assert staged.write(data[60_000:]) == 40_000
        staged.commit("aa/bb")
    assert backend.exists("aa/bb")
    assert _read(backend, "aa/bb") == data
    assert backend.size("aa/bb") == len(data)
    assert list(backend.list()) == ["aa/bb"]


def check_write_reused_buffer(backend: BlobBackend) -> None:
    """The caller may reuse the written buffer as soon as ``write`` returns."""
    buffer = bytearray(b"first-")
    with backend.stage() as staged:
        staged.write(memoryview(buffer))
        buffer[:] = b"second"
        staged.write(memoryview(buffer))
        buffer[:] = b"XXXXXX"
        staged.commit("buf")
    assert _read(backend, "buf") == b"first-second"


def check_commit_existing_key_keeps_first(backend: BlobBackend) -> None:
    """Committing to an existing key is a silent no-op that keeps the stored bytes."""
    _put(backend, "k/one", b"first")
    _put(backend, "k/one", b"second, longer")
    assert _read(backend, "k/one") == b"first"
    assert backend.size("k/one") == 5
    assert list(backend.list()) == ["k/one"]


def check_abort_leaves_nothing(backend: BlobBackend) -> None:
    """Abort drops staged bytes; abort is safe twice and after commit."""
    staged = backend.stage()
    staged.write(b"never published")
    staged.abort()
    staged.abort()
    assert list(backend.list()) == []
    committed = backend.stage()
    committed.write(b"kept")
    committed.commit("kept")
    committed.abort()
    assert _read(backend, "kept") == b"kept"


def check_uncommitted_stage_is_invisible(backend: BlobBackend) -> None:
    """Until commit, staged bytes are seen by neither exists, list nor open."""
    staged = backend.stage()
    try:
        staged.write(_data(50_000))
        assert list(backend.list()) == []
        assert not backend.exists("cc/dd")
        _expect(NotFound, backend.open, "cc/dd")
        staged.commit("cc/dd")
    finally:
        staged.abort()
    assert list(backend.list()) == ["cc/dd"]


def check_stage_context_manager(backend: BlobBackend) -> None:
    """Leaving the ``with`` block on an exception aborts; a commit inside it stays."""
    try:
        with backend.stage() as staged:
            staged.write(b"half")
            raise KeyError("writer failed")
    except KeyError:
        pass
    assert list(backend.list()) == []
    with backend.stage() as staged:
        staged.write(b"whole")
        staged.commit("ok")
    assert _read(backend, "ok") == b"whole"


def check_finished_stage_rejects_writes(backend: BlobBackend) -> None:
    """A committed or aborted stage refuses further writes and commits."""
    staged = backend.stage()
    staged.write(b"x")
    staged.commit("done")
    _expect(ShipyardError, staged.write, b"more")
    _expect(ShipyardError, staged.commit, "other")
    aborted = backend.stage()
    aborted.abort()
    _expect(ShipyardError, aborted.write, b"more")
    assert list(backend.list()) == ["done"]


def check_missing_key_not_found(backend: BlobBackend) -> None:
    """A missing key: NotFound naming the key and the URL; exists is False."""
    error = _expect(NotFound, backend.open, "no/such")
    assert "no/such" in str(error)
    assert backend.url in str(error)
    _expect(NotFound, backend.size, "no/such")
    assert not backend.exists("no/such")


def check_list_prefixes(backend: BlobBackend) -> None:
    """list filters by plain string prefix, across and within folders."""
    keys = {"ab/c1", "ab/c2", "ac/d1", "b/e", "abc"}
    for key in keys:
        _put(backend, key, key.encode())
    assert sorted(backend.list()) == sorted(keys)
    assert sorted(backend.list("")) == sorted(keys)
    assert sorted(backend.list("ab/")) == ["ab/c1", "ab/c2"]
    assert sorted(backend.list("ab/c1")) == ["ab/c1"]
    assert sorted(backend.list("a")) == ["ab/c1", "ab/c2", "abc", "ac/d1"]
    assert sorted(backend.list("ab")) == ["ab/c1", "ab/c2", "abc"]
    assert list(backend.list("zz")) == []
    assert list(backend.list("zz/")) == []


def check_delete_is_idempotent(backend: BlobBackend) -> None:
    """delete removes a key; deleting it again or a never-stored key is fine."""
    _put(backend, "de/l", b"bytes")
    _put(backend, "de/keep", b"other")
    backend.delete("de/l")
    assert not backend.exists("de/l")
    _expect(NotFound, backend.open, "de/l")
    backend.delete("de/l")
    backend.delete("never/stored")
    assert list(backend.list()) == ["de/keep"]


def check_size_and_empty_blob(backend: BlobBackend) -> None:
    """size is exact, including for an empty blob, which round-trips."""
    _put(backend, "empty", b"")
    _put(backend, "three", b"abc")
    assert backend.size("empty") == 0
    assert backend.size("three") == 3
    assert backend.exists("empty")
    assert _read(backend, "empty") == b""


def check_large_multi_block(backend: BlobBackend) -> None:
    """24 MiB written in uneven pieces reads back identical, in pieces and whole."""
    data = _data(24 * MiB + 12_345, seed=7)
    view = memoryview(data)
    step = MiB + 7
    with backend.stage() as staged:
        for start in range(0, len(data), step):
            staged.write(view[start : start + step])
        staged.commit("big/one")
    assert backend.size("big/one") == len(data)
    hasher = blake3.blake3()
    with backend.open("big/one") as reader:
        while chunk := reader.read(MiB):
            hasher.update(chunk)
    assert hasher.hexdigest() == blake3.blake3(data).hexdigest()


def check_invalid_keys_rejected(backend: BlobBackend) -> None:
    """Keys that could escape the store or hit reserved names raise ValidationError."""
    staged = backend.stage()
    try:
        staged.write(b"x")
        for bad in ["", "/abs", "../up", "a/../b", "a//b", ".tmp/x", "a/.hidden", "a\\b"]:
            _expect(ValidationError, backend.open, bad)
            _expect(ValidationError, backend.exists, bad)
            _expect(ValidationError, backend.delete, bad)
            _expect(ValidationError, staged.commit, bad)
        _expect(ValidationError, lambda: list(backend.list("../")))
    finally:
        staged.abort()
    assert list(backend.list()) == []


def check_local_path(backend: BlobBackend) -> None:
    """local_path is None, or a file holding exactly the key's bytes."""
    _put(backend, "lp/x", b"local bytes")
    path = backend.local_path("lp/x")
    if path is not None:
        assert Path(path).read_bytes() == b"local bytes"


def check_content_round_trip(backend: BlobBackend) -> None:
    """Digest is BLAKE3 of the bytes, stored at ab/cdef...; every read path agrees."""
    store = ContentStore(backend, block_size=1000)
    for size in (0, 1, 999, 1000, 1001, 5000):
        data = _data(size, seed=size)
        info = store.put_bytes(data)
        assert info.digest == blake3.blake3(data).hexdigest()
        assert (info.size, info.created) == (size, True)
        assert backend.exists(f"{info.digest[:2]}/{info.digest[2:]}")
        assert store.exists(info.digest)
        assert store.size(info.digest) == size
        assert store.get_bytes(info.digest) == data
        with store.open(info.digest) as reader:
            assert reader.read() == data
        store.verify(info.digest)
    assert len(set(store.digests())) == 6


def check_content_dedup(backend: BlobBackend) -> None:
    """Putting known content again stores nothing new and says created=False."""
    store = ContentStore(backend)
    data = _data(300_000, seed=3)
    first = store.put_bytes(data)
    keys = sorted(backend.list())
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder, "same.bin")
        path.write_bytes(data)
        again = store.put_file(path)
    assert first.created
    assert not again.created
    assert (again.digest, again.size) == (first.digest, first.size)
    assert store.put_bytes(data) == again
    assert sorted(backend.list()) == keys == [digest_key(first.digest)]


def check_content_tampered_bytes(backend: BlobBackend) -> None:
    """Changed stored bytes fail every read with IntegrityError; get_file writes nothing."""
    store = ContentStore(backend)
    info = store.put_bytes(_data(10_000, seed=11))
    key = digest_key(info.digest)
    _replace(backend, key, _data(10_000, seed=12))
    _assert_corrupt(store, info.digest)
    path = backend.local_path(key)
    if path is not None:  # also a same-size, in-place flip of one byte
        _replace(backend, key, _data(10_000, seed=11))
        store.verify(info.digest)
        with open(path, "r+b") as file:
            file.seek(5000)
            byte = file.read(1)
            file.seek(5000)
            file.write(bytes([byte[0] ^ 1]))
        _assert_corrupt(store, info.digest)


def _read_streaming(store: ContentStore, digest: str) -> None:
    with store.open(digest) as reader:
        while reader.read(999):
            pass


def _assert_corrupt(store: ContentStore, digest: str) -> None:
    for call in (store.get_bytes, store.verify, lambda d: _read_streaming(store, d)):
        assert digest in str(_expect(IntegrityError, call, digest))
    with tempfile.TemporaryDirectory() as folder:
        dest = Path(folder, "out", "model.bin")
        assert digest in str(_expect(IntegrityError, store.get_file, digest, dest))
        assert not dest.exists()
        assert os.listdir(dest.parent) == []


def check_content_malformed_digest(backend: BlobBackend) -> None:
    """Anything but 64 lowercase hex characters is a ValidationError, before any I/O."""
    store = ContentStore(backend)
    good = blake3.blake3(b"x").hexdigest()
    for bad in ["", "abc", good.upper(), good[:-1] + "g", good + "0", "../" + good[3:]]:
        for call in (store.open, store.get_bytes, store.exists, store.size, store.delete):
            _expect(ValidationError, call, bad)
        _expect(ValidationError, store.verify, bad)
        _expect(ValidationError, store.get_file, bad, os.devnull)


def check_content_missing_digest(backend: BlobBackend) -> None:
    """A well-formed digest that is not stored: NotFound naming it; exists is False."""
    store = ContentStore(backend)
    digest = blake3.blake3(b"never stored").hexdigest()
    assert not store.exists(digest)
    assert digest[2:] in str(_expect(NotFound, store.open, digest))
    _expect(NotFound, store.get_bytes, digest)
    _expect(NotFound, store.size, digest)
    with tempfile.TemporaryDirectory() as folder:
        _expect(NotFound, store.get_file, digest, Path(folder, "dest"))
        assert os.listdir(folder) == []


def check_content_failed_put_leaves_nothing(backend: BlobBackend) -> None:
    """A reader that fails mid-stream leaves no blob behind."""

    class Failing:
        def __init__(self) -> None:
            self.calls = 0

        def read(self, size: int = -1) -> bytes:
            self.calls += 1
            if self.calls > 3:
                raise OSError("source went away")
            return b"y" * min(size, 1000)

    store = ContentStore(backend, block_size=1000)
    _expect(OSError, store.put_stream, Failing())
    assert list(backend.list()) == []
    assert list(store.digests()) == []


def check_content_delete(backend: BlobBackend) -> None:
    """delete removes one blob, is idempotent, and leaves the others."""
    store = ContentStore(backend)
    gone, kept = store.put_bytes(b"gone"), store.put_bytes(b"kept")
    store.delete(gone.digest)
    store.delete(gone.digest)
    assert not store.exists(gone.digest)
    assert list(store.digests()) == [kept.digest]


BLOB_BACKEND_CHECKS: tuple[Callable[[BlobBackend], None], ...] = (
    check_stage_commit_round_trip,
    check_write_reused_buffer,
    check_commit_existing_key_keeps_first,
    check_abort_leaves_nothing,
    check_uncommitted_stage_is_invisible,
    check_stage_context_manager,
    check_finished_stage_rejects_writes,
    check_missing_key_not_found,
    check_list_prefixes,
    check_delete_is_idempotent,
    check_size_and_empty_blob,
    check_large_multi_block,
    check_invalid_keys_rejected,
    check_local_path,
    check_content_round_trip,
    check_content_dedup,
    check_content_tampered_bytes,
    check_content_malformed_digest,
    check_content_missing_digest,
    check_content_failed_put_leaves_nothing,
    check_content_delete,
)
