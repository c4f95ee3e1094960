"""The syntax tree of the run search language: frozen dataclasses, no I/O.

The parser (``shipyard.tracking.search``) builds it and the SQL compiler
(``shipyard.storage.sql.run_search``) reads it; it lives at the bottom layer so that
storage need not import the tracking package.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal, TypeAlias

FieldKind = Literal["metric", "param", "tag", "attribute"]  # attribute: a column of runs
CompareOp = Literal["=", "!=", "<", "<=", ">", ">="]
Value: TypeAlias = str | float
ATTRIBUTES = ("id", "name", "status", "user", "start_time", "end_time", "experiment")
NUMERIC_ATTRIBUTES = frozenset({"start_time", "end_time"})
STATUSES = ("running", "finished", "failed", "killed")
KEY_PATTERN = re.compile(r"[A-Za-z0-9_.\-/]+")  # keys that need no backquotes


@dataclass(frozen=True)
class Field:
    """A metric, param or tag ``key``, or a run attribute (``kind == "attribute"``)."""

    kind: FieldKind
    key: str

    @property
    def numeric(self) -> bool:
        """True for fields that compare with numbers."""
        return self.kind == "metric" or (
            self.kind == "attribute" and self.key in NUMERIC_ATTRIBUTES
        )

    def __str__(self) -> str:
        if self.kind == "attribute":
            return self.key
        key = self.key
        if not KEY_PATTERN.fullmatch(key):
            key = "`" + key.replace("\\", "\\\\").replace("`", "\\`") + "`"
        return f"{self.kind}s.{key}"


@dataclass(frozen=True)
class Compare:
    """``field op value``; ``value`` is a float for numeric fields, else text."""

    field: Field
    op: CompareOp
    value: Value


@dataclass(frozen=True)
class InList:
    """``field [not] in (values...)``."""

    field: Field
    values: tuple[Value, ...]
    negated: bool = False


@dataclass(frozen=True)
class Like:
    """``field [not] like pattern``: ``%``, ``_`` and ``\\`` escapes, case-sensitive."""

    field: Field
    pattern: str
    negated: bool = False


@dataclass(frozen=True)
class IsNull:
    """``field is [not] null``: whether the run lacks the key (or has no end time)."""

    field: Field
    negated: bool = False


@dataclass(frozen=True)
class And:
    """All of ``items`` hold."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """At least one of ``items`` holds."""

    items: tuple[Node, ...]


@dataclass(frozen=True)
class Not:
    """``item`` does not hold."""

    item: Node


Node: TypeAlias = Compare | InList | Like | IsNull | And | Or | Not


@dataclass(frozen=True)
class OrderKey:
    """One ``--order-by`` key: a field, ascending unless ``descending``."""

    field: Field
    descending: bool = False
