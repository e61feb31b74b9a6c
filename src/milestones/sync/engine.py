"""The sync engine: pull, mark dirty, derive, plan, write, record; resumable at every step.

Order of a run (DESIGN.md, data flow):

1. Stage catalogue: one call; a changed catalogue or changed rules re-derive everyone.
2. Pull each record kind, page by page. Each page is upserted into the mirror and the
   cursor (its window and the connector's resume token) saved in one transaction, so a
   crash re-reads at most one page and resumes the same window.
3. Derive the dirty people in chunks read from SQLite; store each result, its new ledger
   rows and the writes it needs in one transaction per chunk.
4. Send pending writes (this run's and earlier failures) in the connector's batch size;
   successes update the mirror's copy of the CRM values, failures are kept with reasons.

SIGTERM and Ctrl-C set a flag the loops check between pages, chunks and batches: the current
unit finishes, is committed, and the run ends as ``interrupted``. ``MILESTONES_CRASH_AT``
(``page:N``, ``chunk:N``, ``write:N``) kills the process with SIGKILL at the N-th such point,
for tests of what survives a crash.
"""

from __future__ import annotations

import hashlib
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from types import FrameType
from typing import Literal

from milestones.connectors.base import (
    Change,
    ConfigurationError,
    Connector,
    ConnectorError,
    FieldKey,
    ObjectKind,
    QuotaExhausted,
    RecordKind,
    Window,
)
from milestones.mapping.rules import MappingRules
from milestones.sync import codec, mirror
from milestones.sync.derivation import derive_deals, derive_people
from milestones.sync.state import Cursor, State, utcnow
from milestones.sync.writer import send_writes

log = logging.getLogger("milestones.sync")

DEFAULT_LOOKBACK = timedelta(seconds=300)
DEFAULT_LAG = timedelta(seconds=30)
DEFAULT_CHUNK = 1_000
CRASH_ENV = "MILESTONES_CRASH_AT"

Mode = Literal["incremental", "full", "backfill"]
Outcome = Literal["ok", "failures", "interrupted", "quota", "error", "dry-run"]


@dataclass(slots=True)
class RunOptions:
    """What kind of run: incremental, full (reconciles deletions) or a backfill window."""

    mode: Mode = "incremental"
    dry_run: bool = False
    writeback: bool = True
    since: datetime | None = None  # backfill only
    until: datetime | None = None  # backfill only


@dataclass(slots=True)
class RunReport:
    """What a run did; ``figures`` are the run log's columns."""

    run_id: int
    outcome: Outcome = "ok"
    figures: dict[str, int] = field(default_factory=dict)
    duration: float = 0.0
    detail: str = ""
    plan: list[Change] = field(default_factory=list)  # dry runs only
    queued_retries: int = 0
    stream_errors: int = 0

    @property
    def exit_code(self) -> int:
        """0 all done (or a dry run); 1 record failures, a quota stop or an interruption."""
        if self.outcome in ("ok", "dry-run") and not self.figures.get("failed"):
            return 0
        return 1

    def bump(self, name: str, by: int = 1) -> None:
        """Add to one figure."""
        self.figures[name] = self.figures.get(name, 0) + by


Progress = Callable[[str, RunReport, int], None]  # (kind, report, api calls so far)


class Stopped(Exception):
    """Raised inside the engine when a stop was requested; the run ends cleanly."""


class CrashHook:
    """Honours ``MILESTONES_CRASH_AT=<phase>:<n>[:TERM|INT]``: a signal at the n-th point.

    SIGKILL by default (an abrupt death); TERM or INT send that signal instead, which the
    run handles like an operator's stop request.
    """

    def __init__(self, spec: str | None) -> None:
        self.phase, self.at, self.signal = "", 0, signal.SIGKILL
        parts = (spec or "").split(":")
        if len(parts) >= 2:
            self.phase, self.at = parts[0].strip(), int(parts[1])
            if len(parts) == 3:
                self.signal = signal.Signals[f"SIG{parts[2].strip().upper()}"]
        self.seen = 0

    def point(self, phase: str) -> None:
        """Count one ``phase`` point; send the signal when it is the chosen one."""
        if phase != self.phase:
            return
        self.seen += 1
        if self.seen == self.at:
            os.kill(os.getpid(), self.signal)


