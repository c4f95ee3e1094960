"""A blob backend over S3 (or any S3-compatible service) through s3fs.

URL: ``s3://bucket/prefix``. Options go to :class:`s3fs.S3FileSystem` (``endpoint_url``,
``key``, ``secret``, ``client_kwargs``, ``max_concurrency``...), except two of ours:
``part_size`` (multipart part size in bytes, default 8 MiB, at least 5 MiB) and
``spool_dir`` (where staged writes are spooled, default the system temp folder).

Staged writes spool to a local temp file; commit uploads it (multipart above two parts).
S3 makes an object visible only when its upload completes, so a killed writer leaves
nothing under the key, only an incomplete multipart upload that
:meth:`S3BlobBackend.sweep_stale_temp` (or a bucket lifecycle rule) aborts.

s3fs's listing cache is switched off and each backend owns its file system instance,
so objects written by other processes are seen at once.
"""

from __future__ import annotations

import io
import math
import os
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO, cast

import s3fs
from botocore.exceptions import BotoCoreError, ClientError

from shipyard.errors import NotFound, ShipyardError, StorageError, ValidationError
from shipyard.storage.blobs import (
    StagedBlob,
    check_key,
    check_prefix,
    finished_stage_error,
    is_valid_key,
)

__all__ = ["DEFAULT_PART_SIZE", "MIN_PART_SIZE", "S3BlobBackend"]

MIN_PART_SIZE = 5 * 2**20
DEFAULT_PART_SIZE = 8 * 2**20
_MAX_PARTS = 10_000
_BACKEND_ERRORS = (OSError, BotoCoreError, ClientError)


class S3BlobBackend:
    """Blobs as objects under ``s3://bucket/prefix/``."""

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        part_size: int = DEFAULT_PART_SIZE,
        spool_dir: str | os.PathLike[str] | None = None,
        **storage_options: Any,
    ) -> None:
        if not isinstance(part_size, int) or part_size < MIN_PART_SIZE:
            raise ValidationError(
                f"S3 option part_size must be a number of bytes of at least {MIN_PART_SIZE} "
                f"(5 MiB, the S3 minimum), got {part_size!r} instead",
                details=[{"bucket": bucket, "part_size": repr(part_size)}],
            )
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.part_size = part_size
        self.spool_dir = None if spool_dir is None else os.fspath(spool_dir)
        self.storage_options = storage_options
        self.url = f"s3://{bucket}/{self.prefix}".rstrip("/")
        self._fs: s3fs.S3FileSystem | None = None

    @classmethod
    def from_url(cls, url: str, options: Mapping[str, Any]) -> S3BlobBackend:
        """Build from ``s3://bucket/prefix`` and s3fs options (see the module docstring)."""
        bucket, _, prefix = url.partition("://")[2].partition("/")
        if not bucket:
            raise ValidationError(
                f"S3 blob store URLs look like 's3://bucket/prefix', got {url!r} (no bucket) "
                f"instead",
                details=[{"url": url}],
            )
        prefix = prefix.strip("/")
        if prefix and not is_valid_key(prefix):
            raise ValidationError(
                f"the prefix of an S3 blob store URL must be '/'-separated segments of "
                f"letters, digits, '_', '-' and '.', got {prefix!r} in {url!r} instead",
                details=[{"url": url}],
            )
        return cls(bucket, prefix, **options)

    def __repr__(self) -> str:
        return f"S3BlobBackend({self.url!r})"

    @property
    def fs(self) -> s3fs.S3FileSystem:
        """This backend's own s3fs file system (listing cache off), made on first use."""
        if self._fs is None:
            options = {**self.storage_options, "use_listings_cache": False}
            self._fs = s3fs.S3FileSystem(skip_instance_cache=True, **options)
        return self._fs

    def stage(self) -> StagedBlob:
        """Start a write spooled to a local temp file."""
        try:
            fd, name = tempfile.mkstemp(
                prefix="shipyard-s3-stage-", suffix=".part", dir=self.spool_dir
            )
        except OSError as exc:
            raise StorageError(
                f"could not create a spool file in {self.spool_dir or tempfile.gettempdir()}"
                f": {exc.strerror or exc}; check that it exists and has free space",
                details=[{"url": self.url, "spool_dir": self.spool_dir}],
            ) from exc
        return _S3StagedBlob(self, os.fdopen(fd, "wb"), Path(name))

    def open(self, key: str) -> BinaryIO:
        """A reader over ``key``'s object (ranged GETs, errors become StorageError)."""
        with self._errors("open", key):
            raw = self.fs.open(self._path(key), "rb", block_size=self.part_size)
        return io.BufferedReader(_GuardedReader(raw, self, key), buffer_size=self.part_size)

    def exists(self, key: str) -> bool:
        """Whether ``key`` holds a committed object (one HEAD request)."""
        try:
            self._head(key)
        except NotFound:
            return False
        return True

    def size(self, key: str) -> int:
        """Size in bytes of ``key``'s object."""
        return int(self._head(key)["ContentLength"])

    def list(self, prefix: str = "") -> Iterator[str]:
        """Committed keys starting with ``prefix``, streamed page by page."""
        check_prefix(prefix)
        return self._pages(f"{self.prefix}/{prefix}" if self.prefix else prefix)

    def delete(self, key: str) -> None:
        """Remove ``key``'s object; a missing key is not an error."""
        with self._errors("delete", None):
            self.fs.call_s3("delete_object", Bucket=self.bucket, Key=self._object_key(key))

    def local_path(self, key: str) -> str | None:
        """Always ``None``: objects do not live on the local disk."""
        check_key(key)
        return None

    def sweep_stale_temp(self, older_than_seconds: float = 24 * 3600.0) -> int:
        """Abort multipart uploads under the prefix started ``older_than_seconds`` ago.

        Killed writers leave such uploads behind: invisible, but billed. Returns how many
        were aborted.
        """
        cutoff = time.time() - older_than_seconds
        aborted = 0
        with self._errors("list the pending uploads of", None):
            for upload in self._pending_uploads():
                if upload["Initiated"].timestamp() <= cutoff:
                    self.fs.call_s3(
                        "abort_multipart_upload",
                        Bucket=self.bucket,
                        Key=upload["Key"],
                        UploadId=upload["UploadId"],
                    )
                    aborted += 1
        return aborted

    def _upload(self, spool: Path, key: str) -> None:
        size = spool.stat().st_size
        chunksize = max(self.part_size, math.ceil(size / _MAX_PARTS))
        with self._errors(f"upload {key!r} to", None):
            self.fs.put_file(
                str(spool),
                self._path(key),
                chunksize=chunksize,
                ContentType="application/octet-stream",
            )

    def _head(self, key: str) -> dict[str, Any]:
        with self._errors("read the metadata of", key):
            out = self.fs.call_s3("head_object", Bucket=self.bucket, Key=self._object_key(key))
        return cast(dict[str, Any], out)

    def _pages(self, full_prefix: str) -> Iterator[str]:
        skip = len(self.prefix) + 1 if self.prefix else 0
        token: dict[str, str] = {}
        while True:
            with self._errors("list", None):
                page = self.fs.call_s3(
                    "list_objects_v2", Bucket=self.bucket, Prefix=full_prefix, **token
                )
            for item in page.get("Contents", []):
                key = str(item["Key"])[skip:]
                if is_valid_key(key):
                    yield key
            if not page.get("IsTruncated"):
                return
            token = {"ContinuationToken": page["NextContinuationToken"]}

    def _pending_uploads(self) -> Iterator[dict[str, Any]]:
        markers: dict[str, str] = {}
        prefix = self.prefix + "/" if self.prefix else ""
        while True:
            page = self.fs.call_s3(
                "list_multipart_uploads", Bucket=self.bucket, Prefix=prefix, **markers
            )
            yield from page.get("Uploads", [])
            if not page.get("IsTruncated"):
                return
            markers = {
                "KeyMarker": page["NextKeyMarker"],
                "UploadIdMarker": page["NextUploadIdMarker"],
            }

    def _object_key(self, key: str) -> str:
        check_key(key)
        return f"{self.prefix}/{key}" if self.prefix else key

    def _path(self, key: str) -> str:
        return f"{self.bucket}/{self._object_key(key)}"

    def _not_found(self, key: str) -> NotFound:
        return NotFound(
            f"blob {key!r} does not exist in {self.url} (or the bucket does not exist); "
            f"check the key, or put the content first",
            details=[{"key": key, "url": self.url}],
        )

    @contextmanager
    def _errors(self, action: str, key: str | None) -> Iterator[None]:
        """Map s3fs/botocore errors; a missing object means NotFound only if ``key``."""
        try:
            yield
        except ShipyardError:
            raise
        except FileNotFoundError as exc:
            if key is not None:
                raise self._not_found(key) from exc
            raise self._storage_error(action, exc, "check that the bucket exists") from exc
        except _BACKEND_ERRORS as exc:
            hint = "check the endpoint, the credentials and the bucket's permissions"
            raise self._storage_error(action, exc, hint) from exc

    def _storage_error(self, action: str, exc: BaseException, hint: str) -> StorageError:
        endpoint = self.storage_options.get("endpoint_url") or "AWS"
        return StorageError(
            f"could not {action} {self.url} (endpoint {endpoint}): "
            f"{type(exc).__name__}: {exc}; {hint}",
            details=[{"url": self.url, "endpoint": str(endpoint), "error": repr(exc)}],
        )


