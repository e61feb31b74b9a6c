"""The ``milestones`` command: one click group, its commands, one top-level error handler.

Commands stay thin: they load the config through ``AppContext.config`` (validated once) and
call the engine. Errors reach ``main()``, which prints one clear line and picks the exit code
from ``app.EXIT_CODES``: 0 all done, 1 finished with record-level failures (or stopped at a
quota), 2 configuration or usage error. Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import click

from milestones import __version__
from milestones.cli import (
    crm,
    demo,
    fleet,
    forget,
    init,
    likelihood,
    migrate,
    plays,
    report,
    run,
    state,
    state_admin,
)
from milestones.cli.app import AppContext, exit_code_for, say, say_error
from milestones.cli.options import add_shared_options
from milestones.config.settings import ConfigError
from milestones.logs import redact
from milestones.sandbox.cli import sandbox
from milestones.store.health import StateError, is_state_failure
from milestones.text import MESSAGE_LIMIT, printable, traceback_text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="milestones")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Derive the four sales milestones from your CRM and write them back.

    \b
    target -> prospect -> opportunity -> client -> advocate

    \b
    Try it with no CRM at all:   milestones demo
    Check a config:              milestones check --config milestones.toml
    Sync on a schedule:          milestones sync   (incremental; exit 0, 1 or 2)
    """
    ctx.ensure_object(AppContext).configure_logging()


for _module in (
    run,
    crm,
    state,
    state_admin,
    migrate,
    forget,
    demo,
    report,
    likelihood,
    fleet,
    init,
    plays,
):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
cli.add_command(sandbox)  # the sandbox imports nothing of ours
add_shared_options(cli)  # --config, -v, -q, --log-format before or after any command's name


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group and turn errors into one line and an exit code."""
    verbose = any(arg in ("-v", "--verbose") for arg in (argv or sys.argv[1:]))
    try:
        code = cli.main(args=argv, prog_name="milestones", standalone_mode=False)
    except ConfigError as exc:
        say(f"error: config {exc.source} has {len(exc.problems)} problem(s):", err=True)
        say(*(f"  - {printable(problem, MESSAGE_LIMIT)}" for problem in exc.problems), err=True)
        sys.exit(exit_code_for(exc))
    except click.exceptions.Abort:
        say("aborted", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        say_error(exc)
        sys.exit(exit_code_for(exc))
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        say("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the one top-level handler
        if is_state_failure(exc):  # read outside a transaction: damage found while reading
            exc = StateError(Path("(the configured state file)"), f"unreadable ({exc})")
        if verbose:
            say(*redact(traceback_text(exc)).splitlines(), err=True)
        message = printable(redact(str(exc)), MESSAGE_LIMIT)
        say(f"error: {message or type(exc).__name__}", err=True)
        if not verbose:
            say("(run with --verbose for details)", err=True)
        sys.exit(exit_code_for(exc))
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["AppContext", "cli", "main"]
