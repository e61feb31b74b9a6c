"""Pulls from the HubSpot sandbox over HTTP through the real SDK: exact, complete, countable."""

from __future__ import annotations

import json
import math
from collections import Counter
from datetime import UTC, datetime, timedelta
from typing import Any

from hubspot_support import HUBSPOT_SPEC, MakeConnector, collect, full_window

from milestones.connectors.base import Window
from milestones.connectors.hubspot.paging import NOT_IN_MAX, SEARCH_LIMIT, URL_BUDGET
from milestones.connectors.hubspot.pull import ASSOCIATION_BATCH
from milestones.connectors.hubspot.records import PropertyPlan, url_length
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.mapping.records import Activity, Contact, Deal
from milestones.sandbox.hubspot.api import MAX_TARGET, HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

ENGAGEMENTS = {"emails": "email", "calls": "call", "meetings": "meeting", "notes": "note"}


def _ms(moment: datetime) -> int:
    return int(moment.timestamp() * 1000)


def _live(world: World, kind: str) -> dict[str, Any]:
    return {str(r.id): r for r in world.iter(kind)}


def _linked(world: World, kind: str, ids: Any) -> set[str]:
    """The ids still associated: archived records drop out of association reads."""
    found = (world.get(kind, i) for i in ids or ())
    return {str(r.id) for r in found if r is not None and not r.archived}


def test_full_pull_equals_the_sandbox(make_hubspot: MakeConnector, hubspot_world: World) -> None:
    connector = make_hubspot()
    window = full_window()
    contacts, deleted, _ = collect(connector.pull("contacts", window))
    people = _live(hubspot_world, "person")
    assert sorted(c.id for c in contacts) == sorted(people)
    archived = {str(r.id) for r in hubspot_world.iter("person", archived=True)}
    assert archived and archived <= set(deleted)
    sample = next(c for c in contacts if isinstance(c, Contact) and c.lead_status)
    person = people[sample.id]
    assert (sample.email, sample.lead_status) == (person.email, person.lead_status)
    assert sample.is_opted_out == bool(person.opted_out)

    deals, deleted_deals, _ = collect(connector.pull("deals", window))
    live_deals = _live(hubspot_world, "deal")
    assert sorted(d.id for d in deals) == sorted(live_deals)
    for deal in deals:
        assert isinstance(deal, Deal)
        assert set(deal.contact_ids) == _linked(
            hubspot_world, "person", live_deals[deal.id].contact_ids
        )
        assert deal.stage_id == live_deals[deal.id].stage
    assert {str(r.id) for r in hubspot_world.iter("deal", archived=True)} == set(deleted_deals)

    activities, _, _ = collect(connector.pull("activities", window))
    expected = {}
    for kind in ENGAGEMENTS.values():
        expected.update(_live(hubspot_world, kind))
    assert sorted(a.id for a in activities) == sorted(expected)
    for activity in activities:
        assert isinstance(activity, Activity)
        source = expected[activity.id]
        assert set(activity.contact_ids) == _linked(hubspot_world, "person", source.contact_ids)
        deal_ids = [source.deal_id] if source.deal_id else []
        assert set(activity.deal_ids) == _linked(hubspot_world, "deal", deal_ids)
        if activity.kind == "call":
            assert activity.direction == source.direction.lower()
            assert activity.status == (source.status or "").lower() or None


def _expected_full_calls(world: World) -> int:
    """The paging arithmetic: list pages, archived pages and association reads per group."""

    def pages(n: int) -> int:
        return max(1, math.ceil(n / 100))

    def groups(n: int) -> int:  # association reads: one per 1,000 records (10 list pages)
        return math.ceil(pages(n) * 100 / ASSOCIATION_BATCH) if n else 0

    calls = 1  # the stage catalogue
    for kind in ("person", "deal", *ENGAGEMENTS.values()):
        calls += pages(world.count(kind)) + pages(world.count(kind, archived=True))
    calls += groups(world.count("deal"))
    calls += sum(2 * groups(world.count(kind)) for kind in ENGAGEMENTS.values())
    return calls


