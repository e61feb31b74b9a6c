"""The worker's local state: one SQLite file holding everything a run needs to resume.

It holds the mirror of canonical records and the CRM's current values of our fields
(``mirror`` reads and writes those tables), cursors per (provider, kind, lane), the dirty
sets, the transition ledger, pending and failed writes with their reasons, and the run log.

The file is created with mode 0600 (it holds names and emails), runs in WAL mode, and its
schema is versioned through ``PRAGMA user_version``: ``MIGRATIONS`` are applied in order on
open, each in its own transaction.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

MIGRATIONS: tuple[str, ...] = (
    # 1: the mirror, cursors, dirty sets, ledger, writes and runs.
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT) WITHOUT ROWID;
    CREATE TABLE contacts (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, email_lc TEXT, ref_key TEXT,
        converted_to TEXT, company_id TEXT, is_deleted INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, crm TEXT, derived TEXT
    );
    CREATE INDEX contacts_email ON contacts(email_lc) WHERE email_lc IS NOT NULL;
    CREATE INDEX contacts_ref ON contacts(ref_key) WHERE ref_key IS NOT NULL;
    CREATE INDEX contacts_converted ON contacts(converted_to) WHERE converted_to IS NOT NULL;
    CREATE TABLE deals (
        id TEXT PRIMARY KEY, ref_key TEXT, is_deleted INTEGER NOT NULL DEFAULT 0,
        seen INTEGER NOT NULL DEFAULT 0, data TEXT NOT NULL, crm TEXT, derived INTEGER
    );
    CREATE INDEX deals_ref ON deals(ref_key) WHERE ref_key IS NOT NULL;
    CREATE TABLE activities (
        id TEXT PRIMARY KEY, kind TEXT NOT NULL, direction TEXT, status TEXT, disposition TEXT,
        occurred_at TEXT, ends_at TEXT, owner_id TEXT, modified_at TEXT, deal_ids TEXT,
        is_deleted INTEGER NOT NULL DEFAULT 0, seen INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX activities_ends ON activities(ends_at) WHERE kind = 'meeting';
    CREATE TABLE deal_contacts (
        deal_id TEXT NOT NULL, contact_id TEXT NOT NULL, link_id TEXT NOT NULL DEFAULT '',
        seen INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (deal_id, contact_id, link_id)
    ) WITHOUT ROWID;
    CREATE INDEX deal_contacts_contact ON deal_contacts(contact_id);
    CREATE INDEX deal_contacts_link ON deal_contacts(link_id) WHERE link_id != '';
    CREATE TABLE activity_contacts (
        activity_id TEXT NOT NULL, contact_id TEXT NOT NULL,
        PRIMARY KEY (activity_id, contact_id)
    ) WITHOUT ROWID;
    CREATE INDEX activity_contacts_contact ON activity_contacts(contact_id);
    CREATE TABLE stages (id TEXT PRIMARY KEY, data TEXT NOT NULL) WITHOUT ROWID;
    CREATE TABLE dirty (contact_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE dirty_deals (deal_id TEXT PRIMARY KEY) WITHOUT ROWID;
    CREATE TABLE cursors (
        provider TEXT NOT NULL, kind TEXT NOT NULL, lane TEXT NOT NULL,
        committed TEXT, win_since TEXT, win_until TEXT, resume TEXT, pull_id INTEGER,
        is_running INTEGER NOT NULL DEFAULT 0, pages INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (provider, kind, lane)
    ) WITHOUT ROWID;
    CREATE TABLE ledger (
        id INTEGER PRIMARY KEY, record_kind TEXT NOT NULL, record_id TEXT NOT NULL,
        from_milestone TEXT, to_milestone TEXT NOT NULL, reached_on TEXT,
        evidence TEXT, run_id INTEGER, recorded_at TEXT NOT NULL,
        UNIQUE (record_kind, record_id, to_milestone)
    );
    CREATE TABLE writes (
        object_kind TEXT NOT NULL, record_id TEXT NOT NULL, grp TEXT NOT NULL DEFAULT '',
        fields TEXT NOT NULL, status TEXT NOT NULL DEFAULT 'pending',
        attempts INTEGER NOT NULL DEFAULT 0, is_retryable INTEGER NOT NULL DEFAULT 1,
        code TEXT, message TEXT, run_id INTEGER, updated_at TEXT,
        PRIMARY KEY (object_kind, record_id)
    ) WITHOUT ROWID;
    CREATE INDEX writes_order ON writes(object_kind, grp, record_id);
    CREATE TABLE runs (
        id INTEGER PRIMARY KEY, command TEXT NOT NULL, provider TEXT,
        started_at TEXT NOT NULL, finished_at TEXT, records_read INTEGER DEFAULT 0,
        changed INTEGER DEFAULT 0, written INTEGER DEFAULT 0, failed INTEGER DEFAULT 0,
        api_calls INTEGER DEFAULT 0, duration REAL, outcome TEXT, detail TEXT
    );
    """,
)

