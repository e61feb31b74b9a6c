"""The state in PostgreSQL: one schema per org, the store's own SQL through ``dialect``.

``PostgresStore`` is the ``Store`` of ``sqlite.py`` on a psycopg 3 connection: the same
sub-APIs, the same statements, the same migrations (``schema.MIGRATIONS``, said in
PostgreSQL by ``dialect``), versioned by a one-row ``schema_version`` table in the org's schema.

Each org's rows live in their own schema, named by the configured ``org``: the connection's
``search_path`` is that schema alone (set when the session starts), so every statement the
store sends, which never names a schema, reads and writes that org's tables and no other's.

The connection runs in autocommit and the store opens its own transactions, as it does on
SQLite. A lost connection (the server restarted, the backend was terminated, the network
dropped) becomes a ``StateError``: the open transaction is gone with the session, so nothing
of the unfinished step was written, and the run stops with exit 2.

The password never appears in a URL here (``config`` refuses one): libpq reads it from
``PGPASSWORD``, a service file or ``~/.pgpass``, and ``describe_url`` is what messages show.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from typing import Any

import psycopg
from psycopg import pq
from psycopg.adapt import Loader
from psycopg.conninfo import conninfo_to_dict
from psycopg.types.string import TextLoader

from milestones.store import dialect, privacy
from milestones.store.dialect import Table
from milestones.store.health import StateError, newer_schema
from milestones.store.schema import MIGRATIONS
from milestones.store.sqlite import Store

LOST = "nothing of the unfinished step was written; rerun when the database answers"


def describe_url(url: str) -> str:
    """``postgresql://user@host:port/db``: where the state is, without any password."""
    try:
        parts = conninfo_to_dict(url)
    except psycopg.Error:
        return "postgresql://(unreadable URL)"
    user = f"{parts['user']}@" if parts.get("user") else ""
    port = f":{parts['port']}" if parts.get("port") else ""
    return f"postgresql://{user}{parts.get('host', '')}{port}/{parts.get('dbname', '')}"


def has_password(url: str) -> bool:
    """True when the URL itself carries a password (which belongs in the environment)."""
    try:
        return bool(conninfo_to_dict(url).get("password"))
    except psycopg.Error:
        return False