class _S3StagedBlob(StagedBlob):
    """A local spool file, uploaded on commit."""

    def __init__(self, backend: S3BlobBackend, file: io.BufferedWriter, path: Path) -> None:
        self._backend = backend
        self._file = file
        self._path = path
        self._done = False

    def fileno(self) -> int:
        """The descriptor of the local file being staged, for kernel-side copies."""
        if self._done:
            raise finished_stage_error()
        self._file.flush()
        return self._file.fileno()

    def write(self, data: bytes | memoryview) -> int:
        """Append ``data`` to the spool file."""
        if self._done:
            raise finished_stage_error()
        try:
            return self._file.write(data)
        except OSError as exc:
            self.abort()
            raise StorageError(
                f"could not spool a write for {self._backend.url} to {self._path}: "
                f"{exc.strerror or exc}; free some space or set the spool_dir option",
                details=[{"url": self._backend.url, "spool": str(self._path)}],
            ) from exc

    def commit(self, key: str) -> None:
        """Upload the spool file to ``key`` unless ``key`` exists already."""
        if self._done:
            raise finished_stage_error()
        check_key(key)
        try:
            self._file.close()
            if not self._backend.exists(key):
                self._backend._upload(self._path, key)
        finally:
            self.abort()

    def abort(self) -> None:
        """Close and remove the spool file."""
        self._done = True
        self._file.close()
        self._path.unlink(missing_ok=True)


class _GuardedReader(io.RawIOBase):
    """Reads from an s3fs file, turning transport failures into StorageError."""

    def __init__(self, raw: Any, backend: S3BlobBackend, key: str) -> None:
        self._raw = raw
        self._backend = backend
        self._key = key

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        with self._backend._errors(f"read {self._key!r} from", self._key):
            data = self._raw.read(len(buffer))
        buffer[: len(data)] = data
        return len(data)

    def close(self) -> None:
        if not self.closed:
            self._raw.close()
        super().close()
