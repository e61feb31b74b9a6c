"""The PostgreSQL server the engine tests also run on, and a fresh org schema per test.

Tests find the server through ``MILESTONES_TEST_POSTGRES_URL`` (no password in it: libpq reads
``PGPASSWORD`` or ``~/.pgpass``). Without it, or when nothing answers there, the PostgreSQL
variants skip with a message saying how to start one; when ``CI`` is set they fail instead,
so CI cannot pass without having run them. Every test gets schemas of its own, dropped after,
in the one database.
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from functools import cache
from pathlib import Path
from typing import Any

import psycopg
import pytest

from milestones.store.location import StateLocation

URL_ENV = "MILESTONES_TEST_POSTGRES_URL"
HOW = (
    f"set {URL_ENV}=postgresql://USER@127.0.0.1/DB (and PGPASSWORD) to run them; on Debian: "
    "`pg_ctlcluster 15 main start`, then `su postgres -c \"psql -c 'CREATE ROLE milestones "
    "LOGIN PASSWORD ...'\"` and `su postgres -c 'createdb -O milestones milestones_test'` "
    "(.ci/run does all of this)"
)
ENGINES = ("sqlite", "postgresql")


@cache
def _reachable(url: str) -> str | None:
    """None when the server answers, else why not."""
    try:
        with psycopg.connect(url, connect_timeout=5) as conn:
            conn.execute("SELECT 1")
    except psycopg.Error as exc:
        return str(exc).strip().splitlines()[0]
    return None


def server_url() -> str:
    """The test server's URL; skips (fails under CI) when there is none."""
    url = os.environ.get(URL_ENV, "")
    problem = f"{URL_ENV} is not set" if not url else _reachable(url)
    if problem is not None:
        message = f"PostgreSQL tests need a server: {problem}; {HOW}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    return url


class Orgs:
    """Hands out state locations for one test: files in its tmp folder, or fresh schemas."""

    def __init__(self, engine: str, tmp_path: Path) -> None:
        self.engine, self.tmp_path = engine, tmp_path
        self.url = server_url() if engine == "postgresql" else None
        self.schemas: dict[str, str] = {}

    def location(self, name: str = "state", path: Path | None = None) -> StateLocation:
        """The same name gives the same state within a test (``path``: the SQLite file, and
        beside it, on either engine, the worker's other files)."""
        path = path or self.tmp_path / f"{name}.db"
        if self.url is None:
            return StateLocation(path)
        if name not in self.schemas:
            tail = re.sub(r"[^a-z0-9_]", "_", name.lower())
            self.schemas[name] = f"t_{uuid.uuid4().hex[:12]}_{tail}"[:63]
        return StateLocation(path, self.url, self.schemas[name])

    def config_lines(self, name: str = "state", path: Path | None = None) -> str:
        """The ``[state]`` keys of a config for ``location(name, path)``."""
        where = self.location(name, path)
        if where.url is None:
            return f'path = "{where.path}"\n'
        return f'path = "{where.path}"\nurl = "{where.url}"\norg = "{where.org}"\n'

    def drop(self) -> None:
        if self.url is None or not self.schemas:
            return
        with psycopg.connect(self.url, autocommit=True) as conn:
            for schema in self.schemas.values():
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')  # type: ignore[arg-type]


def orgs_for(engine: str, tmp_path: Path) -> Iterator[Orgs]:
    """The body of an ``orgs`` fixture: yields, then drops what the test made."""
    orgs = Orgs(engine, tmp_path)
    try:
        yield orgs
    finally:
        orgs.drop()


def has_index(state: Any, name: str) -> bool:
    """Whether the open state (either engine) has the index ``name``."""
    if state.engine == "postgresql":
        sql = "SELECT 1 FROM pg_indexes WHERE schemaname = current_schema() AND indexname = ?"
    else:
        sql = "SELECT 1 FROM sqlite_master WHERE type = 'index' AND name = ?"
    return state.db.execute(sql, (name,)).fetchone() is not None
