"""Every command and every setting is documented in the README."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

README = (Path(__file__).parents[1] / "README.md").read_text()


def _commands() -> list[str]:
    import typer

    from shipyard.cli.app import build_app

    root = typer.main.get_command(build_app())
    names = []
    for name, command in root.commands.items():  # type: ignore[attr-defined]
        subcommands = getattr(command, "commands", None)
        names += [f"{name} {sub}" for sub in subcommands] if subcommands else [name]
    return sorted(names)


@pytest.mark.parametrize("command", _commands())
def test_every_command_is_in_the_readme(command: str) -> None:
    group, _, sub = command.partition(" ")
    pattern = rf"shipyard {group}\b.*\b{sub}\b" if sub else rf"shipyard {group}\b"
    assert re.search(pattern, README), f"`shipyard {command}` is not documented in README.md"


def _env_vars() -> list[str]:
    source = (Path(__file__).parents[1] / "src" / "shipyard" / "config.py").read_text()
    return sorted(set(re.findall(r'"(SHIPYARD_[A-Z_]+)"', source)))


@pytest.mark.parametrize("variable", _env_vars())
def test_every_environment_variable_is_in_the_readme(variable: str) -> None:
    assert f"`{variable}`" in README


def test_readme_opens_with_the_two_commands() -> None:
    head = README[:1500]
    assert "make run" in head
    assert "make test" in head