def test_request_count_of_a_full_pull_is_the_paging_arithmetic(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    connector = make_hubspot()
    window = full_window()
    for kind in connector.kinds:
        collect(connector.pull(kind, window))
    expected = _expected_full_calls(hubspot_world)
    assert connector.usage().total == expected
    assert hubspot_server.stats()["total"] == expected
    assert connector.usage().rate_limited == 0


def test_incremental_pull_returns_exactly_what_changed(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    connector = make_hubspot()
    connector.stages()
    since = datetime.now(UTC)
    people = sorted(int(i) for i in _live(hubspot_world, "person"))
    for pid in people[:7]:
        hubspot_server.mutate("update", kind="person", id=pid, values={"first_name": "Ada"})
    deal_id = next(iter(hubspot_world.iter("deal"))).id
    hubspot_server.mutate("move_deal", deal_id=deal_id, stage="closedwon")
    email = hubspot_server.mutate("add_inbound_email", person_id=people[10])
    assert email is not None
    until = datetime.now(UTC) + timedelta(milliseconds=5)
    window = Window(since=since, until=until)
    hubspot_server.reset_stats()

    def changed(kind: str) -> set[str]:
        return {
            str(r.id) for r in hubspot_world.iter(kind) if _ms(since) <= r.touched <= _ms(until)
        }

    contacts, _, _ = collect(connector.pull("contacts", window))
    assert sorted(c.id for c in contacts) == sorted(changed("person"))
    assert {str(p) for p in people[:7]} <= {c.id for c in contacts}
    deals, _, _ = collect(connector.pull("deals", window))
    assert sorted(d.id for d in deals) == sorted(changed("deal"))
    assert next(d for d in deals if d.id == str(deal_id)).is_won is True
    activities, _, _ = collect(connector.pull("activities", window))
    [reply] = activities
    assert (reply.kind, reply.direction) == ("email", "inbound")
    assert reply.contact_ids == (str(people[10]),)
    # one search per type (and the associations the changed ones need)
    endpoints = hubspot_server.stats()["endpoints"]
    searches = {k: v for k, v in endpoints.items() if k.endswith("/search")}
    types = ("contacts", "deals", *ENGAGEMENTS)
    assert searches == {f"POST /crm/objects/2026-09/{t}/search": 1 for t in types}


def test_ten_thousand_changes_and_edits_during_the_pull(make_hubspot: MakeConnector) -> None:
    world = generate_world(seed=3, contacts=10_300)
    with HubSpotServer(world) as server:
        connector = make_hubspot(server, search_per_second=1000)
        until = datetime.now(UTC) - timedelta(milliseconds=2)
        window = Window(since=datetime(2000, 1, 1, tzinfo=UTC), until=until)
        before = {str(r.id) for r in world.iter("person") if r.touched <= _ms(until)}
        assert len(before) > 10_000
        ids = sorted(int(i) for i in before)
        edited: set[str] = set()
        got: list[str] = []
        for number, page in enumerate(connector.pull("contacts", window)):
            got.extend(r.id for r in page.records)
            if number in (1, 20):  # edit records already read and records still ahead
                for pid in (ids[5 + number], ids[-5 - number], ids[5000 + number]):
                    world.update("person", pid, {"first_name": "Edited"})
                    edited.add(str(pid))
        assert len(got) == len(set(got)), "no record twice"
        assert set(got) - edited == before - edited, "every untouched record, nothing else"
        # keyset paging: no offset, so no 10,000 cap and no 400
        assert server.stats()["statuses"].get("400") is None
        # Paging arithmetic: one call per 200 records, plus, for each bulk tie too big for
        # NOT_IN (> 100 records on one millisecond), at most two calls re-reading it by id.
        stamps = Counter(world.get("person", int(i)).touched for i in before - edited)
        bulk_ties = sum(1 for n in stamps.values() if n > NOT_IN_MAX)
        floor = math.ceil(len(got) / SEARCH_LIMIT)
        assert floor <= connector.usage().calls["search"] <= floor + 2 * bulk_ties


def test_resume_after_a_crash_rereads_at_most_one_page(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    connector = make_hubspot()
    window = full_window()
    pages = connector.pull("activities", window)
    first = [next(pages) for _ in range(7)]
    token = first[-1].resume
    assert token is not None and json.loads(token)["pos"] is not None  # mid-segment
    pages.close()  # the crash
    read_before = [r.id for p in first for r in p.records]
    rest, _, _ = collect(make_hubspot().pull("activities", window, resume=token))
    everything = read_before + [r.id for r in rest]
    assert len(everything) == len(set(everything))
    expected = set()
    for kind in ENGAGEMENTS.values():
        expected |= set(_live(hubspot_world, kind))
    assert set(everything) == expected


def test_rollups_mode_reads_contact_dates_instead_of_engagements(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    connector = make_hubspot(
        activities="rollups", rollup_properties=["hs_feedback_last_survey_date"]
    )
    assert connector.kinds == ("contacts", "deals")
    records, _, _ = collect(connector.pull("contacts", full_window()))
    synthesized = [r for r in records if isinstance(r, Activity)]
    surveyed = [r for r in hubspot_world.iter("person") if r.nps_ms]
    assert len(synthesized) == len(surveyed) > 0
    assert all(
        a.direction == "inbound" and a.id.endswith(":hs_feedback_last_survey_date")
        for a in synthesized
    )
    assert not any("emails" in k for k in hubspot_server.stats()["endpoints"])


def test_merged_contacts_are_reported_deleted_even_incrementally(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    people = sorted(int(i) for i in _live(hubspot_world, "person"))
    since = datetime.now(UTC)
    hubspot_server.mutate("merge", survivor_id=people[0], merged_id=people[1])
    window = Window(since=since, until=datetime.now(UTC) + timedelta(milliseconds=5))
    records, deleted, _ = collect(make_hubspot().pull("contacts", window))
    assert str(people[0]) in {r.id for r in records}
    assert str(people[1]) in deleted


def test_a_long_property_list_goes_in_request_bodies_not_the_url(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    many = tuple(f"custom_property_number_{i:04d}" for i in range(400))  # ~12,000 characters
    spec = HUBSPOT_SPEC.model_copy(update={"extra_properties": ("referred_by", *many)})
    contacts, _, _ = collect(make_hubspot(spec=spec).pull("contacts", full_window()))
    assert sorted(c.id for c in contacts) == sorted(_live(hubspot_world, "person"))
    assert all("custom_property_number_0399" in c.properties for c in contacts)
    endpoints = hubspot_server.stats()["endpoints"]
    live_pages = math.ceil(hubspot_world.count("person") / 100)
    assert endpoints["POST /crm/objects/2026-09/contacts/batch/read"] == live_pages
    assert hubspot_server.stats()["statuses"].get("414") is None


def test_the_list_url_stays_under_the_limit_up_to_the_switch_to_batch_reads(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer
) -> None:
    def spec_with(names: list[str]) -> Any:
        extra = (*HUBSPOT_SPEC.extra_properties, *names)
        return HUBSPOT_SPEC.model_copy(update={"extra_properties": extra})

    def length(names: list[str]) -> int:
        settings = HubSpotSettings(access_token="x")
        return url_length(PropertyPlan.build(settings, spec_with(names)).contacts)

    many: list[str] = []
    while length([*many, f"custom_property_number_{len(many):04d}"]) <= URL_BUDGET:
        many.append(f"custom_property_number_{len(many):04d}")
    assert URL_BUDGET - 40 < length(many) <= URL_BUDGET
    spec = spec_with(many)
    collect(make_hubspot(spec=spec).pull("contacts", full_window()))
    stats = hubspot_server.stats()
    assert not any("batch/read" in name for name in stats["endpoints"])  # the list URL held
    assert stats["statuses"].get("414") is None
    # The budget leaves room for the path, limit and after cursor under HubSpot's limit.
    assert URL_BUDGET + 200 < MAX_TARGET


def test_a_token_from_a_full_pull_restarts_an_incremental_one_cleanly(
    make_hubspot: MakeConnector, hubspot_world: World
) -> None:
    token = json.dumps({"type": "calls", "phase": "archived", "pos": "123"})
    window = Window(since=datetime.now(UTC) - timedelta(days=3650), until=full_window().until)
    records, _, _ = collect(make_hubspot().pull("activities", window, resume=token))
    expected = {k for kind in ("call", "meeting", "note") for k in _live(hubspot_world, kind)}
    assert {r.id for r in records} == expected


def test_times_on_a_whole_second_come_without_a_fraction_and_are_read(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    person = next(p for p in hubspot_world.iter("person") if not p.archived)
    at = (hubspot_world.anchor_ms // 1000 + 7200) * 1000  # a whole second, after the rest
    hubspot_world.clock = lambda: at
    email = hubspot_world.add_inbound_email(person.id)
    since = datetime.fromtimestamp(at / 1000, UTC)
    assert hubspot_server.render("person", person)["updatedAt"] == since.strftime(
        "%Y-%m-%dT%H:%M:%SZ"
    )
    window = Window(since=since, until=since + timedelta(seconds=1))
    connector = make_hubspot()
    contacts, _, _ = collect(connector.pull("contacts", window))
    assert [c.modified_at for c in contacts if c.id == str(person.id)] == [since]
    activities, _, _ = collect(connector.pull("activities", window))
    assert [a.occurred_at for a in activities if a.id == str(email.id)] == [since]
