"""Rows of datasets and their immutable versions."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Column,
    Connection,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
)

from shipyard.entities import DatasetVersion
from shipyard.storage.sql.schema import canonical_json, metadata

datasets = Table(
    "datasets",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
)

dataset_versions = Table(
    "dataset_versions",
    metadata,
    Column("name", String(100), ForeignKey("datasets.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("digest", String(64), nullable=False),
    Column("message", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("parent", Integer, nullable=True),
    Column("files", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("table_path", Text, nullable=True),
    Column("schema", Text, nullable=True),
    Column("profile", Text, nullable=True),
    Column("pii", Text, nullable=False),
)

_JSON_FIELDS = ("schema", "profile")


class SqlDatasetStore:
    """Reads and appends dataset versions; callers own the transaction."""

    def lock_dataset(self, conn: Connection, name: str, *, created_at: str, actor: str) -> None:
        """Create the dataset row if needed and lock it until the transaction ends."""
        query = select(datasets.c.name).where(datasets.c.name == name).with_for_update()
        if conn.execute(query).one_or_none() is None:
            conn.execute(
                datasets.insert().values(name=name, created_at=created_at, created_by=actor)
            )

    def insert(self, conn: Connection, version: DatasetVersion) -> None:
        """Store one new version."""
        row = {
            "name": version.name,
            "version": version.version,
            "digest": version.digest,
            "message": version.message,
            "author": version.author,
            "created_at": version.created_at,
            "parent": version.parent,
            "files": version.files,
            "bytes": version.bytes,
            "kind": version.kind,
            "table_path": version.table_path,
            "schema": None if version.schema is None else canonical_json(version.schema),
            "profile": None if version.profile is None else canonical_json(version.profile),
            "pii": canonical_json(version.pii),
        }
        conn.execute(dataset_versions.insert().values(row))

    def get(self, conn: Connection, name: str, version: int | None) -> DatasetVersion | None:
        """Version ``version`` of ``name`` (the latest when None), or None."""
        query = select(dataset_versions).where(dataset_versions.c.name == name)
        if version is None:
            query = query.order_by(dataset_versions.c.version.desc()).limit(1)
        else:
            query = query.where(dataset_versions.c.version == version)
        row = conn.execute(query).one_or_none()
        return _from_row(row._mapping) if row else None

    def history(self, conn: Connection, name: str) -> list[DatasetVersion]:
        """Every version of ``name``, newest first."""
        query = (
            select(dataset_versions)
            .where(dataset_versions.c.name == name)
            .order_by(dataset_versions.c.version.desc())
        )
        return [_from_row(row._mapping) for row in conn.execute(query)]

    def latest_of_each(self, conn: Connection) -> list[DatasetVersion]:
        """The newest version of every dataset, sorted by name."""
        newest = (
            select(dataset_versions.c.name, func.max(dataset_versions.c.version).label("v"))
            .group_by(dataset_versions.c.name)
            .subquery()
        )
        query = (
            select(dataset_versions)
            .join(
                newest,
                (dataset_versions.c.name == newest.c.name)
                & (dataset_versions.c.version == newest.c.v),
            )
            .order_by(dataset_versions.c.name)
        )
        return [_from_row(row._mapping) for row in conn.execute(query)]

    def count_versions(self, conn: Connection, name: str) -> int:
        """How many versions ``name`` has."""
        query = select(func.count()).where(dataset_versions.c.name == name)
        return int(conn.execute(query).scalar_one())


def _from_row(row: Any) -> DatasetVersion:
    loaded = {key: json.loads(row[key]) if row[key] is not None else None for key in _JSON_FIELDS}
    return DatasetVersion(
        name=row["name"],
        version=row["version"],
        digest=row["digest"],
        message=row["message"],
        author=row["author"],
        created_at=row["created_at"],
        parent=row["parent"],
        files=row["files"],
        bytes=row["bytes"],
        kind=row["kind"],
        table_path=row["table_path"],
        schema=loaded["schema"],
        profile=loaded["profile"],
        pii=json.loads(row["pii"]),
    )
