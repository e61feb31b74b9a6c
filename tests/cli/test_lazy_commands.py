"""The group's table of commands, which ``--help`` reads instead of importing every command."""

from __future__ import annotations

import importlib

import click
import pytest
from click.testing import CliRunner

from milestones.cli.lazy import LazyGroup
from milestones.cli.main import COMMANDS

MODULES = sorted({spec.module for spec in COMMANDS.values()} - {"milestones.sandbox.cli"})


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_each_summary_is_the_commands_own(name: str) -> None:
    spec = COMMANDS[name]
    command = getattr(importlib.import_module(spec.module), spec.attribute)
    assert isinstance(command, click.Command) and command.name == name
    for limit in (45, 60, 200):
        stand_in = click.Command(name, help=spec.summary)
        assert stand_in.get_short_help_str(limit) == command.get_short_help_str(limit)


@pytest.mark.parametrize("module", MODULES)
def test_every_command_a_module_offers_is_in_the_table(module: str) -> None:
    offered = {command.name for command in importlib.import_module(module).COMMANDS}
    listed = {name for name, spec in COMMANDS.items() if spec.module == module}
    assert offered == listed


def test_the_list_reads_the_same_before_and_after_the_commands_are_imported() -> None:
    fresh = LazyGroup(name="milestones", lazy_commands=COMMANDS)
    before = CliRunner().invoke(fresh, ["--help"], terminal_width=80).output
    fresh.load_all()
    after = CliRunner().invoke(fresh, ["--help"], terminal_width=80).output
    assert "  status " in before and before == after


def test_an_unknown_command_is_refused_with_the_close_names_as_before() -> None:
    fresh = LazyGroup(name="milestones", lazy_commands=COMMANDS)
    result = CliRunner().invoke(fresh, ["stat"])
    assert result.exit_code == 2 and "No such command 'stat'" in result.output
    assert "Did you mean one of: 'stages', 'state', 'status'?" in result.output
