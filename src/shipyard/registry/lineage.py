"""What the registry can tell about a model version: where it came from, and everything
stored about it (the document behind ``models show``, model cards and the REST API)."""

from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shipyard.entities import DatasetVersion
    from shipyard.registry.service import ModelService


def lineage(models: ModelService, ref: str) -> dict[str, Any]:
    """Model version → run → dataset versions → code version (and environment)."""
    version = models.get(ref)
    document: dict[str, Any] = {"model": version.ref, "digest": version.digest, "run": None}
    if version.run_id is None:
        return {**document, "datasets": [], "code": None}
    run = models.run(version.run_id)
    document["run"] = {
        "id": run.id,
        "experiment": run.experiment,
        "name": run.name,
        "status": run.status,
        "user": run.user,
        "params": run.params,
        "metrics": run.metrics,
    }
    document["datasets"] = [_dataset_facts(models.datasets.get(item)) for item in run.inputs]
    document["code"] = run.code_version
    document["environment"] = run.environment
    return document


def downstream(models: ModelService, data_ref: str) -> dict[str, Any]:
    """What was built from a dataset version: the runs that read it and their models."""
    from shipyard.storage.sql.models import downstream_rows

    dataset = models.datasets.get(data_ref)
    with models.db.read() as conn:
        rows = downstream_rows(conn, dataset.name, dataset.version)
    found: dict[str, dict[str, Any]] = {}
    for row in rows:
        run = found.setdefault(
            row["id"],
            {key: row[key] for key in ("id", "experiment", "name", "status", "user")}
            | {"models": []},
        )
        if row["model"] is not None:
            run["models"].append(f"{row['model']}@v{row['model_version']}")
    return {"dataset": dataset.ref, "digest": dataset.digest, "runs": list(found.values())}


def describe(models: ModelService, ref: str) -> dict[str, Any]:
    """The version with its lineage, evaluations, verdicts, approvals and the policy."""
    version = models.get(ref)
    policy = models.policy(version.name)
    return {
        **asdict(version),
        "ref": version.ref,
        "aliases": list(version.aliases),
        "lineage": lineage(models, version.ref),
        "evaluations": models.evaluations(version.ref),
        "verdicts": models.verdicts(version.ref),
        "approvals": [asdict(event) for event in models.approvals(version.ref)],
        "policy": None if policy is None else policy.to_dict(),
    }


def _dataset_facts(version: DatasetVersion) -> dict[str, Any]:
    rows = (version.profile or {}).get("rows")
    return {
        "ref": version.ref,
        "digest": version.digest,
        "kind": version.kind,
        "files": version.files,
        "bytes": version.bytes,
        "rows": rows,
        "pii": [finding.get("column") for finding in version.pii],
    }
