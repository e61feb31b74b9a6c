"""The sync engine: pull, mark dirty, derive, plan, write, record; resumable at every step.

Order of a run (DESIGN.md, data flow), each step a small object that takes only what it
needs:

1. Stage catalogue: one call; a changed catalogue or changed rules re-derive everyone
   (``Puller.refresh_stages``).
2. Pull each record kind, page by page, into the mirror (``Puller.pull_kind``); once a day,
   read the CRM's delete log where it keeps one (``DeletionCheck``).
3. Derive the dirty people and deals in chunks; store each result, its new ledger rows and
   the writes it needs in one transaction per chunk (``Deriver``).
4. Send the outbox (this run's writes and earlier failures) in the connector's batch size
   (``Writer``).

SIGTERM and Ctrl-C set a flag the loops check between pages, chunks and batches: the current
unit finishes, is committed, and the run ends as ``interrupted``. A ``CrashHook`` passed in
kills the process at a chosen checkpoint, for tests of what survives a crash.
"""

from __future__ import annotations

import logging
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import datetime, timedelta
from types import FrameType
from typing import TYPE_CHECKING

from milestones.connectors.base import (
    ConfigurationError,
    Connector,
    ConnectorError,
    DeletionLog,
    QuotaExhausted,
)
from milestones.mapping.fields import Change, FieldKey, ObjectKind
from milestones.mapping.rules import MappingRules
from milestones.store.sqlite import Store
from milestones.sync.deletions import DeletionCheck
from milestones.sync.derivation import Deriver
from milestones.sync.likelihood import (
    Bands,
    are_bands_due,
    mark_band_changes,
    note_bands_planned,
)
from milestones.sync.owners import refresh_owner_names
from milestones.sync.pull import Puller
from milestones.sync.run import (
    Checkpoints,
    Clock,
    CrashHook,
    Progress,
    RunOptions,
    RunReport,
    Stopped,
    system_clock,
)
from milestones.sync.writer import Writer

if TYPE_CHECKING:  # a run without [accounts] or [plays] loads none of their code
    from milestones.mapping.account_rules import AccountRules
    from milestones.sync.accounts import AccountDeriver
    from milestones.sync.plays import PlayOutcome, PlayRunner

log = logging.getLogger("milestones.sync")

DEFAULT_LOOKBACK = timedelta(seconds=300)
DEFAULT_LAG = timedelta(seconds=30)
DEFAULT_CHUNK = 1_000


