"""Where the state lives, and the one way to open it: an SQLite file, or an org's schema in
PostgreSQL.

``StateLocation`` is what ``[state]`` resolves to (``config.state.StateSettings.location``);
``open_state`` opens the store it names, and every command opens its state through it, so a
command never asks which engine holds the state. The PostgreSQL engine (and psycopg) is
imported only when a location names it, so the embedded SQLite path pays nothing for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from milestones.store.sqlite import Store


@dataclass(frozen=True)
class StateLocation:
    """An SQLite file (``path``), or a PostgreSQL database (``url``) and the org's schema."""

    path: Path
    url: str | None = None
    org: str | None = None
    backups: int = 0

    @property
    def is_postgres(self) -> bool:
        """True when the state is in PostgreSQL."""
        return self.url is not None

    def describe(self) -> str:
        """Where the state is, for people: the file, or the database and org (no password)."""
        if self.url is None:
            return str(self.path)
        from milestones.store.postgres import describe_url

        return f"{describe_url(self.url)} (org {self.org})"


def open_state(
    location: StateLocation, *, read_only: bool = False, now: datetime | None = None
) -> Store:
    """Open (and unless ``read_only``, create and migrate) the state at ``location``.

    A read-only open neither creates nor migrates, and raises ``FileNotFoundError`` when
    there is no state yet; backups of an SQLite file are taken when ``now`` is given.
    """
    if location.url is not None:
        from milestones.store.postgres import PostgresStore

        assert location.org is not None, "config requires [state] org with url"
        return PostgresStore(location.url, location.org, read_only=read_only, now=now)
    return Store(location.path, read_only=read_only, backups=location.backups, now=now)
