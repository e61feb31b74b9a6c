"""The transition ledger: each milestone a record reached, recorded once.

A run only adds rows; ``redate`` alone changes one, when ``backfill --rebuild-history``
re-dates a milestone from the evidence (its date, evidence and basis, never which milestone).
"""

from __future__ import annotations

from collections.abc import Sequence

from milestones.store.dialect import Connection
from milestones.store.rows import LedgerEntry

_COLUMNS = (
    "record_kind, record_id, from_milestone, to_milestone, reached_on, evidence, run_id, "
    "recorded_at, basis"
)
_INSERT = (
    f"INSERT INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (record_kind, record_id, to_milestone) DO NOTHING"
)


class Ledger:
    """Milestones reached, unique per (record kind, record, milestone): a rerun adds none."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def add(self, entries: Sequence[LedgerEntry]) -> None:
        """Record newly reached milestones; one already recorded is left as it is."""
        if entries:
            self.db.executemany(
                _INSERT,
                [
                    (
                        e.record_kind,
                        e.record_id,
                        e.from_milestone,
                        e.to_milestone,
                        e.reached_on,
                        e.evidence,
                        e.run_id,
                        e.recorded_at,
                        e.basis,
                    )
                    for e in entries
                ],
            )

    def of(self, record_id: str) -> list[LedgerEntry]:
        """One record's transitions, oldest first."""
        rows = self.db.execute(
            f"SELECT {_COLUMNS} FROM ledger WHERE record_id = ? ORDER BY reached_on, id",
            (record_id,),
        )
        return [LedgerEntry(*row) for row in rows.fetchall()]

    def redate(self, entries: Sequence[LedgerEntry]) -> int:
        """Give recorded milestones the date, evidence and basis of ``entries`` (matched on
        record and milestone; a milestone not yet recorded is added). Returns how many
        recorded dates changed."""
        changed = 0
        for e in entries:
            row = self.db.execute(
                "SELECT reached_on FROM ledger "
                "WHERE record_kind = ? AND record_id = ? AND to_milestone = ?",
                (e.record_kind, e.record_id, e.to_milestone),
            ).fetchone()
            if row is None:
                self.add([e])
                continue
            changed += row[0] != e.reached_on
            self.db.execute(
                "UPDATE ledger SET reached_on = ?, evidence = ?, basis = ? "
                "WHERE record_kind = ? AND record_id = ? AND to_milestone = ?",
                (e.reached_on, e.evidence, e.basis, e.record_kind, e.record_id, e.to_milestone),
            )
        return changed
