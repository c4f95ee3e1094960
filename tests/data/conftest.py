"""Fixtures for dataset tests."""

from __future__ import annotations

from pathlib import Path

import pytest
from trees import age, make_tree


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small nested folder of files, backdated so the stat cache may trust them."""
    root = make_tree(
        tmp_path / "src",
        {
            "a.txt": "alpha\n",
            "nested/b.bin": bytes(range(256)) * 10,
            "nested/deeper/c.csv": "x,y\n1,2\n",
            "empty.dat": b"",
        },
    )
    (root / "nested" / "b.bin").chmod(0o600)
    for path in root.rglob("*"):
        if path.is_file():
            age(path)
    return root
