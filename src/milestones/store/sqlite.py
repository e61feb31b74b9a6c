"""The worker's local state: one SQLite file holding everything a run needs to resume.

It holds the mirror of canonical records and the CRM's current values of our fields, the
cursors per (provider, kind, lane), the dirty sets, the transition ledger, the outbox of
pending and failed writes with their reasons, and the run log. ``Store`` opens the file and
hands out one typed API per concern (``mirror``, ``people``, ``cursors``, ``ledger``,
``outbox``, ``runs``, ``reporting``), all on one connection, so one ``transaction()`` can
cover work across them.

The file is created with mode 0600 (it holds names and emails), runs in WAL mode, and its
schema is versioned through ``PRAGMA user_version``: ``schema.MIGRATIONS`` are applied in order
on open, each in its own transaction. A read-only store (the report) neither creates nor
migrates the file, so a running sync is not disturbed.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from milestones.store.ledger import Ledger
from milestones.store.mirror import Mirror
from milestones.store.outbox import Outbox
from milestones.store.people import People
from milestones.store.reporting import Reporting
from milestones.store.rows import Counts
from milestones.store.runs import Cursors, Runs
from milestones.store.schema import MIGRATIONS


class Store:
    """An open state file. Use as a context manager, or call ``close()``."""

    def __init__(self, path: Path | str, *, read_only: bool = False) -> None:
        self.path = Path(path)
        if read_only:
            if not self.path.exists():
                raise FileNotFoundError(
                    f"no state file at {self.path}: run `milestones sync` first"
                )
            uri = f"{self.path.resolve().as_uri()}?mode=ro"
            self.db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        else:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if str(self.path) != ":memory:" and not self.path.exists():
                os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=OFF")
            self.db.execute("PRAGMA cache_size=-16000")
            self._migrate()
        self.mirror = Mirror(self.db)
        self.people = People(self.db)
        self.cursors = Cursors(self.db)
        self.ledger = Ledger(self.db)
        self.outbox = Outbox(self.db)
        self.runs = Runs(self.db)
        self.reporting = Reporting(self.db)

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
