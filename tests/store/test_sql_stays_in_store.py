"""SQL text appears only under ``store/`` (and in the sandbox, a server with storage of its own).

Salesforce's own query language, SOQL, shares SQL's ``SELECT ... FROM``: the Salesforce
connector may write that, and nothing else of SQL.
"""

from __future__ import annotations

import re
from pathlib import Path

import milestones

SRC = Path(milestones.__file__).parent
SQL_ONLY = re.compile(
    r"\bINSERT\s+(OR\s+\w+\s+)?INTO\b|\bUPDATE\s+\w+\s+SET\b|\bDELETE\s+FROM\b|"
    r"\bCREATE\s+(TABLE|INDEX)\b|(?-i:\bPRAGMA\s+\w+)|\bjson_(each|extract|patch)\b|"
    r"\bWITHOUT ROWID\b|\bsqlite3\b|\.executemany\(|\.execute\(",
    re.IGNORECASE,
)
SELECT = re.compile(r"\bSELECT\b[^\n]*\bFROM\b|\bSELECT\s*$", re.IGNORECASE | re.MULTILINE)


def _files(*, outside: tuple[str, ...]) -> list[Path]:
    return [
        path
        for path in sorted(SRC.rglob("*.py"))
        if not path.relative_to(SRC).as_posix().startswith(outside)
    ]


def test_no_sql_outside_the_store() -> None:
    found = [
        f"{path.relative_to(SRC)}: {match.group(0)!r}"
        for path in _files(outside=("store/", "sandbox/"))
        for match in SQL_ONLY.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, "SQL outside store/:\n" + "\n".join(found)


def test_no_select_outside_the_store_but_soql() -> None:
    found = [
        f"{path.relative_to(SRC)}: {match.group(0)!r}"
        for path in _files(outside=("store/", "sandbox/", "connectors/salesforce"))
        for match in SELECT.finditer(path.read_text(encoding="utf-8"))
    ]
    assert not found, "SELECT outside store/ (and SOQL):\n" + "\n".join(found)


def test_the_checks_see_sql_where_it_is() -> None:
    store_text = (SRC / "store" / "outbox.py").read_text(encoding="utf-8")
    assert SQL_ONLY.search(store_text) and SELECT.search(store_text)