class Engine:
    """Runs one sync against one state file and one connector."""

    def __init__(
        self,
        state: State,
        connector: Connector,
        rules: MappingRules,
        names: Mapping[FieldKey, str],
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
        lag: timedelta = DEFAULT_LAG,
        chunk_size: int = DEFAULT_CHUNK,
        clock: Callable[[], datetime] = utcnow,
        progress: Progress | None = None,
        objects: Sequence[ObjectKind] = ("contact", "lead", "deal"),
    ) -> None:
        self.state = state
        self.connector = connector
        self.rules = rules
        self.names = dict(names)
        self.lookback = lookback
        self.lag = lag
        self.chunk_size = chunk_size
        self.clock = clock
        self.progress = progress
        self.objects = frozenset(objects)  # the object kinds written back
        self.crash = CrashHook(os.environ.get(CRASH_ENV))
        self.stop_requested = False

    def request_stop(self, *_args: object) -> None:
        """Finish the current page, chunk or batch, checkpoint, and end the run."""
        self.stop_requested = True

    def check_stop(self) -> None:
        """Raise ``Stopped`` when a stop was requested (called between units of work)."""
        if self.stop_requested:
            raise Stopped

    def run(
        self,
        options: RunOptions,
        command: str = "sync",
        plan_sink: Callable[[Change], None] | None = None,
    ) -> RunReport:
        """One run; its figures and outcome also go to the run log.

        A dry run hands each planned change to ``plan_sink`` as it is derived (so a large
        plan is never held in memory), or collects them in ``RunReport.plan`` without one.
        """
        started = self.clock()
        t0 = time.monotonic()
        report = RunReport(self.state.start_run(command, self.connector.provider))
        calls_before = self.connector.usage().total
        try:
            with self._signals_stop_the_run():
                self._run(options, started, report, plan_sink)
            if report.stream_errors or (report.figures.get("failed") and not options.dry_run):
                report.outcome = "failures"
            elif options.dry_run:
                report.outcome = "dry-run"
        except Stopped:
            report.outcome = "interrupted"
            report.detail = "stopped by a signal; the next run resumes where this one stopped"
        except QuotaExhausted as exc:
            report.outcome = "quota"
            report.detail = f"stopped at the API quota: {exc}"
        except ConfigurationError:
            report.outcome = "error"
            raise
        except BaseException as exc:
            report.outcome = "error"
            report.detail = type(exc).__name__
            raise
        finally:
            report.figures["api_calls"] = self.connector.usage().total - calls_before
            report.duration = time.monotonic() - t0
            self.state.finish_run(
                report.run_id, report.outcome, report.figures, report.duration, report.detail
            )
        return report

    def _run(
        self,
        options: RunOptions,
        started: datetime,
        report: RunReport,
        plan_sink: Callable[[Change], None] | None,
    ) -> None:
        for name in ("records_read", "changed", "written", "failed"):
            report.figures.setdefault(name, 0)
        self._refresh_stages()
        lane = "backfill" if options.mode == "backfill" else "sync"
        broken: list[str] = []
        for kind in self.connector.kinds:
            try:
                self._pull_kind(kind, lane, options, started, report)
            except (QuotaExhausted, ConfigurationError):
                raise
            except ConnectorError as exc:  # this stream stops; the others still run
                log.error("%s: pull stopped: %s", kind, exc)
                broken.append(f"{kind}: {exc}")
        if broken:
            report.detail = "pull stopped for " + "; ".join(broken)
            report.stream_errors = len(broken)
            # People derived from a partial mirror (deals unread, say) would get a milestone
            # too low and have it written. Keep what was read and the dirty set; the next run
            # whose pulls all finish derives from complete data.
            log.error("derive and write held until every record kind reads cleanly")
            report.detail += "; derive and write held until every record kind reads cleanly"
            return
        self._mark_meetings_ended(started, options.dry_run)
        sink = (plan_sink or report.plan.append) if options.dry_run else None
        derive_people(self, started, report, sink)
        derive_deals(self, report, sink)
        if options.dry_run:
            report.queued_retries = self.state.count("writes", "is_retryable = 1")
            return
        if options.writeback:
            send_writes(self, report)

    # --- step 1: stages ---------------------------------------------------------------

    def _refresh_stages(self) -> None:
        stages = self.connector.stages()
        known = {s.id for s in stages}
        for stage_id in sorted(set(self.rules.stages) - known):  # a typo maps nothing
            log.warning("[mapping.stages] names %r, which the CRM does not have", stage_id)
        rows = sorted((s.id, codec.encode_stage(s)) for s in stages)
        digest = hashlib.sha256()
        digest.update(self.rules.model_dump_json().encode())
        digest.update(codec.dumps(rows).encode())
        digest.update(codec.dumps(sorted(self.names.items())).encode())
        fingerprint = digest.hexdigest()
        with self.state.transaction() as db:
            db.execute("DELETE FROM stages")
            db.executemany("INSERT INTO stages VALUES (?, ?)", rows)
            previous = self.state.get_meta("fingerprint")
            if previous is not None and previous != fingerprint:
                log.info("rules or stage catalogue changed: everyone is derived again")
                mirror.mark_everything_dirty(db)
            self.state.set_meta("fingerprint", fingerprint)

    # --- step 2: pull -----------------------------------------------------------------

    def _window(self, cursor: Cursor, lane: str, options: RunOptions, started: datetime) -> Window:
        until = started - self.lag
        if lane == "backfill":
            return Window(options.since, min(options.until or until, until))
        if options.mode == "full" or cursor.committed is None:
            return Window(None, until)
        return Window(cursor.committed - self.lookback, until)

    def _resumes(self, cursor: Cursor, lane: str, options: RunOptions) -> bool:
        """Whether an unfinished pull of this kind should be resumed rather than restarted."""
        if not cursor.is_running or cursor.window_until is None:
            return False
        if lane == "backfill":
            same_until = options.until is None or options.until == cursor.window_until
            return cursor.window_since == options.since and same_until
        # An unfinished full pull is resumed by any run; --full restarts an incremental one.
        return cursor.window_since is None or options.mode != "full"

    def _pull_kind(
        self, kind: RecordKind, lane: str, options: RunOptions, started: datetime, report: RunReport
    ) -> None:
        provider = self.connector.provider
        cursor = self.state.cursor(provider, kind, lane)
        if self._resumes(cursor, lane, options):
            assert cursor.window_until is not None
            window = Window(cursor.window_since, cursor.window_until)
            log.info("%s: resuming the unfinished pull after %d pages", kind, cursor.pages)
        else:
            window = self._window(cursor, lane, options, started)
            if window.since is not None and window.since >= window.until:
                return
            cursor.window_since, cursor.window_until = window.since, window.until
            cursor.resume, cursor.pull_id, cursor.is_running, cursor.pages = (
                None,
                report.run_id,
                True,
                0,
            )
            with self.state.transaction():
                self.state.save_cursor(cursor)
        pull_id = cursor.pull_id or report.run_id
        is_done = False
        for page in self.connector.pull(kind, window, cursor.resume):
            self.crash.point("page")
            with self.state.transaction() as db:
                mirror.apply_page(db, page, pull_id, self.names)
                cursor.resume = page.resume
                cursor.pages += 1
                is_done = page.resume is None
                if is_done:
                    self._complete_pull(cursor, lane, window, kind, pull_id)
                self.state.save_cursor(cursor)
            report.bump("records_read", len(page.records))
            if self.progress is not None:
                self.progress(kind, report, self.connector.usage().total)
            if not is_done:
                self.check_stop()
        if not is_done:
            with self.state.transaction():
                self._complete_pull(cursor, lane, window, kind, pull_id)
                self.state.save_cursor(cursor)

    def _complete_pull(
        self, cursor: Cursor, lane: str, window: Window, kind: str, pull_id: int
    ) -> None:
        """The pull reached its end: reconcile deletions (full pulls), advance the cursor."""
        if window.is_full:
            gone = mirror.reconcile_full(self.state.db, kind, pull_id)
            if gone:
                log.info("%s: %d records gone since the last full pull", kind, gone)
        if lane == "sync":
            cursor.committed = window.until
        cursor.is_running = False
        cursor.window_since = cursor.window_until = None
        cursor.resume = None

    def _mark_meetings_ended(self, started: datetime, dry_run: bool) -> None:
        """Re-derive the people whose result can change with time alone.

        A meeting with no outcome counts once it has ended, so the people of meetings that
        ended since the last run are dirty; advocacy lapses when its evidence grows old, so
        once a day every current advocate is derived again.
        """
        last = self.state.get_meta("meetings_checked_until")
        after = datetime.fromisoformat(last) if last else None
        today = started.date().isoformat()
        if dry_run:
            return
        with self.state.transaction() as db:
            mirror.mark_meetings_ended(db, after, started)
            self.state.set_meta("meetings_checked_until", started.isoformat())
            if self.state.get_meta("advocates_checked_on") != today:
                mirror.mark_advocates_dirty(db)
                self.state.set_meta("advocates_checked_on", today)

    # --- signals ----------------------------------------------------------------------

    @contextmanager
    def _signals_stop_the_run(self) -> Iterator[None]:
        """SIGTERM and SIGINT ask the run to stop at the next checkpoint (main thread only)."""
        if threading.current_thread() is not threading.main_thread():
            yield
            return

        def handler(signum: int, frame: FrameType | None) -> None:
            log.warning("signal %d: finishing the current unit of work, then stopping", signum)
            self.request_stop()

        previous = {s: signal.signal(s, handler) for s in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield
        finally:
            for signum, old in previous.items():
                signal.signal(signum, old)
