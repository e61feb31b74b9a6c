"""What every command shares: the context object, the exit codes, and the errors that pick them.

DESIGN.md promises three exit codes: 0 all done, 1 finished with record-level failures (or
stopped at a quota, or by a signal), 2 configuration or usage error. ``EXIT_CODES`` is the one
table from an error's kind to its code; ``main()`` applies it to whatever escapes a command.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import click

from milestones.config.settings import Config, ConfigError, load_config, resolve_path
from milestones.connectors.base import ConfigurationError, ConnectorError
from milestones.logs import configure_logging
from milestones.store.health import StateError

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


# Error kind -> exit code, first match wins. A ClickException carries its own code.
EXIT_CODES: tuple[tuple[type[BaseException], int], ...] = (
    (ConfigError, EXIT_CONFIG),  # the config file is malformed
    (ConfigurationError, EXIT_CONFIG),  # the CRM refused our credentials or names
    (StateError, EXIT_CONFIG),  # the state file is damaged, unwritable or from a newer release
    (click.UsageError, EXIT_CONFIG),
    (ConnectorError, EXIT_FAILURES),  # the CRM failed us after every retry
)


def exit_code_for(error: BaseException) -> int:
    """The exit code for an error that ended a command (1 for anything unforeseen)."""
    for kind, code in EXIT_CODES:
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
            self._config = load_config(resolve_path(self.config_path))
        return self._config

    def configure_logging(self) -> None:
        """Route the logs as the options say (again when options follow the command)."""
        configure_logging(verbose=self.verbose, quiet=self.quiet, fmt=self.log_format)

    def use(self, config: Config) -> None:
        """Make ``config`` the one later commands in this process read (the demo's own)."""
        self._config = config

    def emit(self, data: Any, as_json: bool, text: str | None = None) -> None:
        """Print ``data`` as JSON, or ``text`` for people (nothing when quiet)."""
        if as_json:
            click.echo(json.dumps(data, indent=2, default=str, ensure_ascii=False))
        elif not self.quiet and text is not None:
            click.echo(text)


pass_app = click.make_pass_decorator(AppContext)