class Engine:
    """Runs one sync against one store and one connector."""

    def __init__(
        self,
        store: Store,
        connector: Connector,
        rules: MappingRules,
        names: Mapping[FieldKey, str],
        *,
        lookback: timedelta = DEFAULT_LOOKBACK,
        lag: timedelta = DEFAULT_LAG,
        chunk_size: int = DEFAULT_CHUNK,
        clock: Clock = system_clock,
        progress: Progress | None = None,
        objects: Sequence[ObjectKind] = ("contact", "lead", "deal"),
        crash: CrashHook | None = None,
        bands: Bands | None = None,
        read_owners: bool = False,
        accounts: AccountRules | None = None,
        plays: PlayRunner | None = None,
    ) -> None:
        self.store = store
        self.plays = plays
        self.last_plays: PlayOutcome | None = None  # what the last run's plays did
        self.connector = connector
        self.rules = rules
        self.clock = clock
        self.checkpoints = Checkpoints(crash, progress)
        names = dict(names)
        self.puller = Puller(store, connector, names, lookback, lag, self.checkpoints)
        self.deriver = Deriver(
            store, rules, names, frozenset(objects), chunk_size, clock, self.checkpoints
        )
        self.deriver.by_parent = connector.writes_by_parent
        self.accounts: AccountDeriver | None = None
        if accounts is not None and accounts.enabled:
            self.deriver.track_accounts = True
            from milestones.sync.accounts import AccountDeriver

            self.accounts = AccountDeriver(
                store,
                accounts,
                names,
                accounts.company_property,
                chunk_size,
                clock,
                self.checkpoints,
            )
        self.writer = Writer(store, connector, clock, self.checkpoints)
        self.bands = bands  # [likelihood] writeback: the bands to write, computed after derive
        self.read_owners = read_owners  # owner names for the report, at most daily
        self.deletions = (
            DeletionCheck(store, connector, connector.provider)
            if isinstance(connector, DeletionLog)
            else None
        )

    def request_stop(self, *_args: object) -> None:
        """Finish the current page, chunk or batch, checkpoint, and end the run."""
        self.checkpoints.request_stop()

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
        report = RunReport(self.store.runs.start(command, self.connector.provider, started))
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
            self.store.runs.finish(
                report.run_id,
                report.outcome,
                report.figures,
                report.duration,
                report.detail,
                self.clock(),
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
        self.puller.refresh_stages(self.rules, started, force=options.mode == "full")
        lane = "backfill" if options.mode == "backfill" else "sync"
        broken: list[str] = []
        full: set[str] = set()  # kinds read whole: their deletions are reconciled already
        with self.store.transaction():
            deferred = self.store.mirror.defer_link_index()  # a first pull: built after it
        try:
            for kind in self.connector.kinds:
                try:
                    window = self.puller.pull_kind(kind, lane, options, started, report)
                    if window is not None and window.is_full:
                        full.add(kind)
                except (QuotaExhausted, ConfigurationError):
                    raise
                except ConnectorError as exc:  # this stream stops; the others still run
                    log.error("%s: pull stopped: %s", kind, exc)
                    broken.append(f"{kind}: {exc}")
        finally:
            if deferred:
                with self.store.transaction():
                    self.store.mirror.restore_link_index()
        if broken:
            report.detail = "pull stopped for " + "; ".join(broken)
            report.stream_errors = len(broken)
            # People derived from a partial mirror (deals unread, say) would get a milestone
            # too low and have it written. Keep what was read and the dirty set; the next run
            # whose pulls all finish derives from complete data.
            log.error("derive and write held until every record kind reads cleanly")
            report.detail += "; derive and write held until every record kind reads cleanly"
            return
        if self.deletions is not None and lane == "sync" and not options.dry_run:
            self.deletions.run(started, full)  # at most once a day per kind (sync/deletions.py)
        if not options.dry_run:
            self.puller.mark_time_dirty(started)
        if options.rebuild_history:
            with self.store.transaction():
                self.store.people.mark_all_dirty()
        elif options.mode == "full":
            # A full run derives everyone again, not only what the pull found changed (the
            # mirror tells our own writes' echoes apart): the nightly safety net that also
            # catches a result drifting with time alone outside ``mark_time_dirty``'s checks.
            with self.store.transaction():
                self.store.mirror.mark_everything_dirty()
        sink = (plan_sink or report.plan.append) if options.dry_run else None
        self.deriver.derive_people(started, report, sink, rebuild=options.rebuild_history)
        self.deriver.derive_deals(report, sink)
        pulled = report.figures["records_read"]
        if self.bands is not None and are_bands_due(self.store, started.date(), pulled):
            self.deriver.bands = self.bands(self.store, started.date())
            if mark_band_changes(self.store, self.deriver.bands):
                self.deriver.derive_people(started, report, sink)
            if not options.dry_run:
                note_bands_planned(self.store, started.date())
        if self.accounts is not None:
            self.accounts.derive_accounts(report, sink)
        if options.dry_run:
            report.queued_retries = self.store.outbox.retryable()
            if self.plays is not None:
                self.last_plays = self.plays.run(started, report, dry_run=True)
            return
        if options.writeback:
            self.writer.send_writes(report)
        if self.plays is not None:
            self.last_plays = self.plays.run(started, report, dry_run=not options.writeback)
        if self.read_owners:
            refresh_owner_names(self.store, self.connector, started, report.figures["records_read"])

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
