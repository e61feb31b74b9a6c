"""What every command shares: the context object, the exit codes, and the errors that pick them.

DESIGN.md promises three exit codes: 0 all done, 1 finished with record-level failures (or
stopped at a quota, or by a signal), 2 configuration or usage error. ``exit_codes()`` is the one
table from an error's kind to its code; ``main()`` applies it to whatever escapes a command.

Everything a command prints goes through this module's writer: ``say`` for people (each
argument one line, made ``printable``, so a value from the CRM can neither act on the
terminal nor start a line), ``say_over`` for a progress line, ``say_error`` for a click
error, and ``write_json`` for machines. No other module in ``cli/`` or ``report/`` prints
(``tests/reliability/test_text_output.py`` checks it).
"""

from __future__ import annotations

import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import click

from milestones.config.errors import ConfigError
from milestones.logs import configure_logging
from milestones.text import MESSAGE_LIMIT, json_text, printable

if TYPE_CHECKING:  # the settings models are built only by the commands that read a config
    from milestones.config.settings import Config
    from milestones.store.location import StateLocation

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_CONFIG = 2


class RunFailed(click.ClickException):
    """A command finished but could not do all its work (exit 1)."""

    exit_code = EXIT_FAILURES


class ConfigProblem(click.ClickException):
    """The CRM refused our credentials or names: the config must change (exit 2)."""

    exit_code = EXIT_CONFIG


class Busy(click.ClickException):
    """Another run holds the state (exit 1: nothing was done)."""

    exit_code = EXIT_FAILURES


def exit_codes() -> tuple[tuple[type[BaseException], int], ...]:
    """Error kind -> exit code, first match wins. A ClickException carries its own code.

    Imported when an error is being turned into a code, so that start-up does not import the
    connectors and the store for it.
    """
    from milestones.connectors.base import ConfigurationError, ConnectorError
    from milestones.store.health import StateError

    return (
        (ConfigError, EXIT_CONFIG),  # the config file is malformed
        (ConfigurationError, EXIT_CONFIG),  # the CRM refused our credentials or names
        (StateError, EXIT_CONFIG),  # the state file is damaged, unwritable or from a newer release
        (click.UsageError, EXIT_CONFIG),
        (ConnectorError, EXIT_FAILURES),  # the CRM failed us after every retry
    )


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error that ended a command (1 for anything unforeseen)."""
    for kind, code in exit_codes():
        if isinstance(error, kind):
            return code
    if isinstance(error, click.ClickException):
        return error.exit_code
    return EXIT_FAILURES


@dataclass
class AppContext:
    """What every command gets: where the config is and how to speak."""

    config_path: str | None = None
    verbose: bool = False
    quiet: bool = False
    log_format: str = "text"
    _config: Config | None = field(default=None, repr=False)

    def config(self) -> Config:
        """The validated config (loaded on first use); raises ``ConfigError``."""
        if self._config is None:
            from milestones.config.settings import load_config
            from milestones.config.source import resolve_path

            self._config = load_config(resolve_path(self.config_path))
        return self._config

    def state_location(self) -> StateLocation:
        """Where the state is: from the validated config once loaded, else from the config's
        ``[state]`` table alone (``config.state.load_state``), so a command that reads only
        the state neither builds nor needs the rest of the config."""
        if self._config is not None:
            return self._config.state.location()
        from milestones.config.source import resolve_path
        from milestones.config.state import load_state

        return load_state(resolve_path(self.config_path))

    def configure_logging(self) -> None:
        """Route the logs as the options say (again when options follow the command)."""
        configure_logging(verbose=self.verbose, quiet=self.quiet, fmt=self.log_format)

    def use(self, config: Config) -> None:
        """Make ``config`` the one later commands in this process read (the demo's own)."""
        self._config = config

    def emit(self, data: Any, as_json: bool, lines: Iterable[str] = ()) -> None:
        """Print ``data`` as JSON, or ``lines`` for people (nothing when quiet).

        ``lines`` is a sequence of lines, never one string: only the writer breaks lines, so a
        value can never start a line of its own.
        """
        if isinstance(lines, str):
            raise TypeError("emit takes a sequence of lines, not one string")
        if as_json:
            write_json(data)
        elif not self.quiet:
            say(*lines)


LINE_LIMIT = 4000
"""Longest line the writer prints: a backstop behind each value's own cut."""


def say(*lines: object, err: bool = False) -> None:
    """Print for people: each argument is one line, made ``printable`` (stdout or stderr).

    A line break inside an argument is shown as ``\\n``: only the writer breaks lines.
    """
    for line in lines:
        click.echo(printable(line, LINE_LIMIT), err=err)


def say_over(line: str) -> None:
    """Rewrite the current line of stderr (a progress display on a terminal)."""
    click.echo("\r" + printable(line, LINE_LIMIT), err=True, nl=False)


def say_error(error: click.ClickException) -> None:
    """A click error as click words it (usage, hint, ``Error: ...``), its message printable."""
    buffer = io.StringIO()
    error.show(file=buffer)
    text, message = buffer.getvalue(), error.format_message()
    if message:  # the message may come from the CRM; click's own lines around it stay
        text = text.replace(message, printable(message, MESSAGE_LIMIT))
    say(*text.splitlines(), err=True)


def write_json(data: Any) -> None:
    """Print ``data`` for machines: JSON that round-trips and that no terminal acts on."""
    click.echo(json_text(data, indent=2))


pass_app = click.make_pass_decorator(AppContext)
