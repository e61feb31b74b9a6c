"""Advocacy flags dated at the least API cost: the mirror, the modified time, else history.

A real state (SQLite) holds what earlier pulls saw; the connector here answers only
``property_history`` and counts each time it is asked (the CRM's side of it is tested through
the real client libraries in tests/e2e/test_dated_history_e2e.py).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import cast

import pytest

from milestones.connectors.base import Connector, Window
from milestones.connectors.hubspot.settings import HUBSPOT_FIELD_NAMES
from milestones.mapping.records import Contact
from milestones.store.sqlite import Store
from milestones.sync.flag_dates import add_pending, date_flags, read_pending

FLAG = "reference_customer"
NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SET = NOW - timedelta(days=40)  # when the CRM's history says the flag was set


class HistoryCRM:
    """Answers ``property_history`` from a fixed history and remembers who was asked."""

    def __init__(self) -> None:
        self.asked: list[list[str]] = []

    def property_history(
        self, ids: Sequence[str], names: Sequence[str]
    ) -> dict[str, dict[str, list[tuple[datetime, str | None]]]]:
        self.asked.append(list(ids))
        changes = [(SET - timedelta(days=9), "true"), (SET - timedelta(days=5), ""), (SET, "true")]
        return {i: {FLAG: list(changes)} for i in ids}


@pytest.fixture
def state(tmp_path: Path) -> Iterator[Store]:
    with Store(tmp_path / "state.db") as s:
        yield s


def person(flagged: bool, modified: datetime, **dates: datetime) -> Contact:
    return Contact(
        "c1",
        created_at=NOW - timedelta(days=400),
        modified_at=modified,
        properties={FLAG: "true" if flagged else None},
        property_set_at=dates,
    )


def dated(
    state: Store, before: Contact | None, now: Contact, window: Window
) -> tuple[datetime | None, int]:
    """The flag's date as the state holds it after the page ``now`` was pulled, and how many
    history reads that took."""
    if before is not None:
        with state.transaction():
            state.mirror.apply_page("contacts", [before], [], 1, HUBSPOT_FIELD_NAMES)
    crm = HistoryCRM()
    records, unread = date_flags([now], [FLAG], window, state)
    with state.transaction():
        state.mirror.apply_page("contacts", records, [], 2, HUBSPOT_FIELD_NAMES)
        add_pending(state, unread)
    read_pending(state, cast(Connector, crm), [FLAG])
    stored = state.mirror.contacts([now.id])[now.id]
    return stored.property_set_at.get(FLAG), len(crm.asked)


FULL = Window(None, NOW)
SHORT = Window(NOW - timedelta(minutes=20), NOW)
LONG = Window(NOW - timedelta(days=3), NOW)
MODIFIED = NOW - timedelta(minutes=5)


def test_a_first_sync_reads_the_history_and_dates_from_the_last_setting(state: Store) -> None:
    assert dated(state, None, person(True, MODIFIED), FULL) == (SET, 1)


def test_a_flag_already_dated_keeps_its_date_without_a_call(state: Store) -> None:
    before = person(True, NOW - timedelta(days=2), **{FLAG: SET})
    assert dated(state, before, person(True, MODIFIED), FULL) == (SET, 0)
    assert dated(state, before, person(True, MODIFIED), SHORT) == (SET, 0)


def test_a_flag_newly_set_in_a_short_window_is_dated_by_the_modified_time(state: Store) -> None:
    before = person(False, NOW - timedelta(days=2))
    assert dated(state, before, person(True, MODIFIED), SHORT) == (MODIFIED, 0)


def test_a_flag_newly_set_in_a_long_window_reads_the_history(state: Store) -> None:
    before = person(False, NOW - timedelta(days=5))
    assert dated(state, before, person(True, MODIFIED), LONG) == (SET, 1)


def test_an_undated_flag_is_read_on_full_pulls_only(state: Store) -> None:
    before = person(True, NOW - timedelta(days=2))  # kept by a release that read no history
    assert dated(state, before, person(True, MODIFIED), SHORT) == (None, 0)
    assert dated(state, before, person(True, MODIFIED), FULL) == (SET, 1)


def test_a_rebuild_reads_even_a_dated_flag_again(state: Store) -> None:
    before = person(True, NOW - timedelta(days=2), **{FLAG: NOW - timedelta(days=90)})
    with state.transaction():
        state.mirror.apply_page("contacts", [before], [], 1, HUBSPOT_FIELD_NAMES)
    _, unread = date_flags([person(True, MODIFIED)], [FLAG], FULL, state, rebuild=True)
    assert unread == ["c1"]


def test_a_date_the_pull_brought_is_taken_as_is(state: Store) -> None:
    brought = NOW - timedelta(days=3)
    assert dated(state, None, person(True, MODIFIED, **{FLAG: brought}), FULL) == (brought, 0)


def test_an_unset_flag_asks_for_nothing(state: Store) -> None:
    assert dated(state, None, person(False, MODIFIED), FULL) == (None, 0)


def test_history_is_read_once_for_the_flagged_people_of_every_page(state: Store) -> None:
    crm = HistoryCRM()
    for page in range(3):  # a pull of three pages, two flagged people on each
        people = [replace(person(True, MODIFIED), id=f"p{page}-{n}") for n in range(2)] + [
            replace(person(False, MODIFIED), id=f"p{page}-x")
        ]
        records, unread = date_flags(people, [FLAG], FULL, state)
        with state.transaction():
            state.mirror.apply_page("contacts", records, [], 1, HUBSPOT_FIELD_NAMES)
            add_pending(state, unread)
    assert read_pending(state, cast(Connector, crm), [FLAG]) == 6
    assert len(crm.asked) == 1 and len(crm.asked[0]) == 6
    assert read_pending(state, cast(Connector, crm), [FLAG]) == 0  # nothing left pending
    stored = state.mirror.contacts(["p1-0", "p1-x"])
    assert stored["p1-0"].property_set_at == {FLAG: SET}
    assert stored["p1-x"].property_set_at == {}
