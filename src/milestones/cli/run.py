"""The commands that run the engine: ``sync`` and ``backfill``.

Both hold the state's run lock for their whole duration (a second run is refused with a
clear message), build the configured connector, and return the exit code DESIGN.md
promises: 0 all done, 1 record-level failures or a stop (quota, signal), 2 configuration.
"""

from __future__ import annotations

import random
import re
from datetime import UTC, date, datetime, timedelta

import click

from milestones.cli.app import AppContext, say
from milestones.cli.loading import collector_paused
from milestones.sync.run import RunOptions

_INTERVAL = re.compile(r"^\s*(\d+)\s*([smhd]?)\s*$")


def parse_interval(text: str) -> timedelta:
    """``15m``, ``1h``, ``90s``, ``1d`` or plain seconds."""
    match = _INTERVAL.match(text)
    if not match or int(match.group(1)) == 0:
        raise click.BadParameter(f"{text!r} is not an interval such as 15m, 1h or 900")
    unit = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}[match.group(2)]
    return timedelta(seconds=int(match.group(1)) * unit)


@click.command()
@click.option("--full", is_flag=True, help="Re-read everything and reconcile deletions.")
@click.option("--dry-run", is_flag=True, help="Print the plan; send nothing to the CRM.")
@click.option("--every", "every", metavar="INTERVAL", help="Loop: run every 15m, 1h... (jittered).")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@click.pass_obj
@collector_paused()  # while the run loads its code (cli.loading)
def sync(app: AppContext, full: bool, dry_run: bool, every: str | None, as_json: bool) -> int:
    """Pull what changed, derive milestones, write the differences back.

    \b
    Examples:
      milestones sync                 incremental, for cron or a systemd timer
      milestones sync --dry-run       show what would be written
      milestones sync --full          re-read everything, notice deletions
      milestones sync --every 15m     keep running, for hosts without a scheduler
    """
    from milestones.cli.running import run_in_loop, run_once, sleep_or_stop

    config = app.config()
    options = RunOptions(
        mode="full" if full else "incremental",
        dry_run=dry_run,
        writeback=config.writeback.enabled,
    )
    if every is None:
        return run_once(app, options, "sync", as_json)
    interval = parse_interval(every).total_seconds()
    while True:
        code = run_in_loop(app, options, as_json)
        options.mode = "incremental"  # --full applies to the first run of the loop only
        pause = interval * random.uniform(0.9, 1.1)
        if not as_json:
            say(f"next run in {pause / 60:.1f} min (Ctrl-C to stop)", err=True)
        if sleep_or_stop(pause):
            return code


def _parse_day(value: str | None, name: str) -> datetime | None:
    if value is None:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date (YYYY-MM-DD)", param_hint=name) from None
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


@click.command()
@click.option("--since", metavar="DATE", help="First day to re-read (YYYY-MM-DD).")
@click.option("--until", metavar="DATE", help="Day to stop before (default: now).")
@click.option(
    "--rebuild-history",
    is_flag=True,
    help="Re-read everything and re-date every milestone from the CRM's evidence.",
)
@click.option("--dry-run", is_flag=True, help="Print the plan; send nothing to the CRM.")
@click.option("--json", "as_json", is_flag=True, help="Print the run's figures as JSON.")
@click.pass_obj
@collector_paused()  # while the run loads its code (cli.loading)
def backfill(
    app: AppContext,
    since: str | None,
    until: str | None,
    rebuild_history: bool,
    dry_run: bool,
    as_json: bool,
) -> int:
    """Re-read records modified in a date range, derive them and write the differences.

    Resumable: rerun the same command after an interruption and it continues where it
    stopped. The incremental cursors of `sync` are left alone.

    With --rebuild-history it re-reads everything instead (the deals' stage histories
    included), dates each person's milestones by the evidence that proves them, re-dates
    the transition ledger to match and writes the dates that changed. No milestone moves
    down; the run's figures say how many ledger dates changed (`redated`).

    \b
    Examples:
      milestones backfill --since 2024-01-01 --until 2024-07-01
      milestones backfill --rebuild-history
    """
    if rebuild_history and (since or until):
        raise click.UsageError("--rebuild-history re-reads everything: leave out --since/--until")
    if not rebuild_history and since is None:
        raise click.UsageError("give --since DATE (or --rebuild-history)")
    start = _parse_day(since, "--since")
    end = _parse_day(until, "--until")
    if start is not None and end is not None and end <= start:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    from milestones.cli.running import run_once

    config = app.config()
    options = RunOptions(
        mode="full" if rebuild_history else "backfill",
        dry_run=dry_run,
        writeback=config.writeback.enabled,
        since=start,
        until=end,
        rebuild_history=rebuild_history,
    )
    return run_once(app, options, "backfill", as_json)


COMMANDS: tuple[click.Command, ...] = (sync, backfill)
