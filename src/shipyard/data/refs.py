"""Dataset names and references: ``NAME``, ``NAME@latest`` and ``NAME@vN``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from shipyard.errors import ValidationError

NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")
_VERSION = re.compile(r"v(\d+)")


@dataclass(frozen=True)
class DatasetRef:
    """A parsed reference: a name and a version number, or None for the latest."""

    name: str
    version: int | None

    def __str__(self) -> str:
        return f"{self.name}@{'latest' if self.version is None else f'v{self.version}'}"


def check_name(name: str) -> str:
    """Return ``name`` if it is a valid dataset name, else raise ValidationError."""
    if isinstance(name, str) and NAME_PATTERN.fullmatch(name):
        return name
    raise ValidationError(
        "dataset name must start with a letter or digit and hold only letters, digits, "
        f"'.', '_' or '-' (at most 100 characters), got {name!r} instead"
    )


def parse_ref(ref: str) -> DatasetRef:
    """Parse ``NAME``, ``NAME@latest`` or ``NAME@vN``."""
    if not isinstance(ref, str):
        raise ValidationError(f"a dataset reference must be a string, got {ref!r} instead")
    name, at, tag = ref.partition("@")
    check_name(name)
    if (not at and not tag) or tag == "latest":
        return DatasetRef(name, None)
    match = _VERSION.fullmatch(tag)
    if not match or int(match.group(1)) < 1:
        raise ValidationError(
            f"dataset reference must be NAME, NAME@latest or NAME@vN (N >= 1), got {ref!r} instead"
        )
    return DatasetRef(name, int(match.group(1)))
