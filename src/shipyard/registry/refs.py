"""Model references: ``NAME``, ``NAME@latest``, ``NAME@vN`` and ``NAME@ALIAS``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import ValidationError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
ALIAS_PATTERN = re.compile(r"[a-z][a-z0-9_\-]{0,63}")
_VERSION = re.compile(r"v(\d+)")


@dataclass(frozen=True)
class ModelRef:
    """A parsed reference: a name and either a version, an alias, or neither (the latest)."""

    name: str
    version: int | None = None
    alias: str | None = None

    def __str__(self) -> str:
        if self.version is not None:
            return f"{self.name}@v{self.version}"
        return f"{self.name}@{self.alias or 'latest'}"


def check_model_name(name: str) -> str:
    """``name`` if it is a valid model name, else ValidationError."""
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        return name
    raise ValidationError(
        "model name must start with a letter or digit and hold only letters, digits, "
        f"'.', '_' or '-' (at most 100 characters), got {name!r} instead"
    )


def check_alias(alias: str) -> str:
    """``alias`` if it is a valid alias name (not ``latest``, not ``vN``), else ValidationError."""
    if (
        isinstance(alias, str)
        and ALIAS_PATTERN.fullmatch(alias)
        and alias != "latest"
        and not _VERSION.fullmatch(alias)
    ):
        return alias
    raise ValidationError(
        "an alias is 1-64 lowercase letters, digits, '_' or '-' starting with a letter, and "
        f"neither 'latest' nor a version like 'v3', got {alias!r} instead"
    )


def parse_model_ref(ref: str) -> ModelRef:
    """Parse ``NAME``, ``NAME@latest``, ``NAME@vN`` or ``NAME@ALIAS``."""
    if not isinstance(ref, str):
        raise ValidationError(f"a model reference must be a string, got {ref!r} instead")
    name, at, tag = ref.partition("@")
    check_model_name(name)
    if not at or tag == "latest":
        return ModelRef(name)
    match = _VERSION.fullmatch(tag)
    if match:
        if int(match.group(1)) < 1:
            raise ValidationError(f"model versions start at v1, got {ref!r}")
        return ModelRef(name, version=int(match.group(1)))
    return ModelRef(name, alias=check_alias(tag))
