"""Every command explains itself: --help has a description and at least one example."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

from milestones.cli.main import cli

COMMANDS = sorted(cli.load_all())
# Commands whose help still lacks an example (reported to their owner); shown as xfail.


def test_the_group_lists_every_command() -> None:
    result = CliRunner().invoke(cli, ["--help"])
    assert result.exit_code == 0
    for name in ("report", "init", "sync", "check"):
        assert name in COMMANDS and f"  {name} " in result.output


@pytest.mark.parametrize(
    "name",
    COMMANDS,
)
def test_command_help_has_an_example(name: str) -> None:
    result = CliRunner().invoke(cli, [name, "--help"])
    assert result.exit_code == 0, result.output
    text = result.output
    assert "Example" in text, f"`milestones {name} --help` shows no example"
    assert "milestones " in text.split("Example", 1)[1], f"{name}: the example runs nothing"
    for line in text.splitlines():
        assert len(line) <= 100, f"{name}: help line too wide: {line!r}"
