"""One set of SQL for both engines: the store's SQLite statements, said in PostgreSQL.

Every statement in ``store/`` is written once, in the SQLite dialect the embedded engine
speaks, with ``?`` placeholders. ``to_postgres`` rewrites one statement for PostgreSQL; the
rewriting is general (it knows the forms, not the statements), so a new migration or query
written in the same style needs nothing here:

* ``?`` becomes ``%s`` (and a literal ``%`` is doubled) for psycopg;
* ``INSERT OR IGNORE`` becomes ``INSERT ... ON CONFLICT DO NOTHING``, and
  ``INSERT OR REPLACE`` becomes ``ON CONFLICT (primary key) DO UPDATE`` of every column
  (the ones not inserted go back to their default, as SQLite's delete-and-insert leaves them),
  and so does ``REPLACE INTO``; ``ifnull(`` becomes ``coalesce(``;
* ``a IS b`` and ``a IS NOT b`` between values become ``IS [NOT] DISTINCT FROM``;
* ``x IN (SELECT value FROM json_each(?))`` becomes ``x = ANY(ARRAY(...))`` (an index
  scan), and any other ``json_each(?)`` ``json_array_elements_text(CAST(? AS json))`` (same
  ``value`` column);
* in DDL: ``WITHOUT ROWID``, ``AUTOINCREMENT`` and ``STRICT`` go, ``INTEGER PRIMARY KEY``
  becomes a ``BIGINT`` identity, ``INTEGER``/``INT``/``BOOLEAN`` ``BIGINT``, ``REAL``
  ``DOUBLE PRECISION``, ``BLOB`` ``BYTEA``, and ``TEXT`` (and ``DATETIME``) compares bytewise
  (``COLLATE "C"``, SQLite's ``BINARY``), so ids sort and page in the same order on both;
* ``PRAGMA user_version`` reads and writes a one-row ``schema_version`` table,
  ``PRAGMA table_info`` reads the catalog, and the PRAGMAs that tune SQLite's file do nothing.

``json_array(`` becomes ``json_build_array(``. SQLite's scalar functions the statements use
(``json_extract``, ``json_set``, ``json_patch``, ``json``, ``instr``) are created as SQL
functions in each org's schema (``FUNCTIONS``); ``json_extract`` answers text, so a statement
that compares its result with a number casts it (``CAST(... AS INTEGER)``), which SQLite
reads the same.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Protocol


class Cursor(Protocol):
    """What the store reads from an executed statement, on either engine."""

    @property
    def rowcount(self) -> int: ...

    @property
    def lastrowid(self) -> int | None: ...

    def fetchone(self) -> Any: ...

    def fetchall(self) -> list[Any]: ...

    def __iter__(self) -> Iterator[Any]: ...


class Connection(Protocol):
    """The part of a DB-API connection the store uses: ``sqlite3.Connection`` has it, and so
    does the PostgreSQL connection in ``postgres.py``."""

    @property
    def in_transaction(self) -> bool: ...

    def execute(self, sql: str, parameters: Any = ..., /) -> Cursor: ...

    def executemany(self, sql: str, parameters: Any, /) -> Cursor: ...

    def close(self) -> None: ...


# The ids of one JSON array parameter, as a statement's ``x IN {IDS}`` names them: one
# statement for any number of ids (said ``x = ANY(...)`` in PostgreSQL, below).
IDS = "(SELECT value FROM json_each(?))"


@dataclass(frozen=True)
class Table:
    """What ``INSERT OR REPLACE`` needs to know of a table: its columns and primary key."""

    columns: tuple[str, ...]
    key: tuple[str, ...]
    has_identity: bool


Describe = Callable[[str], Table]

VERSION_TABLE = "schema_version"
VERSION_DDL = (
    f"CREATE TABLE IF NOT EXISTS {VERSION_TABLE} "
    "(one INTEGER PRIMARY KEY CHECK (one = 1), version INTEGER NOT NULL)"
)

_JSON_SET_PAIRS = 12


def _json_set(pairs: int) -> str:
    """SQLite's ``json_set(doc, path, value, ...)`` for ``pairs`` (path, value) pairs."""
    params = ", ".join(f"p{i} text, v{i} json" for i in range(pairs))
    steps = " ".join(
        f"d := jsonb_set(d, json_path(p{i}), coalesce(v{i}::jsonb, 'null'::jsonb), true);"
        for i in range(pairs)
    )
    return (
        f"CREATE OR REPLACE FUNCTION json_set(doc text, {params}) RETURNS text "
        f"LANGUAGE plpgsql IMMUTABLE AS $$ DECLARE d jsonb := doc::jsonb; "
        f"BEGIN {steps} RETURN d::text; END $$"
    )


