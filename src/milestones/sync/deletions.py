"""Engine step 2b: records the CRM deleted for good, read from its delete log once a day.

An incremental pull reads what changed; a record deleted for good (a GDPR hard delete, an
emptied recycle bin) changes nothing it could read, so until now only ``sync --full`` noticed
it. A CRM with a delete log (``connectors.base.DeletionLog``: Salesforce's ``deleted``
resource) lists those ids; each one the mirror still holds is erased to a tombstone by the run
that reads it (``Mirror.mark_deleted``, docs/privacy.md).

The log is read at most once a day per record kind, never on every run: an incremental run
with no CRM change must cost only its changed-records queries. A run that pulls a kind whole
(``sync --full``, or the first run) reconciles its deletions itself and counts as that day's
check. Where the last read ended (the
log's ``latestDateCovered``) is kept in the state's ``meta`` table under
``deleted_log:{provider}:{kind}``; the next read, a day or more later, starts there, so no
window is read twice or skipped. The log reaches back a limited number of days (Salesforce:
15): a state not checked for longer reads what the log still has, and a warning says that
older deletions wait for the next ``sync --full``. A failed read is logged and retried by the
next run; it never fails the sync.
"""

from __future__ import annotations

import logging
from collections.abc import Collection
from dataclasses import dataclass
from datetime import datetime, timedelta

from milestones.connectors.base import ConnectorError, DeletionLog, QuotaExhausted
from milestones.store.sqlite import Store

log = logging.getLogger("milestones.sync")

CHECK_EVERY = timedelta(days=1)
WINDOW_MARGIN = timedelta(hours=1)  # start this far inside the log's reach (clock skew)


def meta_key(provider: str, kind: str) -> str:
    """Where the last read of ``kind``'s delete log ended, in the ``meta`` table."""
    return f"deleted_log:{provider}:{kind}"


@dataclass(slots=True)
class DeletionCheck:
    """Reads a CRM's delete log when a day has passed since the last read of each kind."""

    store: Store
    connector: DeletionLog
    provider: str

    def run(self, started: datetime, pulled_whole: Collection[str] = ()) -> int:
        """Read every kind whose check is due; erase what the log lists. How many erased.

        A kind this run pulled whole (a full pull, or the first) needs no read: the pull
        reconciled its deletions, so the check is only marked done as of ``started``.
        """
        erased = 0
        for kind in self.connector.log_kinds:
            key = meta_key(self.provider, kind)
            if kind in pulled_whole:
                with self.store.transaction():
                    self.store.set_meta(key, started.isoformat())
                continue
            last = self.store.get_meta(key)
            covered = datetime.fromisoformat(last) if last else None
            if covered is not None and started - covered < CHECK_EVERY:
                continue
            reach = started - timedelta(days=self.connector.log_days) + WINDOW_MARGIN
            if covered is not None and covered < reach:
                log.warning(
                    "%s: the delete log was last read %s, before the %d days it keeps; "
                    "deletions before %s are found by the next sync --full",
                    kind,
                    covered.isoformat(),
                    self.connector.log_days,
                    reach.isoformat(),
                )
            start = reach if covered is None or covered < reach else covered
            try:
                found = self.connector.deleted(kind, start, started)
            except QuotaExhausted:
                raise
            except ConnectorError as exc:
                log.warning(
                    "%s: reading the delete log failed, next run tries again: %s", kind, exc
                )
                continue
            with self.store.transaction():
                gone = self.store.mirror.live_ids(kind, found.ids)
                if gone:
                    self.store.mirror.mark_deleted(kind, gone)
                self.store.set_meta(key, max(found.covered_until, start).isoformat())
            if gone:
                log.info("%s: %d records deleted in the CRM (its delete log)", kind, len(gone))
            erased += len(gone)
        return erased
