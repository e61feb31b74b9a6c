"""The transition ledger: each milestone a record reached, recorded once, never rewritten."""

from __future__ import annotations

from collections.abc import Sequence

from milestones.store.dialect import Connection
from milestones.store.rows import LedgerEntry

_COLUMNS = (
    "record_kind, record_id, from_milestone, to_milestone, reached_on, evidence, run_id, "
    "recorded_at"
)


class Ledger:
    """Milestones reached, unique per (record kind, record, milestone): a rerun adds none."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def add(self, entries: Sequence[LedgerEntry]) -> None:
        """Record newly reached milestones; one already recorded is left as it is."""
        if entries:
            self.db.executemany(
                f"INSERT OR IGNORE INTO ledger ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
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
