"""``data status`` on an embedded SQLite workspace without SQLAlchemy.

Status only reads: the newest version of one dataset, then its manifest blob. On a
workspace whose metadata store is a SQLite file already at the newest schema, that
version is read with the standard library's ``sqlite3`` over a read-only connection,
sparing the command the import of SQLAlchemy and the building of the Platform (a third
of its time on 20,000 files). Everything else, what status compares and how it
reports, is :func:`shipyard.data.local.local_status`, as for the full path.

Whenever this shortcut does not plainly apply (a server, PostgreSQL or any other store
URL, a schema that is not the newest, a database that cannot be opened read-only,
anything unexpected) :func:`quick_status` returns None and the caller takes the full
path, which migrates, waits for locks and reports errors as it always has.
"""

from __future__ import annotations

import os
import re
import sqlite3
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote

from shipyard import config
from shipyard.data.local import Latest, local_status
from shipyard.data.refs import check_name
from shipyard.storage.sql.schema_head import SCHEMA_HEAD

if TYPE_CHECKING:
    from shipyard.config import Settings
    from shipyard.data.ingest import Progress
    from shipyard.data.local import StatusReport
    from shipyard.storage.content import ContentStore

# A plain file path after ``sqlite:///``: no query string, no escapes, not in memory.
_SQLITE_FILE_URL = re.compile(r"sqlite:///(?P<path>[^?#%]+)")
_BUSY_TIMEOUT_S = 2.0  # then the full path, which waits longer, takes over
_NOT_ON_DISK = ":memory:"


class NotApplicable(Exception):
    """The store is not what this reader knows (another schema revision)."""


def quick_status(
    home: str | None, name: str, path: str | Path, progress: Progress | None = None
) -> StatusReport | None:
    """The status report of ``path`` against ``name`` in the workspace ``home`` (as the
    CLI's ``--home`` names it), or None when the full path must answer."""
    found = embedded_latest(home, name)
    if found is None:
        return None
    settings, latest = found

    def blobs() -> ContentStore:
        from shipyard.platform import open_content_store

        return open_content_store(settings)

    return local_status(name, latest, Path(path), blobs, settings.cache_dir, progress)


def embedded_latest(home: str | None, name: str) -> tuple[Settings, Latest | None] | None:
    """The settings of the workspace ``home`` and the newest version of ``name`` (None:
    it has none), read without SQLAlchemy; None unless ``home`` is an embedded
    workspace on a SQLite file at the newest schema that could be read."""
    if (home is None and config.server()[0]) or (home or "").startswith(("http://", "https://")):
        return None  # a server answers
    settings = config.resolve(home)  # the full path would raise the same errors
    database = sqlite_file(settings.store_url)
    if database is None:
        return None
    check_name(name)
    try:
        return settings, read_latest(database, name)
    except Exception:  # NotApplicable, a locked or unreadable file, anything unexpected
        return None


def sqlite_file(store_url: str) -> Path | None:
    """The database file a ``sqlite:///PATH`` store URL names, if it exists; else None."""
    match = _SQLITE_FILE_URL.fullmatch(store_url)
    if match is None or match["path"] == _NOT_ON_DISK:
        return None
    database = Path(os.path.abspath(match["path"]))
    return database if database.is_file() else None


def read_latest(database: Path, name: str) -> Latest | None:
    """The newest version of ``name`` (None: it has none), read in one read-only
    transaction; :class:`NotApplicable` unless the schema is at :data:`SCHEMA_HEAD`."""
    uri = f"file:{quote(str(database))}?mode=ro"
    connection = sqlite3.connect(uri, uri=True, timeout=_BUSY_TIMEOUT_S, isolation_level=None)
    with closing(connection):
        connection.execute("BEGIN")
        revisions = connection.execute("SELECT version_num FROM alembic_version").fetchall()
        if revisions != [(SCHEMA_HEAD,)]:
            raise NotApplicable(f"schema revisions {revisions!r}, not {SCHEMA_HEAD!r}")
        row = connection.execute(
            "SELECT version, digest FROM dataset_versions WHERE name = ? "
            "ORDER BY version DESC LIMIT 1",
            (name,),
        ).fetchone()
        connection.execute("COMMIT")
    if row is None:
        return None
    version, digest = row
    return Latest(f"{name}@v{int(version)}", str(digest))
