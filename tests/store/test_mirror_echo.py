"""A pulled record that changed only because we wrote it is stored, but marks no one dirty."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from milestones.mapping.fields import Change, FieldKey
from milestones.mapping.records import Activity, Contact, Deal, Link
from milestones.store import codec, echo
from milestones.store.location import open_state
from milestones.store.sqlite import Store
from pg_support import Orgs

AT = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
LATER = AT + timedelta(minutes=3)
NAMES: dict[FieldKey, str] = {
    "milestone": "sales_milestone",
    "is_advocate": "sales_advocate",
    "deal_milestone": "deal_stage_milestone",
}
ANN = Contact(
    "c1",
    email="ann@example.com",
    owner_id="o1",
    modified_at=AT,
    referred_by="c9",
    properties={"sales_milestone": None, "sales_advocate": None, "nps": "9", "ref": "c9"},
    property_set_at={"nps": AT},
)
DEAL = Deal(
    "d1",
    stage_id="open",
    modified_at=AT,
    contact_ids=("c1", "c2"),
    properties={"deal_stage_milestone": None, "amount_band": "S"},
)
WRITTEN = {"milestone": "prospect", "is_advocate": "false"}  # what the last run wrote on ANN
ECHO = replace(
    ANN,
    modified_at=LATER,
    properties={**ANN.properties, "sales_milestone": "prospect", "sales_advocate": "false"},
)


def _dirty(state: Store) -> tuple[list[str], list[str]]:
    people = [i for ids in state.people.dirty_people(100) for i in ids]
    deals = [i for ids in state.people.dirty_deals(100) for i in ids]
    return people, deals


def _written_then_pulled(orgs: Orgs, page: Sequence[Any], kind: str = "contacts") -> Store:
    """A state holding ANN, Bob (referred by nobody), the deal and a link, with our values
    written on ANN and the deal and nothing dirty; then ``page`` pulled. Open: the caller
    closes it."""
    state = open_state(orgs.location())
    bob = Contact("c2", email="bob@example.com", modified_at=AT)
    referrer = Contact("c9", email="cy@example.com", modified_at=AT)
    with state.transaction():
        state.mirror.apply_page("contacts", [ANN, bob, referrer], (), 1, NAMES)
        state.mirror.apply_page("deals", [DEAL, Link("k1", "d1", "c1", AT)], (), 1, NAMES)
        ours: dict[FieldKey, str | None] = {"deal_milestone": "opportunity"}
        state.outbox.plan([Change("contact", "c1", WRITTEN), Change("deal", "d1", ours)], 1, "t")
        state.outbox.record("contact", ["c1"], [], 1, "t")
        state.outbox.record("deal", ["d1"], [], 1, "t")
        state.people.save_people([], ["c1", "c2", "c9"])
        state.people.save_deals({}, ["d1"])
    assert _dirty(state) == ([], [])
    with state.transaction():
        state.mirror.apply_page(kind, page, (), 2, NAMES)
    return state


@pytest.mark.parametrize(
    ("pulled", "dirty"),
    [
        (ECHO, []),  # modified time and our values moved, to what we wrote
        # A change marks the person and, as always, their referrer (c9).
        (ANN, ["c1", "c9"]),  # our values back to what they were: someone undid our write
        (replace(ECHO, modified_at=AT), []),  # the echo read again by the cursor's lookback
        (replace(ECHO, properties={**ECHO.properties, "sales_advocate": "true"}), ["c1", "c9"]),
        (replace(ECHO, properties={**ECHO.properties, "nps": "3"}), ["c1", "c9"]),
        (replace(ECHO, owner_id="o2"), ["c1", "c9"]),
        (replace(ECHO, company_id="a1"), ["c1", "c9"]),
        (replace(ECHO, email="ann@example.org"), ["c1", "c9"]),
        (replace(ECHO, property_set_at={"nps": AT, "sales_milestone": LATER}), []),
        (replace(ECHO, property_set_at={"nps": LATER}), ["c1", "c9"]),
        (replace(ECHO, property_set_at={}), ["c1", "c9"]),
        (
            replace(ECHO, referred_by="c2", properties={**ECHO.properties, "ref": "c2"}),
            ["c1", "c2", "c9"],
        ),
        (replace(ECHO, kind="lead", converted_to="c2"), ["c1", "c2", "c9"]),
        (replace(ECHO, is_deleted=True), ["c1", "c9"]),
    ],
)
def test_only_an_echo_of_our_write_marks_no_one(
    orgs: Orgs, pulled: Contact, dirty: list[str]
) -> None:
    with _written_then_pulled(orgs, [pulled]) as state:
        assert _dirty(state) == (dirty, [])
        if not pulled.is_deleted:  # stored as pulled, echo or not, with the CRM's values
            stored = state.mirror.contacts(["c1"])["c1"]
            assert codec.encode_contact(stored) == codec.encode_contact(pulled)
            held = {k: pulled.properties.get(NAMES[k]) for k in ("milestone", "is_advocate")}
            if not pulled.converted_to:  # a converted lead is never loaded
                assert state.people.load(["c1"]).people[0].crm == held


def test_a_record_with_a_write_waiting_is_derived_again(orgs: Orgs) -> None:
    # A refused write is planned again once the record moves on, whatever moved it.
    with open_state(orgs.location()) as state:
        with state.transaction():
            state.mirror.apply_page("contacts", [ANN], (), 1, NAMES)
            state.outbox.plan([Change("contact", "c1", WRITTEN)], 1, "t")
            state.outbox.record("contact", ["c1"], [], 1, "t")
            state.outbox.plan([Change("contact", "c1", {"milestone": "client"})], 1, "t")
            state.people.save_people([], ["c1"])
            state.mirror.apply_page("contacts", [ECHO], (), 2, NAMES)
        assert _dirty(state) == (["c1"], [])


DEAL_ECHO = replace(
    DEAL,
    modified_at=LATER,
    properties={**DEAL.properties, "deal_stage_milestone": "opportunity"},
)


@pytest.mark.parametrize(
    ("pulled", "dirty"),
    [
        ([DEAL_ECHO], ([], [])),
        ([DEAL_ECHO, Link("k1", "d1", "c1", LATER)], ([], [])),  # its link, read again
        ([replace(DEAL_ECHO, stage_id="won")], (["c1", "c2"], ["d1"])),
        ([replace(DEAL_ECHO, contact_ids=("c1",))], (["c1", "c2"], ["d1"])),
        ([replace(DEAL_ECHO, contact_ids=("c1", "c2", "c9"))], (["c1", "c2", "c9"], ["d1"])),
        ([replace(DEAL, modified_at=LATER)], (["c1", "c2"], ["d1"])),  # our value overwritten
        ([Link("k1", "d1", "c2", LATER)], (["c1", "c2"], [])),  # the link moved to Bob
        ([Link("k1", "d1", "c1", LATER, is_deleted=True)], (["c1"], [])),
    ],
)
def test_only_an_echo_of_a_deal_write_marks_no_one(
    orgs: Orgs, pulled: list[Any], dirty: tuple[list[str], list[str]]
) -> None:
    with _written_then_pulled(orgs, pulled, "deals") as state:
        assert _dirty(state) == dirty


def test_a_first_pull_marks_everyone(orgs: Orgs) -> None:
    # Nothing stored: no comparison, every record is new (the general path).
    page = [ECHO, Contact("c2"), DEAL_ECHO]
    with open_state(orgs.location()) as state:
        with state.transaction():
            state.mirror.apply_page("contacts", page, (), 1, NAMES)
        assert _dirty(state) == (["c1", "c2"], ["d1"])


def test_the_layout_positions_the_comparison_masks() -> None:
    contact = json.loads(codec.encode_contact(ECHO))
    deal = json.loads(codec.encode_deal(DEAL_ECHO))
    assert contact[echo.CONTACT[0]] == LATER.isoformat() == deal[echo.DEAL[0]]
    assert contact[codec.PROPERTIES]["sales_milestone"] == "prospect"
    assert contact[echo.CONTACT[1]] == {"nps": AT.isoformat()}
    assert deal[codec.PROPERTIES]["deal_stage_milestone"] == "opportunity"


def test_a_converted_lead_showing_its_contacts_values_marks_no_one(orgs: Orgs) -> None:
    # We never write a converted lead (its Contact is derived and written), so its values
    # of our fields are not compared; the rest of it still is.
    lead = Contact("l1", kind="lead", converted_to="c2", modified_at=AT, properties=ANN.properties)
    shows = replace(lead, modified_at=LATER, properties=ECHO.properties)
    with _written_then_pulled(orgs, [lead]) as state:
        with state.transaction():
            state.people.save_people([], ["c2", "l1"])
            state.mirror.apply_page("contacts", [shows], (), 3, NAMES)
        assert _dirty(state) == ([], [])
        with state.transaction():
            state.mirror.apply_page("contacts", [replace(shows, owner_id="o2")], (), 4, NAMES)
        assert _dirty(state) == (["c2", "l1"], [])


CALL = Activity(
    "a1", "call", "inbound", "completed", occurred_at=AT, modified_at=AT, contact_ids=("c1",)
)


@pytest.mark.parametrize(
    ("pulled", "dirty"),
    [
        (replace(CALL, modified_at=LATER), []),  # read again: a roll-up of a written contact
        (replace(CALL, status="no_answer"), ["c1"]),
        (replace(CALL, contact_ids=("c2",)), ["c1", "c2"]),
        (replace(CALL, deal_ids=("d1",)), ["c1"]),
        (replace(CALL, is_deleted=True), ["c1"]),
    ],
)
def test_only_a_change_of_an_activity_marks_its_people(
    orgs: Orgs, pulled: Activity, dirty: list[str]
) -> None:
    with open_state(orgs.location()) as state:
        with state.transaction():
            state.mirror.apply_page("activities", [CALL], (), 1, NAMES)
            state.people.save_people([], ["c1"])
            state.mirror.apply_page("activities", [pulled], (), 2, NAMES)
        assert _dirty(state) == (dirty, [])