RUN_FIGURES = ("records_read", "changed", "written", "failed", "api_calls")


def utcnow() -> datetime:
    """The current time, UTC, aware."""
    return datetime.now(UTC)


@dataclass(slots=True)
class Cursor:
    """Where one (provider, kind, lane) pull stands.

    ``committed`` is the ``until`` of the last completed pull; while a pull runs (or after it
    crashed) ``window_since``/``window_until``, ``resume`` and ``pull_id`` describe it.
    """

    provider: str
    kind: str
    lane: str
    committed: datetime | None = None
    window_since: datetime | None = None
    window_until: datetime | None = None
    resume: str | None = None
    pull_id: int | None = None
    is_running: bool = False
    pages: int = 0


def _parse(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class State:
    """An open state file. Use as a context manager, or call ``close()``."""

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        if str(self.path) != ":memory:" and not self.path.exists():
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=OFF")
        self.db.execute("PRAGMA cache_size=-16000")
        self._migrate()

    def __enter__(self) -> State:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Close the connection (the WAL is checkpointed by SQLite)."""
        self.db.close()

    @property
    def version(self) -> int:
        """The schema version of the open file."""
        row = self.db.execute("PRAGMA user_version").fetchone()
        return int(row[0])

    def _migrate(self) -> None:
        current = self.version
        if current > len(MIGRATIONS):
            raise RuntimeError(
                f"state file {self.path} has schema {current}, newer than this version "
                f"of milestones understands ({len(MIGRATIONS)}); upgrade milestones"
            )
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                for statement in script.split(";"):
                    if statement.strip():
                        self.db.execute(statement)
                self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # --- meta -------------------------------------------------------------------------

    def get_meta(self, key: str) -> str | None:
        """A small stored value (the rules fingerprint, the last derive time...)."""
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str | None) -> None:
        """Store (or with None, forget) a small value; call inside a transaction or alone."""
        if value is None:
            self.db.execute("DELETE FROM meta WHERE key = ?", (key,))
        else:
            self.db.execute("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # --- runs -------------------------------------------------------------------------

    def start_run(self, command: str, provider: str | None) -> int:
        """Open a run log row; its id also numbers the pulls the run starts."""
        cur = self.db.execute(
            "INSERT INTO runs (command, provider, started_at, outcome) VALUES (?, ?, ?, ?)",
            (command, provider, utcnow().isoformat(), "running"),
        )
        assert cur.lastrowid is not None
        return int(cur.lastrowid)

    def finish_run(
        self, run_id: int, outcome: str, figures: dict[str, int], duration: float, detail: str
    ) -> None:
        """Close a run log row with its figures and outcome."""
        values = [figures.get(name, 0) for name in RUN_FIGURES]
        self.db.execute(
            "UPDATE runs SET finished_at = ?, records_read = ?, changed = ?, written = ?, "
            "failed = ?, api_calls = ?, duration = ?, outcome = ?, detail = ? WHERE id = ?",
            (utcnow().isoformat(), *values, duration, outcome, detail, run_id),
        )

    def recent_runs(self, limit: int = 10) -> list[dict[str, Any]]:
        """The last runs, newest first, as plain dicts."""
        cur = self.db.execute("SELECT * FROM runs ORDER BY id DESC LIMIT ?", (limit,))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    # --- cursors ----------------------------------------------------------------------

    def cursor(self, provider: str, kind: str, lane: str) -> Cursor:
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

    def save_cursor(self, c: Cursor) -> None:
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

    def cursors(self) -> list[Cursor]:
        """Every stored cursor."""
        rows = self.db.execute("SELECT provider, kind, lane FROM cursors ORDER BY 1, 3, 2")
        return [self.cursor(*row) for row in rows.fetchall()]

    # --- ledger and writes ------------------------------------------------------------

    def ledger_of(self, record_id: str) -> list[dict[str, Any]]:
        """One record's transitions, oldest first."""
        cur = self.db.execute(
            "SELECT record_kind, from_milestone, to_milestone, reached_on, evidence, run_id, "
            "recorded_at FROM ledger WHERE record_id = ? ORDER BY reached_on, id",
            (record_id,),
        )
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def write_rows(self, status: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
        """Pending or failed writes (all when ``status`` is None), with their reasons."""
        sql = "SELECT * FROM writes"
        args: tuple[Any, ...] = ()
        if status is not None:
            sql += " WHERE status = ?"
            args = (status,)
        cur = self.db.execute(sql + " ORDER BY updated_at DESC LIMIT ?", (*args, limit))
        names = [d[0] for d in cur.description]
        return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def count(self, table: str, where: str = "1") -> int:
        """Rows of one of our own tables (names are ours, never user input)."""
        row = self.db.execute(f"SELECT count(*) FROM {table} WHERE {where}").fetchone()
        return int(row[0])
