"""Hash and store local files in parallel, re-using the stat cache for unchanged ones.

BLAKE3 and file I/O release the GIL, so a thread pool keeps both cores busy on many
small files, while a large file streams through one pass of hash-and-stage. A file
whose size or mtime moves while it is read is refused: its digest would describe
bytes that no longer exist.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

import blake3

from shipyard.data.manifest import LocalFile, Manifest, size_of
from shipyard.data.stat_cache import StatCache, now_ns
from shipyard.entities import FileEntry
from shipyard.errors import ValidationError
from shipyard.storage.content import ContentStore, hash_file

OnBytes = Callable[[int], None] | None


class Progress(Protocol):
    """Receives how much work there is, then how much got done (from any thread)."""

    def start(self, files: int, size: int) -> None:
        """The work ahead: ``files`` files of ``size`` bytes in all."""

    def advance(self, files: int, size: int) -> None:
        """``files`` more files and ``size`` more bytes are done."""


# Large files are read on a pool of threads; more threads than cores only queue on the
# disk (measured: 8 threads were 2x slower than 2 on a 2-core machine).
WORKERS = max(2, min(8, os.cpu_count() or 1))
BATCH_FILES = 64
SMALL_FILE = 1 << 20  # read whole in one system call
# Files below SMALL_TASK are read, hashed and stored on the calling thread, and go into
# packs when an add stores at least PACK_MIN_FILES of them: creating a file costs more
# kernel time than writing 100 KB (see shipyard.storage.packs).
SMALL_TASK = 128 << 10
PACK_MIN_FILES = 32
BATCH_BYTES = 8 << 20


@dataclass(frozen=True)
class IngestResult:
    """The manifest of what was read, and how much work it took."""

    manifest: Manifest
    hashed: int  # files read and hashed (stat-cache misses)
    new_bytes: int  # bytes the blob store did not hold before


def ingest(
    files: list[LocalFile],
    *,
    blobs: ContentStore | None,
    cache: StatCache,
    stored: set[str] | frozenset[str] = frozenset(),
    progress: Progress | None = None,
) -> IngestResult:
    """Digest every file; with ``blobs``, also store any whose digest is not in ``stored``.

    Without ``blobs`` this only hashes (what ``data status`` needs).
    """
    started = now_ns()
    if progress is not None:
        progress.start(len(files), sum(map(size_of, files)))
    entries: list[FileEntry] = []
    todo: list[LocalFile] = []
    for local, digest in zip(files, cache.lookup(files), strict=True):
        if digest is not None and (blobs is None or digest in stored):
            entries.append(FileEntry(local.rel, local.size, local.mode, digest))
        else:
            todo.append(local)
    if progress is not None and entries:
        progress.advance(len(entries), sum(map(size_of, entries)))
    on_bytes = None if progress is None else (lambda n: progress.advance(0, n))
    if blobs is None:
        work = functools.partial(_hash, on_bytes=on_bytes)
        results = _run_split(todo, work, work, progress)
    else:
        results = _store_all(todo, blobs, on_bytes, progress)
    hashed = ((f, d) for f, (d, _) in zip(todo, results, strict=True))
    cache.remember(hashed, started, present=[f.rel for f in files])
    entries += [
        FileEntry(f.rel, f.size, f.mode, d) for f, (d, _) in zip(todo, results, strict=True)
    ]
    new_bytes = sum(size for _, size in results)
    return IngestResult(Manifest.of(entries), hashed=len(todo), new_bytes=new_bytes)


def _run_parallel(
    todo: list[LocalFile],
    work: Callable[[LocalFile], tuple[str, int]],
    progress: Progress | None,
    workers: int = WORKERS,
) -> list[tuple[str, int]]:
    """Run ``work`` over ``todo`` on a thread pool, in batches, keeping the order."""
    batches = list(_batches(todo))

    def run(batch: list[LocalFile]) -> list[tuple[str, int]]:
        results = [work(local) for local in batch]
        if progress is not None:  # large files already reported their bytes as they went
            small = sum(local.size for local in batch if local.size < SMALL_FILE)
            progress.advance(len(batch), small)
        return results

    if len(batches) <= 1 or workers <= 1:
        return [result for batch in batches for result in run(batch)]
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(run, batch) for batch in batches]
        try:
            return [result for future in futures for result in future.result()]
        except BaseException:
            for future in futures:
                future.cancel()
            raise


def _batches(files: list[LocalFile]) -> Iterator[list[LocalFile]]:
    """Group small files (a task per file costs more than hashing a small one)."""
    batch: list[LocalFile] = []
    size = 0
    for local in files:
        batch.append(local)
        size += local.size
        if len(batch) >= BATCH_FILES or size >= BATCH_BYTES:
            yield batch
            batch, size = [], 0
    if batch:
        yield batch


def _store_all(
    todo: list[LocalFile], blobs: ContentStore, on_bytes: OnBytes, progress: Progress | None
) -> list[tuple[str, int]]:
    """Store every file of ``todo``: small ones into packs when there are many."""
    store = functools.partial(_store, blobs=blobs, on_bytes=on_bytes)
    if sum(1 for local in todo if local.size < SMALL_TASK) < PACK_MIN_FILES:
        return _run_split(todo, store, store, progress)
    with blobs.pack_writer() as writer:

        def pack(local: LocalFile) -> tuple[str, int]:
            info = blobs.put_small(_read_small(local), writer)
            return info.digest, info.size if info.created else 0

        return _run_split(todo, pack, store, progress)


def _run_split(
    todo: list[LocalFile],
    small_work: Callable[[LocalFile], tuple[str, int]],
    large_work: Callable[[LocalFile], tuple[str, int]],
    progress: Progress | None,
) -> list[tuple[str, int]]:
    """``large_work`` on the pool for large files, then ``small_work`` on this thread for
    small ones (for them, handing the GIL between threads costs more than a second core
    gives: measured 1.25 s on one thread against 1.5-1.7 s on two for 20,000 files);
    results in the order of ``todo``."""
    small = [i for i, local in enumerate(todo) if local.size < SMALL_TASK]
    large = [i for i, local in enumerate(todo) if local.size >= SMALL_TASK]
    results: list[tuple[str, int]] = [("", 0)] * len(todo)
    done = _run_parallel([todo[i] for i in large], large_work, progress)
    for i, result in zip(large, done, strict=True):
        results[i] = result
    done = _run_parallel([todo[i] for i in small], small_work, progress, workers=1)
    for i, result in zip(small, done, strict=True):
        results[i] = result
    return results


def _hash(local: LocalFile, *, on_bytes: OnBytes) -> tuple[str, int]:
    if local.size < SMALL_FILE:
        data = _read_small(local)
        return blake3.blake3(data).hexdigest(), 0
    with _reading(local):
        digest = hash_file(local.path, on_bytes=on_bytes)
    _check_unchanged(local)
    return digest, 0


def _store(local: LocalFile, *, blobs: ContentStore, on_bytes: OnBytes) -> tuple[str, int]:
    if local.size < SMALL_FILE:
        info = blobs.put_bytes(_read_small(local))
    else:
        with _reading(local):
            info = blobs.put_file(local.path, on_bytes)
        if info.size != local.size:
            raise _changed(local)
        _check_unchanged(local)
    return info.digest, info.size if info.created else 0


def _read_small(local: LocalFile) -> bytes:
    """The bytes of a small file in one read, checked against its stat on the same handle."""
    with _reading(local):
        fd = os.open(local.path, os.O_RDONLY)
        try:
            data = os.read(fd, local.size + 1)
            after = os.fstat(fd)
        finally:
            os.close(fd)
    if len(data) != local.size or (after.st_size, after.st_mtime_ns) != (
        local.size,
        local.mtime_ns,
    ):
        raise _changed(local)
    return data


@contextmanager
def _reading(local: LocalFile) -> Iterator[None]:
    """Turn OS errors while reading ``local`` into one clear line."""
    try:
        yield
    except PermissionError as exc:
        raise ValidationError(f"cannot read {local.path!r}: permission denied") from exc
    except FileNotFoundError as exc:
        raise ValidationError(
            f"{local.path!r} disappeared while it was being read; nothing was recorded"
        ) from exc
    except OSError as exc:
        raise ValidationError(f"cannot read {local.path!r}: {exc.strerror or exc}") from exc


def _check_unchanged(local: LocalFile) -> None:
    try:
        after = os.stat(local.path)
    except FileNotFoundError as exc:
        raise _changed(local) from exc
    if (after.st_size, after.st_mtime_ns) != (local.size, local.mtime_ns):
        raise _changed(local)


def _changed(local: LocalFile) -> ValidationError:
    return ValidationError(
        f"{local.path!r} changed while it was being hashed; nothing was recorded. "
        "Wait until it is complete, then add it again"
    )


def digests_of(manifests: Iterable[Manifest]) -> set[str]:
    """Every blob digest the manifests refer to."""
    return {entry.digest for manifest in manifests for entry in manifest.entries}
