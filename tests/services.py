"""Backend services the tests need (PostgreSQL, S3): skip loudly, or fail under CI."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest

REQUIRE_ENV = ("CI", "SHIPYARD_REQUIRE_SERVICES")
skipped_services: set[str] = set()


def services_required() -> bool:
    """True when missing services must fail the run instead of skipping tests."""
    return any(os.environ.get(name) for name in REQUIRE_ENV)


def missing_service(name: str, reason: str) -> NoReturn:
    """Fail (under CI) or skip (elsewhere, with a banner at the end) a test needing ``name``."""
    message = f"{name} unavailable: {reason}"
    if services_required():
        pytest.fail(message + " (CI must run these tests: start the service)", pytrace=False)
    skipped_services.add(name)
    pytest.skip(f"!!! {name} TESTS SKIPPED !!! {message}")
