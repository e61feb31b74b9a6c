"""The ``milestones`` command: one click group, its commands, one top-level error handler.

Commands stay thin: they load the config through ``AppContext.config`` (validated once) and
call the engine. Errors reach ``main()``, which prints one clear line and picks the exit code
from ``app.exit_codes()``: 0 all done, 1 finished with record-level failures (or stopped at a
quota), 2 configuration or usage error. Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import gc
import sys
from pathlib import Path

import click

from milestones import __version__
from milestones.cli.app import AppContext, exit_code_for, say, say_error
from milestones.cli.lazy import LazyCommand, LazyGroup
from milestones.cli.options import add_shared_options
from milestones.config.errors import ConfigError
from milestones.logs import redact
from milestones.text import MESSAGE_LIMIT, printable, traceback_text

# Each command's module is imported only when the command runs (``--help`` lists them from
# here); the summary is the first sentence of the command's help, which a test keeps equal.
COMMANDS: dict[str, LazyCommand] = {
    "backfill": LazyCommand(
        "milestones.cli.run",
        "backfill",
        "Re-read records modified in a date range, derive them and write the differences.",
    ),
    "check": LazyCommand(
        "milestones.cli.crm",
        "check",
        "Check the config, the API versions' end of support (and, unless --offline, the "
        "connection and the fields).",
    ),
    "demo": LazyCommand(
        "milestones.cli.demo",
        "demo",
        "Try it with no CRM: a sandbox CRM, a full sync, the funnel, a few explanations.",
    ),
    "explain": LazyCommand(
        "milestones.cli.explain",
        "explain",
        "Why a person, account or deal has its milestone: evidence, fields written, history.",
    ),
    "fields": LazyCommand(
        "milestones.cli.crm",
        "fields",
        "Check the written fields exist and are writable; --create makes the missing ones.",
    ),
    "fleet": LazyCommand(
        "milestones.cli.fleet",
        "fleet",
        "Many orgs: the status and the report of every org in a folder of configs.",
    ),
    "forget": LazyCommand(
        "milestones.cli.forget",
        "forget_command",
        "Erase people from the state, its backups and exports; idempotent.",
    ),
    "init": LazyCommand(
        "milestones.cli.init",
        "init",
        "Write a commented config file for HubSpot or Salesforce.",
    ),
    "likelihood": LazyCommand(
        "milestones.cli.likelihood",
        "likelihood",
        "The chance of reaching the next milestone, the forecast, and the backtest.",
    ),
    "migrate": LazyCommand(
        "milestones.cli.migrate",
        "migrate",
        "Bring the state's schema to this release's version (a file or an org's schema).",
    ),
    "plays": LazyCommand(
        "milestones.cli.plays",
        "plays",
        "Open plays per owner: the tasks the worker created that are still open.",
    ),
    "report": LazyCommand(
        "milestones.cli.report",
        "report",
        "The milestone report: funnel, conversions, time between milestones, advocacy.",
    ),
    "sandbox": LazyCommand(  # the sandbox imports nothing of ours
        "milestones.sandbox.cli",
        "sandbox",
        "Serve a fake CRM with a seeded demo world, for demos, tests and benchmarks.",
    ),
    "stages": LazyCommand(
        "milestones.cli.crm",
        "stages",
        "Each pipeline stage, the milestone it proves, and whether it is mapped or a fallback.",
    ),
    "state": LazyCommand(
        "milestones.cli.state_admin",
        "state_group",
        "Check, back up, restore, export and import the state file.",
    ),
    "status": LazyCommand(
        "milestones.cli.state",
        "status",
        "Recent runs, cursors, and writes waiting or failed (with their reasons).",
    ),
    "sync": LazyCommand(
        "milestones.cli.run",
        "sync",
        "Pull what changed, derive milestones, write the differences back.",
    ),
}


@click.group(
    cls=LazyGroup,
    lazy_commands=COMMANDS,
    prepare=add_shared_options,  # --config, -v, -q, --log-format after a command's name too
    context_settings={"help_option_names": ["-h", "--help"]},
)
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


add_shared_options(cli)  # --config, -v, -q, --log-format before or after any command's name


# A run makes and drops hundreds of thousands of small containers (a page's JSON, its records,
# their rows) and almost none form a cycle: reference counting frees them at once. At CPython's
# default (a young collection every 700 net allocations) a full sync of 10,000 contacts ran 943
# collections that found nothing, 0.35 s of its 4.3 s of CPU; at 20,000 it runs about ten.
# Cycles are still collected, and the older generations keep their defaults.
YOUNG_COLLECTION_THRESHOLD = 20_000


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group and turn errors into one line and an exit code."""
    gc.set_threshold(YOUNG_COLLECTION_THRESHOLD, *gc.get_threshold()[1:])
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
        from milestones.store.health import StateError, is_state_failure

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
