"""Engine steps 1-2: the stage catalogue, then each record kind pulled into the mirror.

The stage catalogue changes rarely: it is read on full runs, once a day, and when a deal
arrives in a stage the kept catalogue lacks (``sync.periodic`` remembers when).

Pulled pages are upserted into the mirror and the cursor (its window and the connector's
resume token) saved in one transaction, so a crash resumes the same window after the last page
stored. Pages are held and stored together once they hold ``GROUP_ROWS`` rows or the first was
read ``GROUP_SECONDS`` ago: a crash re-reads at most that much (a few pages); a stop request
or a failed read stores what was read first.
Cursors compare with ``>=`` from the stored cursor minus a lookback and stop a small lag before
the run began (DESIGN.md, data flow).
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from milestones.connectors.base import Connector, Page, Record, RecordKind, Window
from milestones.mapping.fields import FieldKey
from milestones.mapping.records import Deal
from milestones.mapping.rules import MappingRules
from milestones.store import codec
from milestones.store.rows import Cursor
from milestones.store.sqlite import Store
from milestones.sync.flag_dates import add_pending, date_flags, read_pending
from milestones.sync.periodic import Periodic
from milestones.sync.run import Checkpoints, RunOptions, RunReport
from milestones.text import NAME_LIMIT, printable

log = logging.getLogger("milestones.sync")
STAGES = "stage_catalogue"  # the periodic read of the CRM's stage catalogue
# Pulled pages are stored together, in one transaction, once they hold this many rows or the
# first of them was read this long ago: a full pull commits far less often (each commit
# writes every index page it touched), and a crash re-reads at most this much.
GROUP_ROWS = 5_000
GROUP_SECONDS = 2.0


@dataclass(slots=True)
class _Held:
    """A pull's pages read and not stored yet, and where they go: stored together once they
    hold ``GROUP_ROWS`` rows or the first was read ``GROUP_SECONDS`` ago."""

    kind: RecordKind
    cursor: Cursor
    lane: str
    window: Window
    pull_id: int
    rebuild: bool  # backfill --rebuild-history: flag dates are read again
    pages: list[Page] = field(default_factory=list)
    rows: int = 0
    since: float = 0.0  # when the first was read

    def add(self, page: Page, now: float) -> None:
        if not self.pages:
            self.since = now
        self.pages.append(page)
        self.rows += len(page.records) + len(page.deleted_ids)

    def is_full(self, now: float) -> bool:
        return self.rows >= GROUP_ROWS or now - self.since >= GROUP_SECONDS


@dataclass(slots=True)
class Puller:
    """Reads the CRM into the mirror, one record kind and one page at a time."""

    store: Store
    connector: Connector
    names: Mapping[FieldKey, str]
    lookback: timedelta
    lag: timedelta
    checkpoints: Checkpoints
    _clock: Callable[[], float] = time.monotonic

    periodic: Periodic = field(init=False)
    _rules: MappingRules | None = field(default=None, init=False)
    _known_stages: set[str] | None = field(default=None, init=False)  # None: read this run

    def __post_init__(self) -> None:
        self.periodic = Periodic(self.store)

    def refresh_stages(self, rules: MappingRules, now: datetime, *, force: bool = False) -> None:
        """Store the stage catalogue; changed rules or stages re-derive everyone.

        The catalogue is read from the CRM on full runs, at most once a day otherwise, and
        again when a pulled deal names a stage it lacks (``pull_kind``). In between, the
        connector takes the one the state kept: an unchanged CRM costs no call for it.
        """
        self._rules = rules
        is_read = force or self.periodic.is_due(STAGES, now)
        if is_read:
            stages = self.connector.stages()
            self._known_stages = None
        else:
            stages = sorted(self.store.people.stages().values(), key=lambda s: s.id)
            self.connector.use_stages(stages)
            self._known_stages = {s.id for s in stages}
        known = {s.id for s in stages}
        for stage_id in sorted(set(rules.stages) - known):  # a typo maps nothing
            shown = printable(repr(stage_id), NAME_LIMIT)  # a config value: any length, any text
            log.warning("[mapping.stages] names %s, which the CRM does not have", shown)
        rows = sorted((s.id, codec.encode_stage(s)) for s in stages)
        digest = hashlib.sha256()
        digest.update(rules.model_dump_json().encode())
        digest.update(codec.dumps(rows).encode())
        digest.update(codec.dumps(sorted(self.names.items())).encode())
        fingerprint = digest.hexdigest()
        with self.store.transaction():
            if is_read:
                self.store.mirror.replace_stages(sorted(stages, key=lambda s: s.id))
                self.periodic.mark_done(STAGES, now)
            previous = self.store.get_meta("fingerprint")
            if previous is not None and previous != fingerprint:
                log.info("rules or stage catalogue changed: everyone is derived again")
                self.store.mirror.mark_everything_dirty()
            self.store.set_meta("fingerprint", fingerprint)

    def _names_unknown_stage(self, records: Sequence[object]) -> bool:
        """Whether a pulled deal is in a stage the catalogue kept from an earlier run lacks."""
        known = self._known_stages
        if known is None:  # read from the CRM this run: nothing newer to fetch
            return False
        return any(
            isinstance(r, Deal) and r.stage_id is not None and r.stage_id not in known
            for r in records
        )

    def pull_kind(
        self, kind: RecordKind, lane: str, options: RunOptions, started: datetime, report: RunReport
    ) -> Window | None:
        """Pull one record kind to its end, resuming an unfinished pull of it where it fits;
        the window it read (None when there was nothing to read)."""
        provider = self.connector.provider
        cursor = self.store.cursors.get(provider, kind, lane)
        if self._resumes(cursor, lane, options):
            assert cursor.window_until is not None
            window = Window(cursor.window_since, cursor.window_until)
            log.info("%s: resuming the unfinished pull after %d pages", kind, cursor.pages)
        else:
            window = self._window(cursor, lane, options, started)
            if window.since is not None and window.since >= window.until:
                return None
            cursor.window_since, cursor.window_until = window.since, window.until
            cursor.resume, cursor.pull_id, cursor.is_running, cursor.pages = (
                None,
                report.run_id,
                True,
                0,
            )
            with self.store.transaction():
                self.store.cursors.save(cursor)
        pull_id = cursor.pull_id or report.run_id
        is_done = False
        has_new_stage = False
        held = _Held(kind, cursor, lane, window, pull_id, options.rebuild_history)
        try:
            for page in self.connector.pull(kind, window, cursor.resume):
                has_new_stage = has_new_stage or self._names_unknown_stage(page.records)
                self.checkpoints.crash.point("page")
                now = self._clock()
                held.add(page, now)
                is_done = page.resume is None
                if is_done or held.is_full(now):
                    self._store_held(held, completes=is_done)
                report.bump("records_read", len(page.records))
                self.checkpoints.report(kind, report, self.connector.usage().total)
                if not is_done and self.checkpoints.stop_requested:
                    self._store_held(held, completes=False)
                    self.checkpoints.check_stop()
        except BaseException:
            # The pages read before the failure are whole: keep them (a failed store has
            # already let go of what it held, rolled back).
            self._store_held(held, completes=False)
            raise
        if not is_done:  # the pull ended without saying so on its last page
            self._store_held(held, completes=True)
        if kind == "contacts":
            dated = read_pending(self.store, self.connector, self._flags)
            if dated:
                log.info("contacts: %d advocacy flag(s) dated from their history", dated)
        if has_new_stage and self._rules is not None:
            log.info("%s: a deal is in a stage the kept catalogue lacks: reading it again", kind)
            self.refresh_stages(self._rules, started, force=True)
        return window

    @property
    def _flags(self) -> list[str]:
        """The properties whose setting marks an advocate (``[mapping.advocate]``)."""
        return self._rules.advocate.flag_properties if self._rules is not None else []

    def _store_held(self, held: _Held, *, completes: bool) -> None:
        """Store the held pages in order and advance the cursor past the last, in one
        transaction; ``completes``: the pull reached its end (``_complete``)."""
        pages, held.pages, held.rows = held.pages, [], 0
        if not pages and not completes:
            return
        cursor, flags = held.cursor, self._flags
        with self.store.transaction():
            for page in pages:
                records: list[Record] = list(page.records)
                unread: list[str] = []
                if held.kind == "contacts" and flags:
                    records, unread = date_flags(
                        records, flags, held.window, self.store, held.rebuild
                    )
                self.store.mirror.apply_page(
                    page.kind, records, page.deleted_ids, held.pull_id, self.names, page.merges
                )
                add_pending(self.store, unread)
            if pages:
                cursor.resume = pages[-1].resume
                cursor.pages += len(pages)
            if completes:
                self._complete(cursor, held.lane, held.window, held.kind, held.pull_id)
            self.store.cursors.save(cursor)

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

    def _complete(self, cursor: Cursor, lane: str, window: Window, kind: str, pull_id: int) -> None:
        """The pull reached its end: reconcile deletions (full pulls), advance the cursor."""
        if window.is_full:
            gone = self.store.mirror.reconcile_full(kind, pull_id)
            if gone:
                log.info("%s: %d records gone since the last full pull", kind, gone)
        if lane == "sync":
            cursor.committed = window.until
        cursor.is_running = False
        cursor.window_since = cursor.window_until = None
        cursor.resume = None

    def mark_time_dirty(self, started: datetime) -> None:
        """Re-derive the people whose result can change with time alone.

        A meeting with no outcome counts once it has ended, so the people of meetings that
        ended since the last run are dirty; advocacy lapses when its evidence grows old, so
        once a day every current advocate is derived again.
        """
        last = self.store.get_meta("meetings_checked_until")
        after = datetime.fromisoformat(last) if last else None
        today = started.date().isoformat()
        with self.store.transaction():
            self.store.mirror.mark_meetings_ended(after, started)
            self.store.set_meta("meetings_checked_until", started.isoformat())
            if self.store.get_meta("advocates_checked_on") != today:
                self.store.mirror.mark_advocates_dirty()
                self.store.set_meta("advocates_checked_on", today)
