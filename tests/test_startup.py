"""Start-up stays light: nothing heavy is imported before a command needs it.

Timing lives in benchmarks/cli_startup.py; this checks the cause of slowness instead.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = ("pandas", "numpy", "sklearn", "pyarrow", "fsspec", "s3fs", "alembic", "pydantic")


def _modules_after(code: str) -> set[str]:
    probe = f"{code}\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize(
    ("code", "forbidden"),
    [
        ("import shipyard", (*HEAVY, "sqlalchemy", "typer", "rich")),
        (
            "from shipyard.cli.main import main\ntry:\n    main(['--version'])\n"
            "except SystemExit:\n    pass",
            (*HEAVY, "sqlalchemy", "typer"),
        ),
        ("from shipyard.cli.app import build_command\nbuild_command()", (*HEAVY, "sqlalchemy")),
    ],
    ids=["import", "version", "build-cli"],
)
def test_no_heavy_imports(code: str, forbidden: tuple[str, ...]) -> None:
    loaded = _modules_after(code)
    assert not loaded & set(forbidden), sorted(loaded & set(forbidden))
