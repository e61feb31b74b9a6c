"""Pulled pages sharing write transactions, and a first pull's link index built after it."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from milestones.store.location import open_state
from milestones.store.sqlite import Group, Store
from pg_support import Orgs, has_index


@pytest.fixture
def state(orgs: Orgs) -> Iterator[Store]:
    with open_state(orgs.location()) as s:
        yield s


LINK_INDEX = "activity_contacts_contact"


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def stored(state: Store) -> list[str]:
    return [r[0] for r in state.db.execute("SELECT key FROM meta WHERE key LIKE 'u%' ORDER BY 1")]


def unit(group: Group, state: Store, name: str, rows: int = 1) -> None:
    with group.unit(rows) as db:
        db.execute("INSERT INTO meta VALUES (?, '')", (name,))


def test_units_commit_together_once_the_group_holds_enough_rows(state: Store) -> None:
    with state.grouped(rows=3, seconds=60) as group:
        unit(group, state, "u1", rows=2)
        assert state.db.in_transaction and stored(state) == ["u1"]
        unit(group, state, "u2", rows=1)  # 3 rows: committed
        assert not state.db.in_transaction
        unit(group, state, "u3", rows=1)
        assert state.db.in_transaction
    assert not state.db.in_transaction and stored(state) == ["u1", "u2", "u3"]


def test_a_group_open_long_enough_commits_whatever_it_holds(state: Store) -> None:
    clock = Clock()
    with Group(state, rows=1000, seconds=2.0, clock=clock) as group:
        unit(group, state, "u1")
        clock.now = 1.9
        unit(group, state, "u2")
        assert state.db.in_transaction
        clock.now = 2.0
        unit(group, state, "u3")
        assert not state.db.in_transaction


def test_a_failing_unit_rolls_back_the_open_group_and_the_rest_is_kept(state: Store) -> None:
    with state.grouped(rows=2, seconds=60) as group:
        unit(group, state, "u1")
        unit(group, state, "u2")  # committed
        unit(group, state, "u3")
        with pytest.raises(RuntimeError), group.unit(1) as db:
            db.execute("INSERT INTO meta VALUES ('u4', '')")
            raise RuntimeError("a bad page")
        assert not state.db.in_transaction
        unit(group, state, "u5")  # a new transaction
    assert stored(state) == ["u1", "u2", "u5"]


def test_an_error_between_units_commits_the_units_before_it(state: Store) -> None:
    with pytest.raises(ConnectionError), state.grouped(rows=100, seconds=60) as group:
        unit(group, state, "u1")
        unit(group, state, "u2")
        raise ConnectionError("the CRM stopped answering")
    assert not state.db.in_transaction and stored(state) == ["u1", "u2"]


def test_an_empty_mirror_drops_the_link_index_until_the_pull_is_stored(state: Store) -> None:
    with state.transaction():
        assert state.mirror.defer_link_index() is True
    assert not has_index(state, LINK_INDEX)
    with state.transaction():
        state.db.execute("INSERT INTO activity_contacts VALUES ('a1', 'c1')")
        state.mirror.restore_link_index()
    assert has_index(state, LINK_INDEX)
    # A run that died before building it: the next one finds links and builds it first.
    with state.transaction():
        state.db.execute("DROP INDEX activity_contacts_contact")
        assert state.mirror.defer_link_index() is False
    assert has_index(state, LINK_INDEX)
