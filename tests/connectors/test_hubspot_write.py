"""Write-back and field creation against the HubSpot sandbox, through the real SDK."""

from __future__ import annotations

import math

import pytest
from hubspot_support import MakeConnector

from milestones.mapping.fields import Change
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.store import World


def _value(server: HubSpotServer, kind: str, rid: str, name: str) -> str | None:
    record = server.record(kind, rid)
    assert record is not None
    return record["api"]["properties"].get(name)


@pytest.fixture
def people(hubspot_world: World) -> list[str]:
    return [str(r.id) for r in hubspot_world.iter("person")]


def test_field_creation_is_idempotent_with_a_dry_run(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer
) -> None:
    connector = make_hubspot()
    planned = connector.ensure_fields(dry_run=True)
    assert {(f.object_kind, f.action) for f in planned} == {
        ("contact", "would_create"),
        ("deal", "would_create"),
    }
    assert len(planned) == 8
    assert "sales_milestone" not in hubspot_server.world.defined_fields["person"]

    created = connector.ensure_fields(dry_run=False)
    assert [f.action for f in created] == ["created"] * 8
    assert all(f.exists and f.is_writable and f.problem is None for f in created)
    milestone = hubspot_server.world.defined_fields["person"]["sales_milestone"]
    assert milestone["groupName"] == "milestones" and milestone["type"] == "enumeration"
    assert [o["value"] for o in milestone["options"]][-1] == "advocate"

    hubspot_server.reset_stats()
    again = connector.ensure_fields(dry_run=False)
    assert [f.action for f in again] == ["none"] * 8
    endpoints = hubspot_server.stats()["endpoints"]
    assert endpoints == {
        "GET /crm/properties/2026-09/contacts": 1,
        "GET /crm/properties/2026-09/deals": 1,
    }  # two reads, no create


def test_batches_of_100_land_and_207_errors_map_to_their_records(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, people: list[str]
) -> None:
    connector = make_hubspot()
    connector.ensure_fields(dry_run=False)
    hubspot_server.configure(faults="record=0.1,seed=4")
    hubspot_server.reset_stats()
    changes = [
        Change("contact", rid, {"milestone": "prospect", "disqualified": "false"})
        for rid in people[:150]
    ]
    changes.append(Change("contact", "2999999", {"milestone": "client"}))  # no such contact
    results = connector.write(changes)
    assert [r.record_id for r in results] == [c.record_id for c in changes]
    failed = {r.record_id: r for r in results if not r.ok}
    # Seed 4 fails 17 of the 150 records on their own (the sandbox counts what it injected);
    # the 151st change names no contact.
    assert hubspot_server.stats()["faults"]["injected"]["record"] == 17
    assert len(failed) == 17 + 1
    assert failed.pop("2999999").code == "OBJECT_NOT_FOUND"
    assert all(r.code == "CONFLICT" and r.is_retryable for r in failed.values())
    for rid in people[:150]:
        expected = None if rid in failed else "prospect"
        assert _value(hubspot_server, "contacts", rid, "sales_milestone") == expected
    assert hubspot_server.stats()["endpoints"] == {
        "POST /crm/objects/2026-09/contacts/batch/update": 2
    }


def test_a_batch_rejected_whole_is_split_so_the_good_records_land(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, people: list[str]
) -> None:
    connector = make_hubspot()
    connector.ensure_fields(dry_run=False)
    hubspot_server.reset_stats()
    changes = [Change("contact", rid, {"milestone": "client"}) for rid in people[:100]]
    changes[37] = Change("contact", people[37], {"milestone": "royalty"})  # not an option
    results = connector.write(changes)
    bad = [r for r in results if not r.ok]
    assert [r.record_id for r in bad] == [people[37]]
    assert bad[0].code == "VALIDATION_ERROR" and "royalty" in (bad[0].message or "")
    assert not bad[0].is_retryable
    assert _value(hubspot_server, "contacts", people[36], "sales_milestone") == "client"
    assert _value(hubspot_server, "contacts", people[37], "sales_milestone") is None
    calls = hubspot_server.stats()["total"]
    assert calls <= 1 + 2 * math.ceil(math.log2(100))  # halving finds one bad record


def test_none_clears_a_field_and_deals_get_their_milestone(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, people: list[str]
) -> None:
    connector = make_hubspot()
    connector.ensure_fields(dry_run=False)
    deal = str(next(iter(hubspot_server.world.iter("deal"))).id)
    first = connector.write(
        [
            Change("contact", people[0], {"milestone": "advocate", "advocate_since": "2026-01-02"}),
            Change("deal", deal, {"deal_milestone": "opportunity"}),
        ]
    )
    assert all(r.ok for r in first)
    assert _value(hubspot_server, "deals", deal, "deal_milestone") == "opportunity"
    [cleared] = connector.write([Change("contact", people[0], {"advocate_since": None})])
    assert cleared.ok
    assert _value(hubspot_server, "contacts", people[0], "advocate_since") in (None, "")
    assert _value(hubspot_server, "contacts", people[0], "sales_milestone") == "advocate"
    [lead] = connector.write([Change("lead", "1", {"milestone": "client"})])
    assert not lead.ok and not lead.is_retryable


def test_lifecycle_mirror_moves_backwards_only_when_allowed(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, people: list[str]
) -> None:
    mirror = {"client": "customer", "advocate": "evangelist"}
    connector = make_hubspot(lifecycle_mirror=mirror, lifecycle_allow_backwards=True)
    connector.ensure_fields(dry_run=False)
    rid = people[3]
    hubspot_server.mutate("update", kind="person", id=int(rid), values={"lifecycle": "evangelist"})
    hubspot_server.reset_stats()
    [result] = connector.write([Change("contact", rid, {"milestone": "client"})])
    assert result.ok
    assert _value(hubspot_server, "contacts", rid, "lifecyclestage") == "customer"
    endpoints = hubspot_server.stats()["endpoints"]
    assert endpoints["POST /crm/objects/2026-09/contacts/batch/update"] == 2  # clear, then set
    # forward moves need no clearing
    hubspot_server.reset_stats()
    [result] = connector.write([Change("contact", rid, {"milestone": "advocate"})])
    assert result.ok and _value(hubspot_server, "contacts", rid, "lifecyclestage") == "evangelist"
    assert (
        hubspot_server.stats()["endpoints"]["POST /crm/objects/2026-09/contacts/batch/update"] == 1
    )


def test_a_write_to_a_merged_away_contact_lands_on_the_merged_record_and_is_no_failure(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, people: list[str]
) -> None:
    connector = make_hubspot()
    connector.ensure_fields(dry_run=False)
    merged = hubspot_server.world.merge_as_new(int(people[0]), int(people[1]))
    changes = [
        Change("contact", people[1], {"milestone": "client"}),
        Change("contact", people[2], {"milestone": "prospect"}),
    ]
    results = connector.write(changes)
    assert [(r.record_id, r.ok) for r in results] == [(people[1], True), (people[2], True)]
    assert results[0].code == "MERGED"
    assert _value(hubspot_server, "person", str(merged.id), "sales_milestone") == "client"
