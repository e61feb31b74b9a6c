"""A first pull's activity links stored without their by-contact index, built after it."""

from __future__ import annotations

from milestones.store.sqlite import Store
from pg_support import has_index

LINK_INDEX = "activity_contacts_contact"


def test_an_empty_mirror_drops_the_link_index_until_the_pull_is_stored(state: Store) -> None:
    with state.transaction():
        assert state.mirror.defer_link_index() is True
    assert not has_index(state, LINK_INDEX)
    with state.transaction():
        state.db.execute("INSERT INTO activity_contacts VALUES ('a1', 'c1')")
    # The run died before building it: the next pull goes on without it, then builds it.
    with state.transaction():
        assert state.mirror.defer_link_index() is True
    assert not has_index(state, LINK_INDEX)
    cache = state.db.execute("PRAGMA cache_size").fetchone()  # SQLite's; none on PostgreSQL
    with state.transaction():
        state.mirror.restore_link_index()
    assert has_index(state, LINK_INDEX)
    assert state.db.execute("PRAGMA cache_size").fetchone() == cache  # built in a small one
    with state.transaction():
        assert state.mirror.defer_link_index() is False  # links held: the index stays
    assert has_index(state, LINK_INDEX)
