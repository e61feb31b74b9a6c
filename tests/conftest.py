"""Fixtures every test folder may use: the engine a state lives in (SQLite and PostgreSQL),
and a state open on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from milestones.store.location import open_state
from milestones.store.sqlite import Store
from pg_support import ENGINES, Orgs, orgs_for


@pytest.fixture(params=ENGINES)
def orgs(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Orgs]:
    """State locations on each engine in turn (PostgreSQL: fresh schemas, dropped after)."""
    yield from orgs_for(request.param, tmp_path)


@pytest.fixture
def pg_orgs(tmp_path: Path) -> Iterator[Orgs]:
    """State locations in PostgreSQL only."""
    yield from orgs_for("postgresql", tmp_path)


@pytest.fixture
def state(orgs: Orgs) -> Iterator[Store]:
    """A fresh state, open on each engine in turn (``orgs``)."""
    with open_state(orgs.location()) as s:
        yield s