# SQLite's scalar functions, as PostgreSQL SQL functions (created in the org's schema).
# https://www.sqlite.org/json1.html#jex: json_extract gives SQL values, true/false as 1/0.
FUNCTIONS = (
    r"""
    CREATE OR REPLACE FUNCTION json_extract(doc text, path text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
      SELECT CASE jsonb_typeof(v) WHEN 'boolean' THEN CASE WHEN v = 'true'::jsonb
             THEN '1' ELSE '0' END WHEN 'null' THEN NULL ELSE v #>> '{}' END
      FROM (SELECT doc::jsonb #> regexp_split_to_array(trim(both '.' from
            regexp_replace(substr(path, 2), '\[(\d+)\]', '.\1', 'g')), '\.') AS v) AS s
    $$
    """,
    # https://www.sqlite.org/json1.html#jpatch (RFC 7396), for the flat objects the store keeps
    """
    CREATE OR REPLACE FUNCTION json_patch(target text, patch text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
      SELECT coalesce(jsonb_object_agg(key, value), '{}'::jsonb)::text FROM (
        SELECT key, value FROM jsonb_each(target::jsonb)
        WHERE NOT jsonb_exists(patch::jsonb, key)
        UNION ALL
        SELECT key, value FROM jsonb_each(patch::jsonb) WHERE jsonb_typeof(value) <> 'null'
      ) AS merged
    $$
    """,
    """
    CREATE OR REPLACE FUNCTION instr(haystack text, needle text) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$ SELECT strpos(haystack, needle) $$
    """,
    # json('...') marks its argument as JSON, so json_array (json_build_array) embeds it.
    """
    CREATE OR REPLACE FUNCTION json(doc text) RETURNS json
    LANGUAGE sql IMMUTABLE AS $$ SELECT doc::json $$
    """,
    r"""
    CREATE OR REPLACE FUNCTION json_path(path text) RETURNS text[]
    LANGUAGE sql IMMUTABLE AS $$
      SELECT regexp_split_to_array(trim(both '.' from
             regexp_replace(substr(path, 2), '\[(\d+)\]', '.\1', 'g')), '\.')
    $$
    """,
    *(_json_set(pairs) for pairs in range(1, _JSON_SET_PAIRS + 1)),
)

