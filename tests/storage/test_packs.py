"""Packs: many small blobs in one backend key, read, verified, found and dropped like loose ones."""

from __future__ import annotations

import os
from pathlib import Path

import blake3
import pytest

from shipyard.errors import IntegrityError, NotFound
from shipyard.storage.blobs.local import LocalBlobBackend
from shipyard.storage.content import ContentStore, digest_key
from shipyard.storage.packs import PACK_FOLDER
from shipyard.testing import MemoryBlobBackend


def _blobs(count: int, seed: int = 0) -> list[bytes]:
    return [blake3.blake3(f"{seed}-{i}".encode()).digest(length=100 + i) for i in range(count)]


def _packed(store: ContentStore, blobs: list[bytes], limit: int = 1 << 20) -> list[str]:
    with store.packs.writer(limit) as writer:
        return [store.put_small(data, writer).digest for data in blobs]


def _pack_then_fail(store: ContentStore, blobs: list[bytes]) -> None:
    with store.packs.writer(2_000) as writer:
        for data in blobs:
            store.put_small(data, writer)
        raise RuntimeError("the add failed")


def _pack_files(root: Path) -> list[Path]:
    return sorted((root / PACK_FOLDER).glob("*.pack"))


@pytest.fixture(params=["local", "memory"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> ContentStore:
    if request.param == "local":
        return ContentStore(LocalBlobBackend(tmp_path / "blobs"))
    return ContentStore(MemoryBlobBackend())


def test_packed_blobs_read_back_like_loose_ones(store: ContentStore) -> None:
    blobs = _blobs(50)
    digests = _packed(store, blobs)
    assert digests == [blake3.blake3(b).hexdigest() for b in blobs]
    assert list(store.backend.list(f"{PACK_FOLDER}/")) != []
    assert not any(store.backend.exists(digest_key(d)) for d in digests)  # no loose files
    for data, digest in zip(blobs, digests, strict=True):
        assert store.exists(digest)
        assert store.size(digest) == len(data)
        assert store.get_bytes(digest) == data
        with store.open(digest) as reader:
            assert reader.read() == data
        store.verify(digest)
    assert set(store.digests()) == set(digests)


def test_a_blob_already_stored_is_not_packed_again(store: ContentStore) -> None:
    loose = store.put_bytes(b"already loose")
    digests = _packed(store, _blobs(3))
    with store.packs.writer() as writer:
        assert not store.put_small(b"already loose", writer).created
        assert not store.put_small(_blobs(3)[1], writer).created
        twice = [store.put_small(b"twice in one pack", writer).created for _ in range(2)]
    assert twice == [True, False]
    assert store.backend.exists(digest_key(loose.digest))  # the loose one stays loose
    assert not store.packs.holds(loose.digest)
    assert store.exists(digests[1])


def test_writers_roll_over_to_a_new_pack_at_their_limit(tmp_path: Path) -> None:
    store = ContentStore(LocalBlobBackend(tmp_path))
    digests = _packed(store, _blobs(40), limit=2_000)
    packs = _pack_files(tmp_path)
    assert len(packs) > 1
    assert all(p.stat().st_size < 2_000 + 150 + 48 * 40 + 56 for p in packs)
    assert all(store.get_bytes(d) for d in digests)


def test_an_aborted_writer_leaves_only_the_packs_it_finished(tmp_path: Path) -> None:
    store = ContentStore(LocalBlobBackend(tmp_path))
    blobs = _blobs(40)
    with pytest.raises(RuntimeError, match="the add failed"):
        _pack_then_fail(store, blobs)
    finished = _pack_files(tmp_path)
    assert finished  # the full ones were committed on the way
    fresh = ContentStore(LocalBlobBackend(tmp_path))
    kept = [b for b in blobs if fresh.exists(blake3.blake3(b).hexdigest())]
    assert 0 < len(kept) < len(blobs)
    assert all(fresh.get_bytes(blake3.blake3(b).hexdigest()) == b for b in kept)
    assert list((tmp_path / ".tmp").iterdir()) == []  # nothing staged is left behind


def test_a_changed_byte_in_a_pack_is_refused(tmp_path: Path) -> None:
    store = ContentStore(LocalBlobBackend(tmp_path))
    digests = _packed(store, _blobs(10))
    (pack,) = _pack_files(tmp_path)
    where = store.packs.find(digests[3])
    assert where is not None
    with pack.open("r+b") as file:
        file.seek(where.offset)
        first = file.read(1)
        file.seek(where.offset)
        file.write(bytes([first[0] ^ 1]))
    fresh = ContentStore(LocalBlobBackend(tmp_path))
    with pytest.raises(IntegrityError, match=digests[3]):
        fresh.get_bytes(digests[3])
    with pytest.raises(IntegrityError, match=digests[3]):
        fresh.write_new_file(digests[3], str(tmp_path / "out"), 0o644)
    assert fresh.get_bytes(digests[4])  # its neighbours are still good


def test_a_damaged_pack_index_is_reported(tmp_path: Path) -> None:
    store = ContentStore(LocalBlobBackend(tmp_path))
    digests = _packed(store, _blobs(10))
    (pack,) = _pack_files(tmp_path)
    with pack.open("r+b") as file:
        file.seek(-60, os.SEEK_END)  # inside the index
        file.write(b"\xff\xff\xff\xff")
    fresh = ContentStore(LocalBlobBackend(tmp_path))
    assert not fresh.exists(digests[0])  # so the next add stores it again
    with pytest.raises(IntegrityError, match="damaged"):
        fresh.get_bytes(digests[0])


def test_packs_written_by_another_process_are_found(tmp_path: Path) -> None:
    reader = ContentStore(LocalBlobBackend(tmp_path))
    assert list(reader.digests()) == []  # its index is loaded, and empty
    writer = ContentStore(LocalBlobBackend(tmp_path))
    digests = _packed(writer, _blobs(5))
    assert reader.get_bytes(digests[0]) == _blobs(5)[0]
    assert reader.size(digests[1]) == len(_blobs(5)[1])


def test_deleting_a_packed_blob_rewrites_its_pack(store: ContentStore) -> None:
    blobs = _blobs(8)
    digests = _packed(store, blobs)
    (before,) = list(store.backend.list(f"{PACK_FOLDER}/"))
    store.delete(digests[2])
    (after,) = list(store.backend.list(f"{PACK_FOLDER}/"))
    assert after != before
    assert not store.exists(digests[2])
    with pytest.raises(NotFound):
        store.get_bytes(digests[2])
    assert [store.get_bytes(d) for i, d in enumerate(digests) if i != 2] == [
        b for i, b in enumerate(blobs) if i != 2
    ]
    store.delete(digests[2])  # a missing blob is not an error
