"""The run log and the pull cursors: where each run and each record kind's pull stands."""

from __future__ import annotations

import sqlite3
from collections.abc import Mapping
from datetime import datetime

from milestones.store.dialect import Connection
from milestones.store.rows import RUN_FIGURES, Cursor, RunRow


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class Runs:
    """One row per run: what it was, when, its figures and how it ended."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def start(self, command: str, provider: str | None, at: datetime) -> int:
        """Open a run log row; its id also numbers the pulls the run starts."""
        cur = self.db.execute(
            "INSERT INTO runs (command, provider, started_at, outcome) VALUES (?, ?, ?, ?)",
            (command, provider, at.isoformat(), "running"),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def finish(
        self,
        run_id: int,
        outcome: str,
        figures: Mapping[str, int],
        duration: float,
        detail: str,
        at: datetime,
    ) -> None:
        """Close a run log row with its figures and outcome."""
        values = [figures.get(name, 0) for name in RUN_FIGURES]
        self.db.execute(
            "UPDATE runs SET finished_at = ?, records_read = ?, changed = ?, written = ?, "
            "failed = ?, api_calls = ?, duration = ?, outcome = ?, detail = ? WHERE id = ?",
            (at.isoformat(), *values, duration, outcome, detail, run_id),
        )

    def recent(self, limit: int = 10) -> list[RunRow]:
        """The last runs, newest first."""
        rows = self.db.execute(
            "SELECT id, command, provider, started_at, finished_at, records_read, changed, "
            "written, failed, api_calls, duration, outcome, detail "
            "FROM runs ORDER BY id DESC LIMIT ?",
            (limit,),
        )
        return [RunRow(*row) for row in rows.fetchall()]

    def last_provider(self) -> str | None:
        """The CRM the state was last synced from (None if no run named one, or no state)."""
        try:
            row = self.db.execute(
                "SELECT provider FROM runs WHERE provider IS NOT NULL ORDER BY id DESC LIMIT 1"
            ).fetchone()
        except sqlite3.Error:  # not a state file (yet)
            return None
        return str(row[0]) if row else None


class Cursors:
    """Where each (provider, record kind, lane) pull stands."""

    def __init__(self, db: Connection) -> None:
        self.db = db

    def get(self, provider: str, kind: str, lane: str) -> Cursor:
        """The stored cursor, or an empty one."""
        row = self.db.execute(
            "SELECT committed, win_since, win_until, resume, pull_id, is_running, pages "
            "FROM cursors WHERE provider = ? AND kind = ? AND lane = ?",
            (provider, kind, lane),
        ).fetchone()
        if row is None:
            return Cursor(provider, kind, lane)
        return Cursor(
            provider,
            kind,
            lane,
            committed=_parse(row[0]),
            window_since=_parse(row[1]),
            window_until=_parse(row[2]),
            resume=row[3],
            pull_id=row[4],
            is_running=bool(row[5]),
            pages=int(row[6]),
        )

    def save(self, c: Cursor) -> None:
        """Store a cursor; call inside the transaction that covers the work it records."""
        self.db.execute(
            "INSERT OR REPLACE INTO cursors VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                c.provider,
                c.kind,
                c.lane,
                _iso(c.committed),
                _iso(c.window_since),
                _iso(c.window_until),
                c.resume,
                c.pull_id,
                int(c.is_running),
                c.pages,
            ),
        )

    def all(self) -> list[Cursor]:
        """Every stored cursor."""
        rows = self.db.execute("SELECT provider, kind, lane FROM cursors ORDER BY 1, 3, 2")
        return [self.get(*row) for row in rows.fetchall()]
