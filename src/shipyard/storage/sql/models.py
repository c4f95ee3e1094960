"""Rows of the model registry: models, immutable versions, aliases, evaluations, verdicts
and approval events."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Connection,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    select,
    update,
)

from shipyard.entities import ApprovalEvent, ModelVersion
from shipyard.storage.sql.schema import canonical_json, metadata

registered_models = Table(
    "registered_models",
    metadata,
    Column("name", String(100), primary_key=True),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("policy", Text, nullable=True),
)

model_versions = Table(
    "model_versions",
    metadata,
    Column("name", String(100), ForeignKey("registered_models.name"), primary_key=True),
    Column("version", Integer, primary_key=True, autoincrement=False),
    Column("run_id", String(32), nullable=True),
    Column("flavor", String(20), nullable=False),
    Column("safe", Boolean, nullable=False),
    Column("digest", String(64), nullable=False),
    Column("files", Integer, nullable=False),
    Column("bytes", BigInteger, nullable=False),
    Column("signature", Text, nullable=False),
    Column("packages", Text, nullable=False),
    Column("details", Text, nullable=False),
    Column("author", String(200), nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("description", Text, nullable=False),
)

model_aliases = Table(
    "model_aliases",
    metadata,
    Column("name", String(100), ForeignKey("registered_models.name"), primary_key=True),
    Column("alias", String(64), primary_key=True),
    Column("version", Integer, nullable=False),
    Column("updated_at", String(40), nullable=False),
    Column("updated_by", String(200), nullable=False),
)

model_evaluations = Table(
    "model_evaluations",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("key", String(500), nullable=False),
    Column("result", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_model_evaluations_name_version", "name", "version"),
)

model_verdicts = Table(
    "model_verdicts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("alias", String(64), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("report", Text, nullable=False),
    Column("created_at", String(40), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_model_verdicts_name_version", "name", "version"),
)

model_approvals = Table(
    "model_approvals",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False),
    Column("version", Integer, nullable=False),
    Column("action", String(20), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("at", String(40), nullable=False),
    Column("comment", Text, nullable=False),
    Index("ix_model_approvals_name_version", "name", "version"),
)


class SqlModelStore:
    """Reads and writes registry rows; callers own the transaction."""

    def lock_model(self, conn: Connection, name: str, *, created_at: str, actor: str) -> None:
        """Create the registered model if needed and lock it until the transaction ends."""
        query = select(registered_models.c.name).where(registered_models.c.name == name)
        if conn.execute(query.with_for_update()).one_or_none() is None:
            conn.execute(
                registered_models.insert().values(
                    name=name, created_at=created_at, created_by=actor
                )
            )

    def model_exists(self, conn: Connection, name: str) -> bool:
        """True when a model of that name is registered."""
        query = select(registered_models.c.name).where(registered_models.c.name == name)
        return conn.execute(query).one_or_none() is not None

    def insert_version(self, conn: Connection, version: ModelVersion) -> None:
        """Store one new version."""
        conn.execute(
            model_versions.insert().values(
                name=version.name,
                version=version.version,
                run_id=version.run_id,
                flavor=version.flavor,
                safe=version.safe,
                digest=version.digest,
                files=version.files,
                bytes=version.bytes,
                signature=canonical_json(version.signature),
                packages=canonical_json(version.packages),
                details=canonical_json(version.details),
                author=version.author,
                created_at=version.created_at,
                description=version.description,
            )
        )

    def latest_number(self, conn: Connection, name: str) -> int:
        """The highest version number of ``name`` (0 when it has none)."""
        query = select(func.max(model_versions.c.version)).where(model_versions.c.name == name)
        return int(conn.execute(query).scalar_one() or 0)

    def get(self, conn: Connection, name: str, version: int) -> ModelVersion | None:
        """Version ``version`` of ``name``, with its aliases, or None."""
        query = select(model_versions).where(
            model_versions.c.name == name, model_versions.c.version == version
        )
        row = conn.execute(query).one_or_none()
        return _version(row._mapping, self.aliases(conn, name)) if row else None

    def versions(self, conn: Connection, name: str | None = None) -> list[ModelVersion]:
        """Every version (of ``name``, or of every model), by name then newest first."""
        query = select(model_versions).order_by(
            model_versions.c.name, model_versions.c.version.desc()
        )
        if name is not None:
            query = query.where(model_versions.c.name == name)
        rows = conn.execute(query).all()
        aliases = self.aliases(conn, name)
        return [_version(row._mapping, aliases) for row in rows]

    def aliases(
        self, conn: Connection, name: str | None = None
    ) -> dict[tuple[str, int], list[str]]:
        """Aliases by (model, version)."""
        query = select(model_aliases.c.name, model_aliases.c.version, model_aliases.c.alias)
        if name is not None:
            query = query.where(model_aliases.c.name == name)
        found: dict[tuple[str, int], list[str]] = {}
        for model, version, alias in conn.execute(query.order_by(model_aliases.c.alias)):
            found.setdefault((model, version), []).append(alias)
        return found

    def alias_target(self, conn: Connection, name: str, alias: str) -> int | None:
        """The version ``alias`` points at, or None."""
        query = select(model_aliases.c.version).where(
            model_aliases.c.name == name, model_aliases.c.alias == alias
        )
        return conn.execute(query).scalar_one_or_none()

    def set_alias(
        self, conn: Connection, name: str, alias: str, version: int, *, at: str, actor: str
    ) -> None:
        """Point ``alias`` at ``version`` (creating the alias if needed)."""
        values = {"version": version, "updated_at": at, "updated_by": actor}
        moved = conn.execute(
            update(model_aliases)
            .where(model_aliases.c.name == name, model_aliases.c.alias == alias)
            .values(values)
        )
        if moved.rowcount == 0:
            conn.execute(model_aliases.insert().values(name=name, alias=alias, **values))

    def policy(self, conn: Connection, name: str) -> dict[str, Any] | None:
        """The stored promotion policy of ``name`` (a JSON document), or None."""
        query = select(registered_models.c.policy).where(registered_models.c.name == name)
        text = conn.execute(query).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    def set_policy(self, conn: Connection, name: str, policy: dict[str, Any] | None) -> None:
        """Store (or clear) the promotion policy of ``name``."""
        text = None if policy is None else canonical_json(policy)
        conn.execute(
            update(registered_models).where(registered_models.c.name == name).values(policy=text)
        )

    def add_evaluation(
        self, conn: Connection, name: str, version: int, key: str, result: dict[str, Any], **by: str
    ) -> None:
        """Store one evaluation result under ``key`` (data, target and sensitive columns)."""
        conn.execute(
            model_evaluations.insert().values(
                name=name, version=version, key=key, result=canonical_json(result), **by
            )
        )

    def evaluations(self, conn: Connection, name: str, version: int) -> list[dict[str, Any]]:
        """Every evaluation of a version, oldest first."""
        query = (
            select(model_evaluations.c.key, model_evaluations.c.result)
            .where(model_evaluations.c.name == name, model_evaluations.c.version == version)
            .order_by(model_evaluations.c.id)
        )
        return [json.loads(result) for _, result in conn.execute(query)]

    def evaluation(
        self, conn: Connection, name: str, version: int, key: str
    ) -> dict[str, Any] | None:
        """The newest evaluation of a version under ``key``, or None."""
        query = (
            select(model_evaluations.c.result)
            .where(
                model_evaluations.c.name == name,
                model_evaluations.c.version == version,
                model_evaluations.c.key == key,
            )
            .order_by(model_evaluations.c.id.desc())
            .limit(1)
        )
        text = conn.execute(query).scalar_one_or_none()
        return None if text is None else dict(json.loads(text))

    def add_verdict(
        self, conn: Connection, name: str, version: int, report: dict[str, Any], **by: str
    ) -> None:
        """Store a promotion verdict (every check, passed or failed)."""
        conn.execute(
            model_verdicts.insert().values(
                name=name,
                version=version,
                alias=report["alias"],
                ok=bool(report["ok"]),
                report=canonical_json(report),
                **by,
            )
        )

    def verdicts(self, conn: Connection, name: str, version: int) -> list[dict[str, Any]]:
        """Every verdict of a version, oldest first."""
        query = (
            select(model_verdicts.c.report)
            .where(model_verdicts.c.name == name, model_verdicts.c.version == version)
            .order_by(model_verdicts.c.id)
        )
        return [json.loads(report) for (report,) in conn.execute(query)]

    def add_approval(self, conn: Connection, event: ApprovalEvent) -> None:
        """Append one approval event."""
        conn.execute(
            model_approvals.insert().values(
                name=event.name,
                version=event.version,
                action=event.action,
                actor=event.actor,
                at=event.at,
                comment=event.comment,
            )
        )

    def approvals(self, conn: Connection, name: str, version: int) -> list[ApprovalEvent]:
        """The approval events of a version, oldest first."""
        query = (
            select(model_approvals)
            .where(model_approvals.c.name == name, model_approvals.c.version == version)
            .order_by(model_approvals.c.id)
        )
        return [
            ApprovalEvent(
                name=row.name,
                version=row.version,
                action=row.action,
                actor=row.actor,
                at=row.at,
                comment=row.comment,
            )
            for row in conn.execute(query)
        ]


def downstream_rows(conn: Connection, dataset: str, version: int) -> list[dict[str, Any]]:
    """The runs that read a dataset version, each with the model versions it logged."""
    from shipyard.storage.sql.runs import experiments, run_inputs, runs

    query = (
        select(
            runs.c.id,
            experiments.c.name.label("experiment"),
            runs.c.name,
            runs.c.status,
            runs.c.user,
            model_versions.c.name.label("model"),
            model_versions.c.version.label("model_version"),
        )
        .select_from(run_inputs)
        .join(runs, runs.c.id == run_inputs.c.run_id)
        .join(experiments, experiments.c.id == runs.c.experiment_id)
        .outerjoin(model_versions, model_versions.c.run_id == runs.c.id)
        .where(run_inputs.c.dataset == dataset, run_inputs.c.version == version)
        .order_by(runs.c.start_time, model_versions.c.name, model_versions.c.version)
    )
    return [dict(row._mapping) for row in conn.execute(query)]


def _version(row: Any, aliases: dict[tuple[str, int], list[str]]) -> ModelVersion:
    return ModelVersion(
        name=row["name"],
        version=row["version"],
        run_id=row["run_id"],
        flavor=row["flavor"],
        safe=bool(row["safe"]),
        digest=row["digest"],
        files=row["files"],
        bytes=row["bytes"],
        signature=json.loads(row["signature"]),
        packages=json.loads(row["packages"]),
        details=json.loads(row["details"]),
        author=row["author"],
        created_at=row["created_at"],
        description=row["description"],
        aliases=tuple(aliases.get((row["name"], row["version"]), ())),
    )
