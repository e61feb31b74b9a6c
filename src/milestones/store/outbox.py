"""The outbox: planned writes, kept before they are sent, until the CRM confirms them.

A write is stored when a derive chunk plans it (``plan``), in the chunk's transaction, so a
crash between planning and sending loses nothing. ``batch`` reads them back in (group, id)
order; ``record`` removes what the CRM took, copies the values into the mirror's view of
the CRM, and keeps each failure with its code and reason for the next run.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from milestones.mapping.fields import Change, FieldKey, ObjectKind
from milestones.store import codec
from milestones.store.dialect import Connection
from milestones.store.rows import FailedWrite, WriteRow

Pass = Literal["first", "retry"]
_MIRROR_TABLE = {"contact": "contacts", "lead": "contacts", "deal": "deals", "account": "accounts"}
# Which writes each pass sends: first every pending or retryable one; then, once more, those
# that failed in this run with a passing error (a locked row, a 207 conflict), which mostly
# succeed a moment later instead of waiting for the next run.
_PASSES = {
    "first": ("(status = 'pending' OR is_retryable = 1)", False),
    "retry": ("status = 'failed' AND is_retryable = 1 AND run_id = ?", True),
}
# Planned again: the new plan replaces the old one, and is pending, unless the CRM's rule
# refused the very same values on the very same version of the record (a re-read alone,
# such as the cursor's lookback, does not send a refused write again).
_SAME_REFUSAL = (
    "writes.status = 'refused' AND writes.fields = excluded.fields "
    "AND writes.record_modified IS excluded.record_modified"
)
_REPLAN = (
    "grp = excluded.grp, fields = excluded.fields, "
    f"status = CASE WHEN {_SAME_REFUSAL} THEN 'refused' ELSE 'pending' END, "
    f"is_retryable = CASE WHEN {_SAME_REFUSAL} THEN 0 ELSE 1 END, "
    f"run_id = CASE WHEN {_SAME_REFUSAL} THEN writes.run_id ELSE excluded.run_id END, "
    "updated_at = excluded.updated_at, record_modified = excluded.record_modified"
)
_ROW = (
    "object_kind, record_id, grp, fields, status, attempts, is_retryable, code, message, "
    "run_id, updated_at, field"
)


class Outbox:
    """Writes waiting for the CRM, and the ones it refused, with their reasons."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def plan(self, changes: Sequence[Change], run_id: int, stamp: str) -> None:
        """Keep planned writes (a record planned again replaces its earlier plan)."""
        if not changes:
            return
        self.db.executemany(
            "INSERT INTO writes (object_kind, record_id, grp, fields, run_id, updated_at, "
            "record_modified) VALUES (?, ?, ?, ?, ?, ?, ?) "
            f"ON CONFLICT(object_kind, record_id) DO UPDATE SET {_REPLAN}",
            [
                (
                    c.object_kind,
                    c.record_id,
                    c.group or "",
                    codec.encode_values(c.fields),
                    run_id,
                    stamp,
                    c.record_modified.isoformat() if c.record_modified else None,
                )
                for c in changes
            ],
        )

    def settle(self, keys: Sequence[tuple[str, str]]) -> None:
        """Drop the writes of (object kind, record id) pairs that no longer need one."""
        if keys:
            self.db.executemany("DELETE FROM writes WHERE object_kind = ? AND record_id = ?", keys)

    def batch(
        self, kind: ObjectKind, after: tuple[str, str], size: int, which: Pass, run_id: int
    ) -> list[Change]:
        """The next ``size`` writes of ``kind`` after (group, id) ``after`` that a pass sends."""
        where, takes_run = _PASSES[which]
        rows = self.db.execute(
            "SELECT record_id, grp, fields FROM writes WHERE object_kind = ? "
            f"AND (grp, record_id) > (?, ?) AND {where} "
            "ORDER BY grp, record_id LIMIT ?",
            (kind, after[0], after[1], *((run_id,) if takes_run else ()), size),
        ).fetchall()
        # Many writes of a batch plan the very same values (a full sync sets most people to
        # the same few milestones): each distinct text is decoded once and its mapping shared,
        # which the connectors only read.
        decoded: dict[str, Mapping[FieldKey, str | None]] = {}
        changes = []
        for rid, grp, text in rows:
            fields = decoded.get(text)
            if fields is None:
                fields = decoded[text] = codec.decode_fields(text)
            changes.append(Change(kind, rid, fields, grp or None))
        return changes

    def record(
        self,
        kind: ObjectKind,
        written: Sequence[str],
        failed: Sequence[FailedWrite],
        run_id: int,
        stamp: str,
    ) -> None:
        """The CRM's answer to one batch: the values the CRM took (the ``written`` record ids'
        planned fields, as ``batch`` read them) join the mirror, failures are kept."""
        # The mirror takes each write's fields text as the outbox holds it, in SQL: the values
        # sent are the ones ``batch`` decoded from that very text, and nothing plans between a
        # batch and its answer, so encoding them again per record would only cost CPU. (An id
        # with no write, which no caller passes, would patch nothing.) Before the delete.
        self.db.executemany(
            f"UPDATE {_MIRROR_TABLE[kind]} SET crm = json_patch(coalesce(crm, '{{}}'), "
            "coalesce((SELECT fields FROM writes WHERE object_kind = ? AND record_id = ?), "
            "'{}')) WHERE id = ?",
            [(kind, rid, rid) for rid in written],
        )
        self.db.executemany(
            "DELETE FROM writes WHERE object_kind = ? AND record_id = ?",
            [(kind, rid) for rid in written],
        )
        self.db.executemany(
            "UPDATE writes SET status = ?, attempts = attempts + 1, code = ?, message = ?, "
            "is_retryable = ?, field = ?, run_id = ?, updated_at = ? "
            "WHERE object_kind = ? AND record_id = ?",
            [
                (
                    "refused" if f.by_rule else "failed",
                    f.code,
                    f.message,
                    int(f.is_retryable and not f.by_rule),
                    f.field,
                    run_id,
                    stamp,
                    kind,
                    f.record_id,
                )
                for f in failed
            ],
        )

    def failed_in_run(self, run_id: int) -> int:
        """Writes that a run left failed or refused."""
        row = self.db.execute(
            "SELECT count(*) FROM writes WHERE status IN ('failed', 'refused') AND run_id = ?",
            (run_id,),
        ).fetchone()
        return int(row[0])

    def refused(self) -> int:
        """Writes a CRM validation rule refused, waiting for the record or the rules to change."""
        row = self.db.execute("SELECT count(*) FROM writes WHERE status = 'refused'").fetchone()
        return int(row[0])

    def requeue_refused(self, stamp: str) -> int:
        """The CRM's rules changed: every refused write is pending again. Returns how many."""
        cur = self.db.execute(
            "UPDATE writes SET status = 'pending', is_retryable = 1, updated_at = ? "
            "WHERE status = 'refused'",
            (stamp,),
        )
        return cur.rowcount

    def retryable(self) -> int:
        """Writes the next run sends (pending, or failed with a passing error)."""
        row = self.db.execute("SELECT count(*) FROM writes WHERE is_retryable = 1").fetchone()
        return int(row[0])

    def rows(self, status: str | None = None, limit: int = 50) -> list[WriteRow]:
        """Pending or failed writes (all when ``status`` is None), newest first; a negative
        ``limit`` sets none."""
        sql = f"SELECT {_ROW} FROM writes"
        args: tuple[str | int, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        sql += " ORDER BY updated_at DESC"
        if limit >= 0:
            sql += " LIMIT ?"
            args = (*args, limit)
        rows = self.db.execute(sql, args)
        return [WriteRow(*row) for row in rows.fetchall()]

    def of(self, record_id: str) -> WriteRow | None:
        """The write waiting for one record, if any."""
        row = self.db.execute(
            f"SELECT {_ROW} FROM writes WHERE record_id = ?", (record_id,)
        ).fetchone()
        return None if row is None else WriteRow(*row)
