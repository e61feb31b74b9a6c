"""The options every command takes, before or after its name, from one definition.

Users type ``milestones check --config milestones.toml`` as often as
``milestones --config milestones.toml check``. ``add_shared_options`` gives the group and
every command (nested groups included) the same options; each records its value on the one
``AppContext``, so a value given after the command's name wins over none, and an option left
out after the name keeps what was given before it. The config lookup itself
(``--config``, else ``$MILESTONES_CONFIG``, else ``./milestones.toml``) stays in
``config.source.resolve_path``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

import click

from milestones.cli.app import AppContext


def iso_day(_ctx: click.Context, param: click.Parameter, value: str | None) -> date | None:
    """A ``YYYY-MM-DD`` option's value as a date (None when not given); a bad one names the
    option."""
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param=param) from None


def _remember(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
    """Keep a given value on the AppContext; an absent option (None or False) changes nothing."""
    if value is None or value is False:
        return value
    app = ctx.ensure_object(AppContext)
    setattr(app, str(param.name), value)
    if ctx.parent is not None:  # after the command's name: the group already set up logging
        app.configure_logging()
    return value


def shared_options() -> list[click.Option]:
    """Fresh instances of the options every command takes (``--config``, ``-v``, ``-q``...)."""
    common: dict[str, Any] = {"expose_value": False, "callback": _remember}
    return [
        click.Option(
            ["--config", "config_path"],
            type=click.Path(dir_okay=False),
            help="Config file (default: $MILESTONES_CONFIG, else ./milestones.toml).",
            **common,
        ),
        click.Option(
            ["-v", "--verbose"], is_flag=True, help="Debug logs and tracebacks.", **common
        ),
        click.Option(
            ["-q", "--quiet"], is_flag=True, help="Only errors and the final summary.", **common
        ),
        click.Option(
            ["--log-format", "log_format"],
            type=click.Choice(["text", "json"]),
            help="text (the default), or json: one JSON object per log line, for log shippers.",
            **common,
        ),
    ]


def add_shared_options(command: click.Command) -> None:
    """Give ``command`` (and, for a group, each of its commands) the shared options."""
    taken = {opt for param in command.params for opt in getattr(param, "opts", ())}
    for option in shared_options():
        if not taken & set(option.opts):
            command.params.append(option)
    if isinstance(command, click.Group):
        for sub in command.commands.values():
            add_shared_options(sub)
