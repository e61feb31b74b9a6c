"""Engine step 4: send the pending writes in the connector's batch size, keep what failed.

Writes are read from the state in (object kind, group, id) order, so records sharing a
Salesforce account go out together and batches never mix object kinds. A success updates the
mirror's copy of the CRM value (the next run then plans nothing for it); a failure stays in
``writes`` with its code and reason and is retried next run when the connector says a retry
can help. A batch-wide error (after the connector's own retries) fails that batch's records
the same way; a spent quota stops the run.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from milestones.connectors.base import (
    Change,
    ConfigurationError,
    ConnectorError,
    ObjectKind,
    QuotaExhausted,
    WriteResult,
)
from milestones.sync import codec
from milestones.sync.state import utcnow

if TYPE_CHECKING:
    from milestones.sync.engine import Engine, RunReport

OBJECT_KINDS: tuple[ObjectKind, ...] = ("contact", "lead", "deal")
_MIRROR_TABLE = {"contact": "contacts", "lead": "contacts", "deal": "deals"}


# Which writes each pass sends: first every pending or retryable one; then, once more, those
# that failed in this run with a passing error (a locked row, a 207 conflict), which mostly
# succeed a moment later instead of waiting for the next run.
_FIRST_PASS = "(status = 'pending' OR is_retryable = 1)"
_SECOND_PASS = "status = 'failed' AND is_retryable = 1 AND run_id = ?"


def send_writes(engine: Engine, report: RunReport) -> None:
    """Send every pending (or retryable failed) write, one batch at a time, in two passes."""
    size = max(1, engine.connector.write_batch_size)
    for where, args in ((_FIRST_PASS, ()), (_SECOND_PASS, (report.run_id,))):
        for kind in OBJECT_KINDS:
            _send_kind(engine, report, kind, size, where, args)
    # A write that failed in the first pass and landed in the second is not a failure.
    report.figures["failed"] = engine.state.db.execute(
        "SELECT count(*) FROM writes WHERE status = 'failed' AND run_id = ?", (report.run_id,)
    ).fetchone()[0]


def _send_kind(
    engine: Engine,
    report: RunReport,
    kind: ObjectKind,
    size: int,
    where: str,
    args: tuple[int, ...],
) -> None:
    """One pass over the writes of one object kind that ``where`` selects."""
    after = ("", "")
    while True:
        rows = engine.state.db.execute(
            "SELECT record_id, grp, fields FROM writes WHERE object_kind = ? "
            f"AND (grp, record_id) > (?, ?) AND {where} "
            "ORDER BY grp, record_id LIMIT ?",
            (kind, after[0], after[1], *args, size),
        ).fetchall()
        if not rows:
            break
        after = (rows[-1][1], rows[-1][0])
        changes = [
            Change(kind, rid, json.loads(fields), group=grp or None) for rid, grp, fields in rows
        ]
        results = _send(engine, changes)
        engine.crash.point("write")
        _record(engine, kind, changes, results, report)
        if engine.progress is not None:
            engine.progress("writes", report, engine.connector.usage().total)
        engine.check_stop()


def _send(engine: Engine, changes: list[Change]) -> list[WriteResult]:
    try:
        return engine.connector.write(changes)
    except (QuotaExhausted, ConfigurationError):
        raise
    except ConnectorError as exc:
        return [
            WriteResult(c.record_id, False, exc.code or type(exc).__name__, str(exc), True)
            for c in changes
        ]


def _record(
    engine: Engine,
    kind: ObjectKind,
    changes: list[Change],
    results: list[WriteResult],
    report: RunReport,
) -> None:
    by_id = {r.record_id: r for r in results}
    done: list[tuple[str, str]] = []
    mirrored: list[tuple[str, str]] = []
    failed: list[tuple[str | None, str | None, int, int, str, str, str]] = []
    stamp = utcnow().isoformat()
    for change in changes:
        result = by_id.get(change.record_id)
        if result is not None and result.ok:
            done.append((kind, change.record_id))
            mirrored.append((codec.encode_values(change.fields), change.record_id))
            continue
        if result is None:
            result = WriteResult(change.record_id, False, "NO_RESULT", "no result returned")
        failed.append(
            (
                result.code,
                (result.message or "")[:500],
                int(result.is_retryable),
                report.run_id,
                stamp,
                kind,
                change.record_id,
            )
        )
    db = engine.state.db
    with engine.state.transaction():
        db.executemany("DELETE FROM writes WHERE object_kind = ? AND record_id = ?", done)
        db.executemany(
            f"UPDATE {_MIRROR_TABLE[kind]} SET crm = json_patch(coalesce(crm, '{{}}'), ?) "
            "WHERE id = ?",
            mirrored,
        )
        db.executemany(
            "UPDATE writes SET status = 'failed', attempts = attempts + 1, code = ?, "
            "message = ?, is_retryable = ?, run_id = ?, updated_at = ? "
            "WHERE object_kind = ? AND record_id = ?",
            failed,
        )
    report.bump("written", len(done))
    report.bump("failed", len(failed))
