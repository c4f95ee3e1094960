"""Model cards: what the registry stores about a model version, as Markdown or HTML.

Every line of a card comes from stored facts (:meth:`ModelService.describe` and the
dataset versions it names); a fact that is missing is said to be missing, never
guessed. The limitations are derived from the same facts with the thresholds below.
The templates live in ``shipyard/registry/templates`` and are rendered with Jinja2,
autoescaped for HTML and not for Markdown. Numbers show 4 significant digits.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from shipyard.errors import NotFound, ValidationError
from shipyard.registry.card_limits import NOT_PARITY, limitations

if TYPE_CHECKING:
    import jinja2

    from shipyard.entities import DatasetVersion
    from shipyard.registry.service import ModelService

__all__ = ["FORMATS", "card", "render_card"]

FORMATS = ("md", "html")
TOP_FEATURES = 10


def card(models: ModelService, ref: str, format: str = "md") -> str:
    """The model card of ``ref`` (``md`` or ``html``), from everything the registry stores."""
    _check_format(format)
    facts = models.describe(ref)
    refs = [d["ref"] for d in (facts.get("lineage") or {}).get("datasets") or []]
    refs += [e["data"] for e in facts.get("evaluations") or [] if e.get("data")]
    datasets: dict[str, DatasetVersion] = {}
    for data_ref in dict.fromkeys(refs):
        try:
            datasets[data_ref] = models.datasets.get(data_ref)
        except NotFound:  # the card still shows what the lineage recorded
            continue
    return render_card(facts, datasets=datasets, format=format)


def render_card(
    facts: dict[str, Any],
    *,
    datasets: Mapping[str, DatasetVersion] | None = None,
    format: str = "md",
) -> str:
    """Render the facts of :meth:`ModelService.describe` as a card; ``datasets`` (by ref)
    add a short summary of the training data (columns, missing values, personal data)."""
    _check_format(format)
    template = _environment().get_template(f"card.{format}.j2")
    text = template.render(**_context(facts, datasets or {}))
    if format == "md":
        text = re.sub(r"\n{3,}", "\n\n", re.sub(r"[ \t]+\n", "\n", text))
    return text.strip() + "\n"


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise ValidationError(f"unknown card format {format!r}; use one of {', '.join(FORMATS)}")


@functools.cache
def _environment() -> jinja2.Environment:
    import jinja2

    environment = jinja2.Environment(
        loader=jinja2.PackageLoader("shipyard.registry", "templates"),
        autoescape=jinja2.select_autoescape(
            enabled_extensions=("html.j2",), disabled_extensions=("md.j2",), default=False
        ),
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    environment.filters["cell"] = _md_cell
    environment.filters["md"] = _md_text
    return environment


def _md_text(value: Any) -> str:
    """Free text for a Markdown card: raw HTML shows as text (viewers that render HTML
    in Markdown would otherwise run a script written into a description)."""
    return str(value).replace("<", "&lt;")  # no tag can open without a bare "<"


def _md_cell(value: Any) -> str:
    """Text that stays inside one Markdown table cell (raw HTML shown as text)."""
    return " ".join(_md_text(value).split()).replace("|", "\\|")


def _num(value: Any) -> str:
    """A stored value as card text: floats to 4 significant digits, None as ``n/a``."""
    if value is None:
        return "n/a"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.4g}"
    return str(value)


def _percent(share: Any) -> str:
    return f"{share * 100:.4g}%" if isinstance(share, int | float) else "n/a"


def _size(count: Any) -> str:
    if not isinstance(count, int):
        return "unknown size"
    value, unit = float(count), "bytes"
    for larger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, larger
    return f"{count} bytes" if unit == "bytes" else f"{value:.4g} {unit}"


# the template context


def _context(facts: dict[str, Any], datasets: Mapping[str, DatasetVersion]) -> dict[str, Any]:
    ref = str(facts.get("ref") or f"{facts.get('name')}@v{facts.get('version')}")
    lineage = facts.get("lineage") or {}
    policy = facts.get("policy")
    training = [
        _training_dataset(d, datasets.get(d.get("ref", ""))) for d in lineage.get("datasets") or []
    ]
    return {
        "ref": ref,
        "name": facts.get("name") or ref.split("@")[0],
        "summary": _summary(facts),
        "description": str(facts.get("description") or "").strip(),
        "uses": _uses(facts),
        "has_run": lineage.get("run") is not None,
        "training": training,
        "evaluations": [_evaluation(e, datasets) for e in facts.get("evaluations") or []],
        "verdicts": [_verdict(v) for v in facts.get("verdicts") or []],
        "approvals": [_approval(a) for a in facts.get("approvals") or []],
        "policy": None if policy is None else {"aliases": list(policy.get("aliases") or [])},
        "lineage": _lineage(lineage),
        "signature": _signature(facts.get("signature") or {}),
        "limitations": limitations(facts),
        "packages": sorted((facts.get("packages") or {}).items()),
    }


def _summary(facts: dict[str, Any]) -> dict[str, Any]:
    details = facts.get("details") or {}
    return {
        "aliases": [str(a) for a in facts.get("aliases") or []],
        "flavor": facts.get("flavor") or "unknown",
        "format": details.get("format"),
        "twin": bool(details.get("twin")),
        "safe": bool(facts.get("safe")),
        "digest": facts.get("digest") or "unknown",
        "files": _num(facts.get("files")),
        "size": _size(facts.get("bytes")),
        "author": facts.get("author") or "unknown",
        "created_at": facts.get("created_at") or "unknown",
        "run_id": facts.get("run_id"),
    }


def _uses(facts: dict[str, Any]) -> list[dict[str, str]]:
    """The tasks the evaluations measured the model on, once each."""
    found: dict[tuple[str, str, str], dict[str, str]] = {}
    for result in facts.get("evaluations") or []:
        positive = result.get("positive_class")
        use = {
            "task": str(result.get("task") or "unknown task"),
            "target": str(result.get("target") or "unknown"),
            "positive": "" if positive is None else str(positive),
        }
        found.setdefault((use["task"], use["target"], use["positive"]), use)
    return list(found.values())


def _training_dataset(fact: dict[str, Any], version: DatasetVersion | None) -> dict[str, Any]:
    profile = (version.profile if version else None) or {}
    schema = (version.schema if version else None) or {}
    findings = version.pii if version else [{"column": c} for c in fact.get("pii") or []]
    pii = {
        f"{f['column']} ({f['kind']})" if f.get("kind") else str(f["column"]): None
        for f in findings
    }
    missing = [
        f"{name} ({_percent(stats.get('missing_rate'))})"
        for name, stats in (profile.get("columns") or {}).items()
        if stats.get("missing")
    ]
    return {
        "ref": fact.get("ref", "unknown"),
        "digest": fact.get("digest") or "unknown",
        "kind": fact.get("kind") or "unknown",
        "rows": _num(fact.get("rows")),
        "files": _num(fact.get("files")),
        "size": _size(fact.get("bytes")),
        "columns": len(schema.get("columns") or []) or None,
        "missing": missing,
        "pii": list(pii),
    }


def _evaluation(result: dict[str, Any], datasets: Mapping[str, DatasetVersion]) -> dict[str, Any]:
    data = str(result.get("data") or "unknown data")
    version = datasets.get(data)
    ranked = result.get("feature_importance") or []
    return {
        "data": data,
        "digest": version.digest if version else None,
        "at": result.get("at") or "unknown",
        "task": result.get("task") or "unknown task",
        "target": result.get("target") or "unknown",
        "positive": _num(result.get("positive_class")),
        "rows": _num(result.get("rows")),
        "metrics": [(name, _num(value)) for name, value in (result.get("metrics") or {}).items()],
        "fairness": [_fairness(c, r) for c, r in (result.get("fairness") or {}).items()],
        "importance": [
            (item.get("feature"), _num(item.get("mean")), _num(item.get("std")))
            for item in ranked[:TOP_FEATURES]
        ],
        "importance_total": len(ranked),
        "scoring": result.get("importance_scoring"),
    }


def _fairness(column: str, report: dict[str, Any]) -> dict[str, Any]:
    groups = report.get("by_group") or {}
    names = list(dict.fromkeys(k for stats in groups.values() for k in stats if k != "count"))
    rows = [
        {
            "group": group,
            "count": _num(stats.get("count")),
            "cells": [_num(stats.get(n)) for n in names],
        }
        for group, stats in groups.items()
    ]
    parity = [(k, _num(v)) for k, v in report.items() if k not in NOT_PARITY]
    return {
        "column": column,
        "metrics": names,
        "groups": rows,
        "parity": parity,
        "skipped": report.get("parity_skipped"),
    }


def _verdict(verdict: dict[str, Any]) -> dict[str, Any]:
    checks = [
        {
            "gate": check.get("gate", "?"),
            "kind": check.get("kind", "?"),
            "ok": bool(check.get("ok")),
            "value": _num(check.get("value")),
            "detail": check.get("detail") or "",
        }
        for check in verdict.get("checks") or []
    ]
    keys = ("alias", "at", "actor", "data", "holder")
    return {**{k: verdict.get(k) for k in keys}, "ok": bool(verdict.get("ok")), "checks": checks}


def _approval(event: dict[str, Any]) -> dict[str, Any]:
    return {k: event.get(k) or "" for k in ("action", "actor", "at", "comment")}


def _lineage(lineage: dict[str, Any]) -> dict[str, Any]:
    run = lineage.get("run")
    code = lineage.get("code")
    environment = lineage.get("environment") or {}
    return {
        "run": None
        if run is None
        else {
            **{k: run.get(k) or "unknown" for k in ("id", "experiment", "name", "status", "user")},
            "params": sorted((run.get("params") or {}).items()),
            "metrics": [(k, _num(v)) for k, v in sorted((run.get("metrics") or {}).items())],
        },
        "datasets": [(d.get("ref"), d.get("digest")) for d in lineage.get("datasets") or []],
        "code": None
        if not code
        else {
            "commit": code.get("commit") or "unknown",
            "dirty": bool(code.get("dirty")),
            "diff": code.get("diff_digest"),
        },
        "environment": [
            ("installed packages" if k == "packages" else k, _num(v))
            for k, v in environment.items()
            if k != "packages_digest"
        ],
    }


def _signature(signature: dict[str, Any]) -> dict[str, Any]:
    output = signature.get("output") or {}
    shape = ", ".join("n" if size is None else str(size) for size in output.get("shape") or [])
    return {
        "kind": signature.get("input_kind") or "unknown",
        "inputs": [
            {
                "name": column.get("name", "?"),
                "type": column.get("type") or "unknown",
                "dtype": column.get("dtype") or "unknown",
                "nullable": _num(bool(column.get("nullable"))),
            }
            for column in signature.get("inputs") or []
        ],
        "output": f"{output.get('type') or 'unknown'} ({shape})" if output else None,
        "classes": ", ".join(str(c) for c in signature.get("classes") or []) or None,
    }
