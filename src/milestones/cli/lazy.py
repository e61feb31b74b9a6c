"""A click group that imports a command's module only when that command runs.

Importing every command module at start-up builds the config models, the store's row types
and the engine, which ``milestones --help`` and most single commands never use. Click's
documented pattern (https://click.palletsprojects.com/en/stable/complex/#lazily-loading-subcommands)
keeps a table of names and import paths instead; the group's own ``--help`` prints each
command's one-line summary from the same table, so listing the commands imports none of them.
``tests/cli/test_lazy_commands.py`` checks the table against the commands themselves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import click


class LazyCommand(NamedTuple):
    """Where a command lives (module and attribute) and its one-line summary."""

    module: str
    attribute: str
    summary: str


class LazyGroup(click.Group):
    """A group whose commands come from a table and are imported when first asked for.

    ``prepare`` runs once on each command as it is loaded (the shared options are added there).
    """

    def __init__(
        self,
        *args: Any,
        lazy_commands: Mapping[str, LazyCommand] | None = None,
        prepare: Callable[[click.Command], None] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.lazy_commands = dict(lazy_commands or {})
        self.prepare = prepare

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted({*super().list_commands(ctx), *self.lazy_commands})

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        command = super().get_command(ctx, cmd_name)
        if command is None and cmd_name in self.lazy_commands:
            command = self.load(cmd_name)
        return command

    def resolve_command(
        self, ctx: click.Context, args: list[str]
    ) -> tuple[str | None, click.Command | None, list[str]]:
        try:
            return super().resolve_command(ctx, args)
        except click.exceptions.NoSuchCommand:
            # click suggests close names from the commands it holds: give it every one.
            self.load_all()
            return super().resolve_command(ctx, args)

    def load(self, name: str) -> click.Command:
        """Import the command ``name`` and keep it as one of the group's commands."""
        spec = self.lazy_commands[name]
        command = getattr(importlib.import_module(spec.module), spec.attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{spec.module}.{spec.attribute} is not a click command")
        if self.prepare is not None:
            self.prepare(command)
        self.add_command(command, name)
        return command

    def load_all(self) -> dict[str, click.Command]:
        """Every command, imported (for tools that walk the whole tree, such as the tests)."""
        for name in self.lazy_commands:
            if name not in self.commands:
                self.load(name)
        return dict(self.commands)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        """The command list, summaries from the table for commands not imported yet."""
        names = [
            n for n in self.list_commands(ctx) if not getattr(self.commands.get(n), "hidden", 0)
        ]
        if not names:
            return
        limit = formatter.width - 6 - max(len(name) for name in names)
        rows = [(name, self._summary(name, limit)) for name in names]
        with formatter.section("Commands"):
            formatter.write_dl(rows)

    def _summary(self, name: str, limit: int) -> str:
        # A stand-in command shortens the summary exactly as click shortens a command's help.
        command = self.commands.get(name) or click.Command(
            name, help=self.lazy_commands[name].summary
        )
        return command.get_short_help_str(limit)
