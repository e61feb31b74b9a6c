"""Running the engine once for ``sync`` and ``backfill``: the run lock, the state, the
connector, the run's output and its exit code.

Apart from the commands (``cli.run``) so that ``milestones sync --help`` and a mistyped option
cost no more than click: the engine, the connectors and the config models are imported here,
when a run starts.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from milestones.cli.app import AppContext, Busy, ConfigProblem, say
from milestones.cli.loading import run_loaded
from milestones.cli.progress import ProgressLine
from milestones.config.settings import Config
from milestones.connectors.base import ConfigurationError, ConnectorError, OnWait
from milestones.logs import redact
from milestones.mapping.fields import Change
from milestones.store.forgetting import after_run
from milestones.store.location import open_state
from milestones.sync.lock import AlreadyRunning, run_lock
from milestones.sync.run import CrashHook, Progress, RunOptions, RunReport
from milestones.text import MESSAGE_LIMIT, printable

if TYPE_CHECKING:
    from milestones.sync.engine import Engine
    from milestones.sync.likelihood import Bands

PLAN_LINES = 200


@contextmanager
def open_engine(
    app: AppContext, progress: Progress | None = None, on_wait: OnWait | None = None
) -> Iterator[Engine]:
    """Lock the state, open it, build the connector and the engine; close all after.

    ``progress`` hears where the run stands, ``on_wait`` of each rate-limit or retry wait.
    """
    # The engine and the connectors are imported by the commands that run them only.
    from milestones.sync.factory import build_connector, build_engine

    config = app.config()
    try:
        with (
            run_lock(config.state.location()),
            open_state(config.state.location(), now=datetime.now(UTC)) as state,
        ):
            try:
                connector = build_connector(config)
            except ConfigurationError as exc:
                raise ConfigProblem(str(exc)) from None
            connector.watch_waits(on_wait)
            try:
                engine = build_engine(
                    config,
                    state,
                    connector,
                    progress=progress,
                    crash=CrashHook.from_environ(os.environ),
                    bands=_bands(config),
                )
                run_loaded()  # the run's code is loaded: the collector runs again (cli.loading)
                yield engine
            except ConfigurationError as exc:
                raise ConfigProblem(str(exc)) from None
            finally:
                connector.close()
            after_run(state, datetime.now(UTC), config.privacy.keep_run_details_days)
    except AlreadyRunning as exc:
        raise Busy(str(exc)) from None


def _bands(config: Config) -> Bands | None:
    """With ``[likelihood] writeback``: the bands to write (the estimator must be installed)."""
    settings = config.likelihood
    if not settings.writeback:
        return None
    # Loaded only when the bands are written: every other sync (and --help) skips them.
    from milestones.report.likelihood.build import person_bands
    from milestones.report.likelihood.estimate import MissingEstimator, require_estimator

    try:
        require_estimator()
    except MissingEstimator as exc:
        raise ConfigProblem(f"[likelihood] writeback = true: {exc}") from None
    return lambda store, day: person_bands(store, day, settings.min_sample)


def summary(report: RunReport) -> dict[str, Any]:
    """The run's figures as plain data."""
    return {
        "run": report.run_id,
        "outcome": report.outcome,
        **report.figures,
        "duration_s": round(report.duration, 2),
        "detail": report.detail,
    }


def summary_lines(command: str, report: RunReport) -> list[str]:
    """What the run read, changed, wrote and spent, for people (and why it stopped)."""
    f = report.figures
    line = (
        f"{command} run {report.run_id}: {report.outcome}; read {f.get('records_read', 0)} "
        f"records, {f.get('changed', 0)} to write, wrote {f.get('written', 0)}, "
        f"failed {f.get('failed', 0)}, {f.get('api_calls', 0)} API calls, {report.duration:.1f}s"
    )
    if "redated" in f:
        line += f"; {f['redated']} ledger dates changed"
    detail = f"  {printable(report.detail, MESSAGE_LIMIT)}" if report.detail else None
    return [line] if detail is None else [line, detail]


def describe_change(change: Change) -> str:
    """``contact 123  milestone=prospect milestone_date=2025-01-07``."""
    values = " ".join(f"{k}={'' if v is None else v}" for k, v in change.fields.items())
    return f"{change.object_kind} {change.record_id}  {values}"


def _plan_data(report: RunReport) -> list[dict[str, Any]]:
    return [
        {"object": c.object_kind, "id": c.record_id, "fields": dict(c.fields)} for c in report.plan
    ]


class PlanPrinter:
    """Prints a dry run's plan as it is derived: the first lines, then a count."""

    def __init__(self) -> None:
        self.count = 0

    def __call__(self, change: Change) -> None:
        self.count += 1
        if self.count <= PLAN_LINES:
            say(describe_change(change))

    def finish(self, report: RunReport) -> None:
        """The closing lines: what was left out, and that nothing was sent."""
        extra = self.count - PLAN_LINES
        if extra > 0:
            say(f"... and {extra} more (use --json for the whole plan)")
        say(
            f"dry run: {self.count} records would be written"
            + (f", plus {report.queued_retries} queued retries" if report.queued_retries else "")
            + "; nothing was sent to the CRM"
        )


def run_once(app: AppContext, options: RunOptions, command: str, as_json: bool) -> int:
    """One engine run, its output, and its exit code."""
    # Progress only for a person at a terminal: cron and Kubernetes get the one summary line,
    # and JSON logs are for log shippers (a progress line would break their object a line).
    wants_progress = sys.stderr.isatty() and app.log_format == "text" and not as_json
    progress = ProgressLine(command) if wants_progress else None
    printer = PlanPrinter() if options.dry_run and not as_json else None
    from milestones.sync.factory import warn_of_retiring_apis

    warn_of_retiring_apis(app.config(), datetime.now(UTC).date())
    with open_engine(app, progress, progress.on_wait if progress else None) as engine:
        report = engine.run(options, command=command, plan_sink=printer)
    if progress is not None:
        progress.finish()
    plays = engine.last_plays
    if as_json:
        data = summary(report)
        if options.dry_run:
            data["plan"] = _plan_data(report)
            data["queued_retries"] = report.queued_retries
        if plays is not None:  # the plays' printing is loaded by the runs that have plays only
            from milestones.cli.plays import outcome_data

            data["plays"] = outcome_data(plays)
        app.emit(data, True)
    else:
        if printer is not None:
            printer.finish(report)
        if plays is not None:
            from milestones.cli.plays import outcome_lines

            say(*outcome_lines(plays, dry_run=options.dry_run))
        say(*summary_lines(command, report))
    return report.exit_code


def sleep_or_stop(seconds: float) -> bool:
    """Sleep between scheduled runs; True when a signal asked the loop to end."""
    stop = threading.Event()
    if threading.current_thread() is not threading.main_thread():
        time.sleep(seconds)
        return False
    handlers = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        return stop.wait(seconds)
    finally:
        for signum, old in handlers.items():
            signal.signal(signum, old)


def run_in_loop(app: AppContext, options: RunOptions, as_json: bool) -> int:
    """One scheduled run; a passing failure is reported and the loop goes on.

    Configuration problems still end the loop (exit 2): the next run would fail the same way.
    """
    try:
        return run_once(app, options, "sync", as_json)
    except ConfigProblem:
        raise
    except (Busy, ConnectorError) as exc:
        message = printable(redact(str(exc)), MESSAGE_LIMIT)
        say(f"error: {message}; trying again at the next run", err=True)
        return 1