_WORD = r"[A-Za-z_][A-Za-z0-9_]*"
_INSERT_OR = re.compile(
    rf"^\s*(?:INSERT\s+OR\s+(IGNORE|REPLACE)|(REPLACE))\s+INTO\s+({_WORD})", re.I
)
_INSERT_INTO = re.compile(rf"^\s*INSERT\s+INTO\s+({_WORD})", re.I)
_COLUMN_LIST = re.compile(rf"^\s*INSERT\s+INTO\s+{_WORD}\s*\(([^)]*)\)", re.I)
_JSON_EACH = re.compile(r"\bjson_each\(\s*\?\s*\)", re.I)
_IN_JSON_EACH = re.compile(
    r"\b(NOT\s+)?IN\s*\(\s*SELECT\s+value\s+FROM\s+json_each\(\s*\?\s*\)\s*\)", re.I
)
_JSON_ARRAY = re.compile(r"\bjson_array\(", re.I)
_IFNULL = re.compile(r"\bifnull\(", re.I)
_PRAGMA = re.compile(r"^\s*PRAGMA\s+(\w+)\s*(?:\(\s*(\w+)\s*\))?\s*(?:=\s*(\w+))?\s*$", re.I)
_DDL = re.compile(r"^\s*(CREATE|ALTER|DROP)\b", re.I)
# SQLite's ``a IS b`` / ``a IS NOT b`` between values is null-safe equality.
_IS_NOT_VALUE = re.compile(r"\bIS\s+NOT\s+(?!NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_IS_VALUE = re.compile(r"\bIS\s+(?!NOT\b|NULL\b|TRUE\b|FALSE\b|DISTINCT\b)", re.I)
_INT_KEY = re.compile(r"\bINTEGER\s+PRIMARY\s+KEY\b")


def is_ddl(sql: str) -> bool:
    """True for a schema statement (a migration's CREATE/ALTER/DROP)."""
    return _DDL.match(sql) is not None


@lru_cache(maxsize=64)
def ddl_to_postgres(sql: str) -> str:
    """A migration statement (CREATE TABLE/INDEX, ALTER TABLE) in PostgreSQL's types.

    Types are matched in capitals, as the migrations write them, so a column named ``text``
    or ``real`` keeps its name."""
    sql = re.sub(r"\bWITHOUT\s+ROWID\b|\bAUTOINCREMENT\b|\)\s*STRICT\b", _drop_option, sql)
    sql = _INT_KEY.sub("BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY", sql)
    for sqlite_type, postgres_type in _TYPES:
        sql = re.sub(rf"\b{sqlite_type}\b", postgres_type, sql)
    return sql


def _drop_option(match: re.Match[str]) -> str:
    return ")" if match.group(0).startswith(")") else ""


# SQLite's type names (its affinities) as PostgreSQL's; BOOLEAN stays 0/1 as the store binds it.
_TYPES = (
    ("INTEGER", "BIGINT"),
    ("INT", "BIGINT"),
    ("BOOLEAN", "BIGINT"),
    ("REAL", "DOUBLE PRECISION"),
    ("BLOB", "BYTEA"),
    ("TEXT", 'TEXT COLLATE "C"'),
    ("DATETIME", 'TEXT COLLATE "C"'),
)


def pragma_to_postgres(sql: str) -> tuple[str, tuple[Any, ...]] | None:
    """A PRAGMA's PostgreSQL statement and arguments, '' for one that has no meaning there,
    or None if ``sql`` is not a PRAGMA."""
    match = _PRAGMA.match(sql)
    if match is None:
        return None
    name, argument, value = match.group(1).lower(), match.group(2), match.group(3)
    if name == "user_version" and value is not None and value.isdigit():
        return (
            f"INSERT INTO {VERSION_TABLE} (one, version) VALUES (1, %s) "
            "ON CONFLICT (one) DO UPDATE SET version = excluded.version",
            (int(value),),
        )
    if name == "user_version":
        return f"SELECT coalesce(max(version), 0) FROM {VERSION_TABLE}", ()
    if name == "table_info" and argument is not None:
        return (
            "SELECT ordinal_position - 1, column_name, data_type, 0, column_default, 0 "
            "FROM information_schema.columns WHERE table_schema = current_schema() "
            "AND table_name = %s ORDER BY ordinal_position",
            (argument.lower(),),
        )
    return "", ()  # journal_mode, synchronous, secure_delete, wal_checkpoint...


def to_postgres(sql: str, describe: Describe, *, has_parameters: bool) -> str:
    """One DML statement of the store, said in PostgreSQL (see the module's docstring)."""
    if re.match(r"^\s*BEGIN\s+IMMEDIATE\s*$", sql, re.I):
        return "BEGIN"
    sql = _IN_JSON_EACH.sub(_any_of_json, sql)
    sql = _JSON_EACH.sub("json_array_elements_text(CAST(? AS json))", sql)
    sql = _JSON_ARRAY.sub("json_build_array(", sql)
    sql = _IFNULL.sub("coalesce(", sql)
    sql = _IS_NOT_VALUE.sub("IS DISTINCT FROM ", sql)
    sql = _IS_VALUE.sub("IS NOT DISTINCT FROM ", sql)
    insert_or = _INSERT_OR.match(sql)
    if insert_or is not None:
        table = insert_or.group(3)
        sql = _INSERT_OR.sub(f"INSERT INTO {table}", sql, count=1)
        if (insert_or.group(1) or "").upper() == "IGNORE":
            sql = sql.rstrip().rstrip(";") + " ON CONFLICT DO NOTHING"
        else:
            sql = _with_upsert(sql, describe(table.lower()))
    else:
        insert = _INSERT_INTO.match(sql)
        if insert is not None and "RETURNING" not in sql.upper():
            table = describe(insert.group(1).lower())
            if table.has_identity:  # what sqlite3's ``lastrowid`` answers
                sql = sql.rstrip().rstrip(";") + " RETURNING id"
    return _placeholders(sql) if has_parameters else sql


def _any_of_json(match: re.Match[str]) -> str:
    """``x IN (SELECT value FROM json_each(?))`` as ``x = ANY(ARRAY(...))``: one array
    parameter, which an index scan takes whatever the planner guesses of the table's size
    (the IN form can become a nested loop over every row when the statistics are new)."""
    elements = "ARRAY(SELECT json_array_elements_text(CAST(? AS json)))"
    return f"<> ALL({elements})" if match.group(1) else f"= ANY({elements})"


def _with_upsert(sql: str, table: Table) -> str:
    listed = _COLUMN_LIST.match(sql)
    inserted: Sequence[str] = (
        [c.strip().lower() for c in listed.group(1).split(",")] if listed else table.columns
    )
    sets = [
        f"{c} = excluded.{c}" if c in inserted else f"{c} = DEFAULT"
        for c in table.columns
        if c not in table.key
    ]
    action = f"DO UPDATE SET {', '.join(sets)}" if sets else "DO NOTHING"
    return sql.rstrip().rstrip(";") + f" ON CONFLICT ({', '.join(table.key)}) {action}"


@lru_cache(maxsize=512)
def _placeholders(sql: str) -> str:
    """``?`` -> ``%s`` outside string literals; ``%`` -> ``%%`` (psycopg's own escape)."""
    out: list[str] = []
    for index, part in enumerate(re.split(r"('(?:[^']|'')*')", sql)):
        if index % 2:  # a quoted literal: only its % needs escaping
            out.append(part.replace("%", "%%"))
        else:
            out.append(part.replace("%", "%%").replace("?", "%s"))
    return "".join(out)
