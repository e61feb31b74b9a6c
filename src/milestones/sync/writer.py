"""Engine step 4: send the outbox in the connector's batch size, keep what failed.

Writes are read from the outbox in (object kind, group, id) order, so records sharing a
Salesforce account go out together (``Connector.writes_by_parent``; a HubSpot write has no
group, so its batches go in id order) and batches never mix object kinds. A success updates the
mirror's copy of the CRM value (the next run then plans nothing for it); a failure stays in
the outbox with its code and reason and is retried next run when the connector says a retry
can help. A refusal by one of the CRM's own validation rules is kept as ``refused``, with the
field the rule names, and sent again only when its record changes (a new plan) or the CRM's
rules do (``Connector.rules_version``, read only while refusals wait). A batch-wide error
(after the connector's own retries) fails that batch's records the same way; a spent quota
stops the run.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from milestones.connectors.base import (
    ConfigurationError,
    Connector,
    ConnectorError,
    QuotaExhausted,
    WriteResult,
)
from milestones.mapping.fields import Change, ObjectKind
from milestones.store.outbox import Pass
from milestones.store.rows import FailedWrite
from milestones.store.sqlite import Store
from milestones.sync.run import Checkpoints, Clock, RunReport

log = logging.getLogger("milestones.sync")
OBJECT_KINDS: tuple[ObjectKind, ...] = ("contact", "lead", "deal", "account")
RULES_META = "crm_rules_version"  # the CRM validation rules the refused writes were judged by
MESSAGE_LIMIT = 500  # characters of a CRM's refusal kept with the write


@dataclass(slots=True)
class Writer:
    """Sends what the outbox holds and records the CRM's answer to each write."""

    store: Store
    connector: Connector
    clock: Clock
    checkpoints: Checkpoints
    _rules_noted: bool = False

    def send_writes(self, report: RunReport) -> None:
        """Send every pending (or retryable failed) write, one batch at a time, in two passes.

        First every pending or retryable write; then, once more, those that failed in this
        run with a passing error (a locked row, a 207 conflict), which mostly succeed a
        moment later instead of waiting for the next run.
        """
        self._requeue_if_rules_changed()
        size = max(1, self.connector.write_batch_size)
        passes: tuple[Pass, ...] = ("first", "retry")
        for which in passes:
            for kind in OBJECT_KINDS:
                self._send_kind(report, kind, size, which)
        # A write that failed in the first pass and landed in the second is not a failure.
        report.figures["failed"] = self.store.outbox.failed_in_run(report.run_id)

    def _requeue_if_rules_changed(self) -> None:
        """Refused writes go out again once the CRM's validation rules are not the ones that
        refused them (the rules they were judged by are kept in the store's meta)."""
        if not self.store.outbox.refused():
            return
        version = self.connector.rules_version()
        self._rules_noted = True  # this run reads the rules once
        judged_by = self.store.get_meta(RULES_META)
        if version is None or version == judged_by:
            return
        with self.store.transaction():
            again = self.store.outbox.requeue_refused(self.clock().isoformat())
            self.store.set_meta(RULES_META, version)
        log.info("the CRM's validation rules changed: %d refused writes are sent again", again)

    def _note_rules(self) -> None:
        """Remember the rules a refusal was judged by (read once per run)."""
        if self._rules_noted:
            return
        self._rules_noted = True
        version = self.connector.rules_version()
        if version is not None:
            with self.store.transaction():
                self.store.set_meta(RULES_META, version)

    def _send_kind(self, report: RunReport, kind: ObjectKind, size: int, which: Pass) -> None:
        """One pass over the writes of one object kind."""
        after = ("", "")
        while True:
            changes = self.store.outbox.batch(kind, after, size, which, report.run_id)
            if not changes:
                break
            last = changes[-1]
            after = (last.group or "", last.record_id)
            results = self._send(changes)
            self.checkpoints.crash.point("write")
            self._record(kind, changes, results, report)
            self.checkpoints.report("writes", report, self.connector.usage().total)
            self.checkpoints.check_stop()

    def _send(self, changes: list[Change]) -> list[WriteResult]:
        try:
            return self.connector.write(changes)
        except (QuotaExhausted, ConfigurationError):
            raise
        except ConnectorError as exc:
            return [
                WriteResult(c.record_id, False, exc.code or type(exc).__name__, str(exc), True)
                for c in changes
            ]

    def _record(
        self,
        kind: ObjectKind,
        changes: list[Change],
        results: list[WriteResult],
        report: RunReport,
    ) -> None:
        by_id = {r.record_id: r for r in results}
        written: list[str] = []
        failed: list[FailedWrite] = []
        for change in changes:
            rid = change.record_id
            result = by_id.get(rid)
            if result is not None and result.ok:
                written.append(rid)
                continue
            if result is None:
                result = WriteResult(rid, False, "NO_RESULT", "no result returned")
            failed.append(
                FailedWrite(
                    rid,
                    result.code,
                    (result.message or "")[:MESSAGE_LIMIT],
                    result.is_retryable,
                    result.by_rule,
                    result.field,
                )
            )
        with self.store.transaction():
            self.store.outbox.record(kind, written, failed, report.run_id, self.clock().isoformat())
        report.bump("written", len(written))
        report.bump("failed", len(failed))
        if any(f.by_rule for f in failed):
            self._note_rules()
