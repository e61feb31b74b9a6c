"""The ``milestones`` command: one click group, a context object, one error handler.

Commands stay thin: they load the config through ``AppContext.config`` (validated once) and
call the engine. Errors reach ``main()``, which prints one clear line and picks the exit
code DESIGN.md promises: 0 all done, 1 finished with record-level failures (or stopped at a
quota), 2 configuration or usage error. Tracebacks only with ``--verbose``.
"""

from __future__ import annotations

import json
import sys
import traceback
from dataclasses import dataclass, field
from typing import Any

import click

from milestones import __version__
from milestones.sync.config import Config, ConfigError, load_config, resolve_path
from milestones.sync.logs import configure_logging, redact

EXIT_OK = 0
EXIT_FAILURES = 1
EXIT_CONFIG = 2


class RunFailed(click.ClickException):
    """A command finished but could not do all its work (exit 1)."""

    exit_code = EXIT_FAILURES


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


@cli.command()
@click.option("--offline", is_flag=True, help="Validate the file only; do not connect.")
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
@pass_app
def check(app: AppContext, offline: bool, as_json: bool) -> None:
    """Check the config (and, unless --offline, the connection and the fields).

    \b
    Example:
      milestones --config milestones.toml check --offline
    """
    config = app.config()
    mapped = len(config.mapping.stages)
    result: dict[str, Any] = {
        "config": str(resolve_path(app.config_path)),
        "provider": config.provider,
        "state": str(config.state.path),
        "stages_mapped": mapped,
        "writeback": config.writeback.enabled,
        "ok": True,
    }
    lines = [
        f"config ok: {result['config']}",
        f"  provider   {config.provider}",
        f"  state      {config.state.path}",
        f"  stages     {mapped} mapped in [mapping.stages]; others fall back on stage metadata",
        f"  writeback  {'on' if config.writeback.enabled else 'off'}",
    ]
    if not offline:
        from milestones.sync.checks import check_connection

        ok, details, detail_lines = check_connection(config)
        result.update(details)
        result["ok"] = ok
        lines.extend(detail_lines)
    app.emit(result, as_json, "\n".join(lines))
    if not result["ok"]:
        raise RunFailed("check found problems (see above)")


from milestones.sync.commands import all_commands  # noqa: E402  (they import AppContext)

for _command in all_commands():
    cli.add_command(_command)

from milestones.sync import init_config, report_cli  # noqa: E402  (they import pass_app)

for _command in (*report_cli.COMMANDS, *init_config.COMMANDS):
    cli.add_command(_command)

from milestones.sandbox.cli import sandbox  # noqa: E402  (the sandbox imports nothing of ours)

cli.add_command(sandbox)


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the group and turn errors into one line and an exit code."""
    verbose = any(arg in ("-v", "--verbose") for arg in (argv or sys.argv[1:]))
    try:
        code = cli.main(args=argv, prog_name="milestones", standalone_mode=False)
    except ConfigError as exc:
        click.echo(f"error: config {exc.source} has {len(exc.problems)} problem(s):", err=True)
        for problem in exc.problems:
            click.echo(f"  - {problem}", err=True)
        sys.exit(EXIT_CONFIG)
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        sys.exit(130)
    except click.UsageError as exc:
        exc.show()
        sys.exit(EXIT_CONFIG)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except click.exceptions.Exit as exc:
        sys.exit(exc.exit_code)
    except KeyboardInterrupt:
        click.echo("interrupted", err=True)
        sys.exit(130)
    except Exception as exc:  # the one top-level handler
        if verbose:
            click.echo(redact(traceback.format_exc()), err=True)
        click.echo(f"error: {redact(str(exc)) or type(exc).__name__}", err=True)
        if not verbose:
            click.echo("(run with --verbose for details)", err=True)
        sys.exit(EXIT_FAILURES)
    sys.exit(code if isinstance(code, int) else EXIT_OK)


__all__ = ["AppContext", "RunFailed", "cli", "main", "pass_app"]
