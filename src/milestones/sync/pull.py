"""Engine steps 1-2: the stage catalogue, then each record kind pulled into the mirror.

The stage catalogue changes rarely: it is read on full runs, once a day, and when a deal
arrives in a stage the kept catalogue lacks (``sync.periodic`` remembers when).

Each pulled page is upserted into the mirror and the cursor (its window and the connector's
resume token) saved in the same transaction, so a crash resumes the same window after the last
page stored. Pages share a transaction until it holds ``GROUP_ROWS`` rows or has been open
``GROUP_SECONDS``: a crash re-reads at most that much (a few pages), a stop request none.
Cursors compare with ``>=`` from the stored cursor minus a lookback and stop a small lag before
the run began (DESIGN.md, data flow).
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from milestones.connectors.base import Connector, Record, RecordKind, Window
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
# Pages share a transaction until they hold this many rows or it has been open this long
# (``Store.grouped``): a first sync commits far less often, and a crash re-reads at most
# this much.
GROUP_ROWS = 10_000
GROUP_SECONDS = 2.0


@dataclass(slots=True)
class Puller:
    """Reads the CRM into the mirror, one record kind and one page at a time."""

    store: Store
    connector: Connector
    names: Mapping[FieldKey, str]
    lookback: timedelta
    lag: timedelta
    checkpoints: Checkpoints

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
        flags = self._rules.advocate.flag_properties if self._rules is not None else []
        with self.store.grouped(GROUP_ROWS, GROUP_SECONDS) as group:
            for page in self.connector.pull(kind, window, cursor.resume):
                has_new_stage = has_new_stage or self._names_unknown_stage(page.records)
                records: list[Record] = list(page.records)
                unread: list[str] = []
                if kind == "contacts" and flags:
                    rebuild = options.rebuild_history
                    records, unread = date_flags(records, flags, window, self.store, rebuild)
                self.checkpoints.crash.point("page")
                with group.unit(len(records) + len(page.deleted_ids)):
                    self.store.mirror.apply_page(
                        page.kind, records, page.deleted_ids, pull_id, self.names, page.merges
                    )
                    add_pending(self.store, unread)
                    cursor.resume = page.resume
                    cursor.pages += 1
                    is_done = page.resume is None
                    if is_done:
                        self._complete(cursor, lane, window, kind, pull_id)
                    self.store.cursors.save(cursor)
                report.bump("records_read", len(page.records))
                self.checkpoints.report(kind, report, self.connector.usage().total)
                if not is_done:
                    self.checkpoints.check_stop()  # the group commits as a stop leaves it
        if not is_done:
            with self.store.transaction():
                self._complete(cursor, lane, window, kind, pull_id)
                self.store.cursors.save(cursor)
        if kind == "contacts":
            dated = read_pending(self.store, self.connector, flags)
            if dated:
                log.info("contacts: %d advocacy flag(s) dated from their history", dated)
        if has_new_stage and self._rules is not None:
            log.info("%s: a deal is in a stage the kept catalogue lacks: reading it again", kind)
            self.refresh_stages(self._rules, started, force=True)
        return window

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
