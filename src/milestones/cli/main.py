"""The ``milestones`` command: one click group, its commands, one top-level error handler.

Commands stay thin: they load the config through ``AppContext.config`` (validated once) and
call the engine. Errors reach ``main()``, which prints one clear line and picks the exit code
from ``app.EXIT_CODES``: 0 all done, 1 finished with record-level failures (or stopped at a
quota), 2 configuration or usage error. Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import sys

import click

from milestones import __version__
from milestones.cli import crm, demo, init, report, run, state
from milestones.cli.app import AppContext, exit_code_for, say, say_error
from milestones.config.settings import ConfigError
from milestones.logs import configure_logging, redact
from milestones.sandbox.cli import sandbox
from milestones.text import MESSAGE_LIMIT, printable, traceback_text


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="milestones")
@click.option(
    "--config",
    "config_path",
    type=click.Path(dir_okay=False),
    help="Config file (default: $MILESTONES_CONFIG, else ./milestones.toml).",
)
@click.option("-v", "--verbose", is_flag=True, help="Debug logs and tracebacks.")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="json: one JSON object per log line, for log shippers.",
)
@click.pass_context
def cli(
    ctx: click.Context, config_path: str | None, verbose: bool, quiet: bool, log_format: str
) -> None:
    """Derive the four sales milestones from your CRM and write them back.

    \b
    target -> prospect -> opportunity -> client -> advocate

    \b
    Try it with no CRM at all:   milestones demo
    Check a config:              milestones --config milestones.toml check
    Sync on a schedule:          milestones sync   (incremental; exit 0, 1 or 2)
    """
    configure_logging(verbose=verbose, quiet=quiet, fmt=log_format)
    ctx.obj = AppContext(config_path, verbose, quiet, log_format)


for _module in (run, crm, state, demo, report, init):
    for _command in _module.COMMANDS:
        cli.add_command(_command)
cli.add_command(sandbox)  # the sandbox imports nothing of ours


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
        if verbose:
            say(*redact(traceback_text(exc)).splitlines(), err=True)
        message = printable(redact(str(exc)), MESSAGE_LIMIT)
        say(f"error: {message or type(exc).__name__}", err=True)
        if not verbose:
            say("(run with --verbose for details)", err=True)
        sys.exit(exit_code_for(exc))
    sys.exit(code if isinstance(code, int) else 0)


__all__ = ["AppContext", "cli", "main"]
