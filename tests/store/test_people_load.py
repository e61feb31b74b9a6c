"""A chunk's bundles: records shared by people or by a person and their lead count once each."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from milestones.mapping.records import Activity, Contact, Deal, Link
from milestones.store.location import open_state
from pg_support import Orgs

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
NAMES = {"milestone": "sales_milestone"}


def test_shared_records_load_once_per_person_and_gone_ones_not_at_all(orgs: Orgs) -> None:
    records = [
        Contact("c1", email="ann@example.com"),
        Contact("c2", email="bob@example.com"),
        Contact("l1", kind="lead", converted_to="c1"),
        Deal("d1", stage_id="closedwon", contact_ids=("c1", "c2", "l1")),
        Deal("d2", stage_id="closedwon", contact_ids=("c2",), is_deleted=True),
        Activity("a1", "email", "inbound", occurred_at=AT, contact_ids=("c1", "l1", "c2")),
        Activity("a2", "call", "inbound", "completed", occurred_at=AT, contact_ids=("l1",)),
        Activity("a3", "meeting", ends_at=AT, deal_ids=("d1",), contact_ids=("c1",)),
        Activity("a4", "note", occurred_at=AT, contact_ids=("c1",)),  # never two-way
        Activity("a5", "email", "inbound", occurred_at=AT, contact_ids=("c2",), is_deleted=True),
        Link("ocr1", deal_id="d1", contact_id="c1"),
    ]
    with open_state(orgs.location()) as state:
        with state.transaction():
            state.mirror.apply_page("contacts", records, (), 1, NAMES)
            state.people.redirect_converted_leads()
        chunk = state.people.load(["c1", "c2", "l1"])
    by_id = {p.bundle.contact.id: p.bundle for p in chunk.people}
    assert sorted(by_id) == ["c1", "c2"] and chunk.skipped == ["l1"]
    ann, bob = by_id["c1"], by_id["c2"]
    assert [a.id for a in ann.activities] == ["a1", "a3", "a2"]  # own links, then the lead's
    assert [a.id for a in bob.activities] == ["a1"]
    assert ann.activities[0] == bob.activities[0]
    assert ann.activities[1] == replace(records[7], contact_ids=())  # as pulled, links aside
    assert [d.id for d in ann.deals] == ["d1"] and [d.id for d in bob.deals] == ["d1"]
    assert ann.deals[0].stage_id == "closedwon" and ann.deals[0].contact_ids == ()
