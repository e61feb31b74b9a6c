"""The worker's local state: one SQLite file holding everything a run needs to resume.

It holds the mirror of canonical records and the CRM's current values of our fields, the
cursors per (provider, kind, lane), the dirty sets, the transition ledger, the outbox of
pending and failed writes with their reasons, and the run log. ``Store`` opens the file and
hands out one typed API per concern (``mirror``, ``people``, ``cursors``, ``ledger``,
``outbox``, ``runs``, ``reporting``), all on one connection, so one ``transaction()`` can
cover work across them.

The file is created with mode 0600 (it holds names and emails; ``docs/privacy.md`` says which
and why), runs in WAL mode with ``secure_delete`` (erased text is overwritten), and its
schema is versioned through ``PRAGMA user_version``: ``schema.MIGRATIONS`` are applied in order
on open, each in its own transaction. A read-only store (the report) neither creates nor
migrates the file, so a running sync is not disturbed.

A file that cannot be used (damaged, truncated, unwritable, from a newer release, or a full
disk at a write) raises ``health.StateError`` naming the file and the next step; a failed
transaction is rolled back first, so nothing is half-written. Before each schema migration,
and at most once a day when ``backups`` is set, the file is copied beside itself with SQLite's
online backup API (``backup.py``), keeping the newest ``backups`` copies.

``postgres.PostgresStore`` is this class on an org's schema in PostgreSQL: the same sub-APIs
and statements, said in PostgreSQL by ``dialect.py``; ``location.open_state`` picks one.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from milestones.store import backup, privacy
from milestones.store.accounts import Accounts
from milestones.store.dialect import Connection
from milestones.store.health import (
    StateError,
    is_state_failure,
    newer_schema,
    state_error,
    truncation,
)
from milestones.store.history import History
from milestones.store.ledger import Ledger
from milestones.store.mirror import Mirror
from milestones.store.outbox import Outbox
from milestones.store.people import People
from milestones.store.plays import Plays
from milestones.store.reporting import Reporting
from milestones.store.rows import Counts
from milestones.store.runs import Cursors, Runs
from milestones.store.schema import MIGRATIONS

# Pages (4 KB each) the WAL may hold before a commit copies them back into the file.
WAL_CHECKPOINT_PAGES = 10_000


class Store:
    """An open state file. Use as a context manager, or call ``close()``."""

    migrated_from: int | None = None  # the schema version found on open (None: read-only)

    def __init__(
        self,
        path: Path | str,
        *,
        read_only: bool = False,
        backups: int = 0,
        now: datetime | None = None,
    ) -> None:
        self.file = Path(path)
        self.path: Path | None = self.file  # None for a state that is not a file
        self.label: Path | str = self.file
        self._now = now
        if read_only and not self.file.exists():
            raise FileNotFoundError(f"no state file at {self.file}: run `milestones sync` first")
        cut = truncation(self.file) if self.file.exists() else None
        if cut:
            raise StateError(self.file, cut)
        try:
            self.db: Connection = self._connect(read_only)
        except sqlite3.Error as exc:
            raise state_error(self.file, exc) from None
        try:
            if read_only:
                if self.version > len(MIGRATIONS):
                    raise newer_schema(self.file, self.version)
            else:
                self._migrate()
                if backups > 0 and now is not None and backup.is_backup_due(self.file, now):
                    backup.back_up(self.sqlite, self.file, now)
                    backup.prune(self.file, backups)
        except sqlite3.Error as exc:
            self.db.close()
            raise state_error(self.file, exc) from None
        except BaseException:
            self.db.close()
            raise
        self._open_apis()

    def _open_apis(self) -> None:
        self.privacy = privacy.Privacy(self.db)
        self.mirror = Mirror(self.db, self.privacy)
        self.people = People(self.db)
        self.cursors = Cursors(self.db)
        self.ledger = Ledger(self.db)
        self.outbox = Outbox(self.db)
        self.runs = Runs(self.db)
        self.reporting = Reporting(self.db)
        self.history = History(self.db)
        self.accounts = Accounts(self.db)
        self.plays = Plays(self.db)

    @property
    def engine(self) -> str:
        """``sqlite`` or ``postgresql``: what holds this state."""
        return "sqlite"

    @property
    def sqlite(self) -> sqlite3.Connection:
        """The SQLite connection itself, for what only SQLite has (its backup API)."""
        assert isinstance(self.db, sqlite3.Connection)
        return self.db

    def _connect(self, read_only: bool) -> sqlite3.Connection:
        if read_only:
            uri = f"{self.file.resolve().as_uri()}?mode=ro"
            return sqlite3.connect(uri, uri=True, check_same_thread=False)
        self.file.parent.mkdir(parents=True, exist_ok=True)
        if str(self.file) != ":memory:" and not self.file.exists():
            os.close(os.open(self.file, os.O_CREAT | os.O_WRONLY, 0o600))
        db = sqlite3.connect(self.file, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA foreign_keys=OFF")
            db.execute("PRAGMA cache_size=-16000")
            # Copy the WAL back into the file every 40 MB, not SQLite's 4 MB: a page changed by
            # several commits between two checkpoints is copied once. Storing a 100,000-contact
            # first pull writes 1.55 GB instead of 2.1 GB; nothing else changes but the WAL's
            # size, and the last connection to close still folds it in and deletes it.
            db.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
            privacy.secure(db)
        except BaseException:
            db.close()
            raise
        return db

    def __enter__(self) -> Store:
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
            raise newer_schema(self.file, current)
        if 0 < current < len(MIGRATIONS) and str(self.file) != ":memory:":
            backup.back_up(self.sqlite, self.file, self._now or datetime.now(UTC))
        self._apply_migrations(current)

    def _apply_migrations(self, current: int) -> None:
        """Apply ``MIGRATIONS`` after version ``current``, each in its own transaction."""
        self.migrated_from = current
        for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
            with self.transaction():
                self._run_migration(number, script)

    def _run_migration(self, number: int, script: str) -> None:
        """One migration's statements and the version it brings, inside a transaction."""
        for statement in script.split(";"):
            if statement.strip():
                self.db.execute(statement)
        if number == privacy.HASHED_KEYS_SCHEMA:
            privacy.hash_plain_keys(self.db)
        self.db.execute(f"PRAGMA user_version = {number}")

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception."""
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as exc:
            raise state_error(self.file, exc) from None
        try:
            yield self.db
            self.db.execute("COMMIT")
        except BaseException as exc:
            self._roll_back()
            if isinstance(exc, sqlite3.Error) and is_state_failure(exc):
                raise state_error(self.file, exc) from None
            raise

    def _roll_back(self) -> None:
        if self.db.in_transaction:  # SQLite may have rolled back already (a full disk)
            self.db.execute("ROLLBACK")

    def compact(self) -> None:
        """Leave no erased text in free space: VACUUM the file (``privacy.compact``)."""
        privacy.compact(self.sqlite)

    # --- tables, for a whole-state copy (``transfer.py``) -----------------------------------

    def tables(self) -> list[str]:
        """The state's tables, in name order."""
        rows = self.db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND name NOT LIKE 'sqlite_%' ORDER BY name"
        )
        return [str(r[0]) for r in rows]

    def columns(self, table: str) -> list[str]:
        """A table's columns, in their order."""
        return [str(r[1]) for r in self.db.execute(f"PRAGMA table_info({table})")]

    def row_count(self, table: str) -> int:
        """How many rows ``table`` holds."""
        return int(self.db.execute(f"SELECT count(*) FROM {table}").fetchone()[0])

    def identity_follows(self, table: str) -> None:
        """After rows were copied in with their ids, new ones continue after them (SQLite's
        ``INTEGER PRIMARY KEY`` always does)."""

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

    def counts(self) -> Counts:
        """What ``status`` counts: live people, dirty ones, pending and failed writes."""
        row = self.db.execute(
            "SELECT (SELECT count(*) FROM contacts WHERE is_deleted = 0), "
            "(SELECT count(*) FROM dirty), "
            "(SELECT count(*) FROM writes WHERE status = 'pending'), "
            "(SELECT count(*) FROM writes WHERE status = 'failed'), "
            "(SELECT count(*) FROM writes WHERE status = 'refused')"
        ).fetchone()
        return Counts(*(int(v) for v in row))