def lock_key(org: str) -> int:
    """The advisory lock key of an org: 64 bits of a hash of its name, the same everywhere."""
    digest = hashlib.blake2b(f"milestones run {org}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


class _NumericLoader(Loader):
    """``sum()`` of integers is ``numeric`` in PostgreSQL: give ints back, as SQLite does."""

    def load(self, data: Any) -> int | float:
        text = bytes(data).decode()
        return int(text) if text.lstrip("-").isdigit() else float(text)


def connect(url: str, org: str, *, read_only: bool = False) -> psycopg.Connection[Any]:
    """A session whose ``search_path`` is the org's schema alone (``org`` is an identifier,
    checked by config; it is quoted here all the same)."""
    options = f"-c search_path={org}"
    if read_only:
        options += " -c default_transaction_read_only=on"
    conn = psycopg.connect(
        url, autocommit=True, options=options, application_name="milestones", connect_timeout=10
    )
    for name in ("json", "jsonb"):
        conn.adapters.register_loader(name, TextLoader)
    conn.adapters.register_loader("numeric", _NumericLoader)
    return conn


class _Rows:
    """An executed statement, read as ``sqlite3.Cursor`` is."""

    def __init__(self, cursor: psycopg.Cursor[Any] | None, lastrowid: int | None = None) -> None:
        self._cursor = cursor
        self.lastrowid = lastrowid
        self.rowcount = -1 if cursor is None else cursor.rowcount

    def fetchone(self) -> Any:
        if self._cursor is None or self._cursor.description is None:
            return None
        return self._cursor.fetchone()

    def fetchall(self) -> list[Any]:
        if self._cursor is None or self._cursor.description is None:
            return []
        return self._cursor.fetchall()

    def __iter__(self) -> Iterator[Any]:
        return iter(self.fetchall())


def _plain(row: Sequence[Any]) -> tuple[Any, ...]:
    """SQLite keeps booleans as 0/1 and so do the INTEGER columns here."""
    return tuple(int(v) if isinstance(v, bool) else v for v in row)


class PostgresConnection:
    """The store's ``Connection`` on psycopg: statements go through ``dialect.to_postgres``."""

    def __init__(self, conn: psycopg.Connection[Any], label: str) -> None:
        self.conn, self.label = conn, label
        self._tables: dict[str, Table] = {}
        self._said: dict[tuple[str, bool], str] = {}

    @property
    def in_transaction(self) -> bool:
        status = self.conn.info.transaction_status
        return status in (pq.TransactionStatus.INTRANS, pq.TransactionStatus.INERROR)

    def close(self) -> None:
        self.conn.close()

    def forget_tables(self) -> None:
        """Read the catalog afresh (after a migration changed a table)."""
        self._tables.clear()
        self._said.clear()

    def execute(self, sql: str, parameters: Any = (), /) -> _Rows:
        args = _plain(parameters) if parameters else ()
        try:
            if dialect.is_ddl(sql):
                self.conn.execute(dialect.ddl_to_postgres(sql))  # type: ignore[call-overload]
                self.forget_tables()
                return _Rows(None)
            pragma = dialect.pragma_to_postgres(sql)
            if pragma is not None:
                text, pargs = pragma
                if not text:
                    return _Rows(None)
                return _Rows(self.conn.execute(text, pargs))  # type: ignore[call-overload]
            if sql.strip().upper() == "VACUUM":
                self.vacuum(self.tables())
                return _Rows(None)
            said = self._say(sql, bool(args))
            cursor = self.conn.execute(said, args or None)  # type: ignore[call-overload]
            if said.endswith(" RETURNING id") and not sql.rstrip().endswith("RETURNING id"):
                row = cursor.fetchone()
                return _Rows(cursor, None if row is None else int(row[0]))
            return _Rows(cursor)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise self._lost(exc) from None

    def executemany(self, sql: str, parameters: Any, /) -> _Rows:
        rows = [_plain(r) for r in parameters]
        if not rows:
            return _Rows(None)
        try:
            with self.conn.cursor() as cursor:
                cursor.executemany(self._say(sql, True), rows)  # type: ignore[call-overload]
                return _Rows(cursor)
        except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
            raise self._lost(exc) from None

    def tables(self) -> list[str]:
        """The org's tables (its schema's, which is all this session sees)."""
        rows = self.conn.execute(
            "SELECT table_name FROM information_schema.tables "
            "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1"
        ).fetchall()
        return [str(r[0]) for r in rows]

    def vacuum(self, tables: Sequence[str]) -> None:
        """VACUUM the named tables, so erased text does not wait in dead row versions for
        autovacuum (https://www.postgresql.org/docs/15/routine-vacuuming.html)."""
        known = set(self.tables())
        names = ", ".join(f'"{t}"' for t in tables if t in known)
        if names:
            try:
                self.conn.execute(f"VACUUM {names}")  # type: ignore[call-overload]
            except (psycopg.OperationalError, psycopg.InterfaceError) as exc:
                raise self._lost(exc) from None

    def _say(self, sql: str, has_parameters: bool) -> str:
        said = self._said.get((sql, has_parameters))
        if said is None:
            said = dialect.to_postgres(sql, self.describe, has_parameters=has_parameters)
            self._said[(sql, has_parameters)] = said
        return said

    def describe(self, table: str) -> Table:
        """A table's columns and key, from the catalog (kept until a migration)."""
        known = self._tables.get(table)
        if known is None:
            columns = self.conn.execute(
                "SELECT column_name, is_identity FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s "
                "ORDER BY ordinal_position",
                (table,),
            ).fetchall()
            key = self.conn.execute(
                "SELECT a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) "
                "WHERE i.indrelid = to_regclass(%s) AND i.indisprimary ORDER BY a.attnum",
                (table,),
            ).fetchall()
            known = Table(
                tuple(str(c[0]) for c in columns),
                tuple(str(k[0]) for k in key),
                any(c[0] == "id" and c[1] == "YES" for c in columns),
            )
            self._tables[table] = known
        return known

    def _lost(self, exc: psycopg.Error) -> StateError:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        return StateError(self.label, f"lost the database connection ({first})", LOST)


class PostgresStore(Store):
    """An org's state in a PostgreSQL schema. Use as a context manager, or ``close()``."""

    def __init__(
        self, url: str, org: str, *, read_only: bool = False, now: datetime | None = None
    ) -> None:
        self.path = None
        self.url, self.org = url, org
        self.label = f"{describe_url(url)} (org {org})"
        self._now = now
        try:
            conn = connect(url, org, read_only=read_only)
        except psycopg.Error as exc:
            raise StateError(self.label, f"cannot connect ({_first_line(exc)})", LOST) from None
        self.pg = PostgresConnection(conn, self.label)
        self.db = self.pg
        try:
            if read_only:
                if not self._has_schema():
                    raise FileNotFoundError(
                        f"no state for org {org} in {describe_url(url)}: "
                        "run `milestones sync` first"
                    )
                if self.version > len(MIGRATIONS):
                    raise newer_schema(self.label, self.version)
            else:
                self._migrate()
        except BaseException:
            conn.close()
            raise
        self._open_apis()

    @property
    def engine(self) -> str:
        return "postgresql"

    def _has_schema(self) -> bool:
        row = self.pg.conn.execute(
            "SELECT 1 FROM pg_namespace WHERE nspname = %s", (self.org,)
        ).fetchone()
        return row is not None

    @property
    def version(self) -> int:
        """The schema version of the org's state (0 before the first migration)."""
        if not self._has_schema():
            return 0
        found = self.pg.conn.execute(
            "SELECT to_regclass(%s) IS NOT NULL", (dialect.VERSION_TABLE,)
        ).fetchone()
        if not found or not found[0]:
            return 0
        return int(self.db.execute("PRAGMA user_version").fetchone()[0])

    def _migrate(self) -> None:
        """Create the schema and SQLite's functions, then apply the missing migrations: all in
        one transaction under a lock keyed by the org, so two workers starting at once migrate
        once (the second finds the version the first committed), and a failed migration leaves
        the schema as it was (PostgreSQL's DDL is transactional)."""
        with self.transaction():
            key = lock_key(self.org)
            self.pg.conn.execute("SELECT pg_advisory_xact_lock(%s, 1)", (key >> 32,))
            self.pg.conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self.org}"')
            self.pg.conn.execute(dialect.VERSION_DDL)
            for function in dialect.FUNCTIONS:
                self.pg.conn.execute(function)  # type: ignore[call-overload]
            current = int(self.db.execute("PRAGMA user_version").fetchone()[0])
            if current > len(MIGRATIONS):
                raise newer_schema(self.label, current)
            self.migrated_from = current
            for number, script in enumerate(MIGRATIONS[current:], start=current + 1):
                self._run_migration(number, script)

    def tables(self) -> list[str]:
        """The org's tables, without the version row's own."""
        return [t for t in self.pg.tables() if t != dialect.VERSION_TABLE]

    def identity_follows(self, table: str) -> None:
        """Move an identity column's sequence past the ids copied in."""
        if self.pg.describe(table).has_identity:
            self.pg.conn.execute(
                "SELECT setval(pg_get_serial_sequence(%s, 'id'), "  # type: ignore[call-overload]
                f'(SELECT coalesce(max(id), 0) + 1 FROM "{table}"), false)',
                (table,),
            )

    def compact(self) -> None:
        """Clear erased rows' old versions out of the tables that held them now, rather than
        when autovacuum comes by (``docs/privacy.md``)."""
        self.pg.vacuum(privacy.ERASED_TABLES)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class LockHeld(Exception):
    """Another session holds the org's run lock."""


@contextmanager
def hold_run_lock(url: str, org: str) -> Iterator[None]:
    """Hold the org's run lock, a session-level advisory lock on a session of its own, for
    the block; raise ``LockHeld`` at once if another session holds it. The lock goes with its
    session, so a killed worker's lock is released when the server sees its connection end
    (https://www.postgresql.org/docs/15/explicit-locking.html#ADVISORY-LOCKS)."""
    label = f"{describe_url(url)} (org {org})"
    try:
        conn = psycopg.connect(
            url, autocommit=True, application_name="milestones lock", connect_timeout=10
        )
    except psycopg.Error as exc:
        raise StateError(label, f"cannot connect ({_first_line(exc)})", LOST) from None
    try:
        row = conn.execute("SELECT pg_try_advisory_lock(%s)", (lock_key(org),)).fetchone()
        if not row or not row[0]:
            raise LockHeld(label)
        yield
    finally:
        conn.close()  # ends the session, and with it the lock
