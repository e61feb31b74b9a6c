"""CRM v3 objects through the real hubspot-api-client SDK: list paging, get, batch read and
update (200/207/400), create, archive, engagement properties (reference §1, §4.1, §10)."""

from __future__ import annotations

import json
import re

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException, NotFoundException
from hubspot.crm.contacts.models import (
    BatchResponseSimplePublicObject,
    BatchResponseSimplePublicObjectWithErrors,
)

from milestones.sandbox.hubspot.api import HubSpotServer

# Milliseconds, except on a whole second, which HubSpot prints without a fraction.
ISO_MS_Z = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{3})?Z$")


def _raw(hubspot: HubSpot, **kwargs: object) -> dict:
    resp = hubspot.crm.contacts.basic_api.get_page(_preload_content=False, **kwargs)
    return json.loads(resp.data)


def test_list_pages_of_100_until_paging_disappears(hubspot: HubSpot, hubspot_server) -> None:
    api = hubspot.crm.contacts.basic_api
    seen, after, pages = [], None, 0
    while True:
        page = api.get_page(limit=100, after=after)
        pages += 1
        seen += [r.id for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
    live = hubspot_server.world.count("person")
    assert len(seen) == len(set(seen)) == live and pages == -(-live // 100)
    assert len(hubspot.crm.contacts.get_all()) == live


def test_list_limit_above_100_is_clamped(hubspot: HubSpot) -> None:
    assert len(_raw(hubspot, limit=250)["results"]) == 100


def test_list_archived_true_returns_only_archived(hubspot: HubSpot, hubspot_server) -> None:
    page = hubspot.crm.contacts.basic_api.get_page(limit=100, archived=True)
    assert page.results and all(r.archived for r in page.results)
    assert len(page.results) == hubspot_server.world.count("person", archived=True)


def test_values_are_strings_or_null_and_timestamps_iso_ms_z(hubspot: HubSpot) -> None:
    names = ["email", "num_associated_deals", "no_such_prop", "hs_email_optout", "createdate"]
    body = _raw(hubspot, limit=100, properties=[*names, "phone"])
    for rec in body["results"]:
        assert isinstance(rec["id"], str) and rec["archived"] is False
        assert ISO_MS_Z.match(rec["createdAt"]) and ISO_MS_Z.match(rec["updatedAt"])
        props = rec["properties"]
        assert "no_such_prop" not in props and "phone" in props
        assert all(v is None or isinstance(v, str) for v in props.values())
        assert props["hs_email_optout"] in ("true", "false")
        assert ISO_MS_Z.match(props["createdate"])
    assert any(r["properties"]["phone"] is None for r in body["results"])
    stamps = [r["updatedAt"] for r in body["results"]]
    assert any(s.endswith(".000Z") for s in stamps) is False
    assert any("." not in s for s in stamps) and any("." in s for s in stamps)


def test_properties_accepted_repeated_or_comma_joined(hubspot_server: HubSpotServer) -> None:
    import urllib.request

    url = f"{hubspot_server.url}/crm/v3/objects/contacts?limit=1&properties=email,lastname"
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {hubspot_server.token}"})
    rec = json.load(urllib.request.urlopen(req))["results"][0]
    assert set(rec["properties"]) == {"email", "lastname"}


def test_inline_associations(hubspot: HubSpot, hubspot_server: HubSpotServer) -> None:
    world = hubspot_server.world
    deal = next(d for d in world.iter("deal") if len(d.contact_ids) > 1)
    got = hubspot.crm.deals.basic_api.get_by_id(str(deal.id), associations=["contacts"])
    ids = [a.id for a in got.associations["contacts"].results]
    assert sorted(ids) == sorted(str(i) for i in deal.contact_ids)
    person = world.get("person", deal.contact_ids[0])
    contact = hubspot.crm.contacts.basic_api.get_by_id(str(person.id), associations=["deals"])
    assert str(deal.id) in {a.id for a in contact.associations["deals"].results}


def test_get_unknown_id_raises_not_found(hubspot: HubSpot) -> None:
    with pytest.raises(NotFoundException) as exc:
        hubspot.crm.contacts.basic_api.get_by_id("999")
    assert json.loads(exc.value.body)["category"] == "OBJECT_NOT_FOUND"


def test_batch_read_207_names_missing_ids(hubspot: HubSpot, hubspot_server) -> None:
    ids = [str(i) for i in hubspot_server.world.ids("person")[:3]] + ["999"]
    req = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=i) for i in ids], properties=["email"],
        properties_with_history=[],
    )  # fmt: skip
    resp = hubspot.crm.contacts.batch_api.read(req)
    assert isinstance(resp, BatchResponseSimplePublicObjectWithErrors)
    assert resp.num_errors == 1 and resp.errors[0].category == "OBJECT_NOT_FOUND"
    assert resp.errors[0].context == {"ids": ["999"]}
    assert len(resp.results) == 3


def test_batch_read_over_100_inputs_is_400(hubspot: HubSpot) -> None:
    req = BatchReadInputSimplePublicObjectId(
        inputs=[SimplePublicObjectId(id=str(i)) for i in range(101)], properties=[],
        properties_with_history=[],
    )  # fmt: skip
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.read(req)
    assert exc.value.status == 400


def _created_property(hubspot: HubSpot) -> None:
    from hubspot.crm.properties import Option, PropertyCreate

    options = [Option(label=v, value=v, hidden=False, display_order=n)
               for n, v in enumerate(["target", "prospect", "client"])]  # fmt: skip
    hubspot.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(name="sales_milestone", label="Sales milestone", type="enumeration",
                       field_type="select", group_name="contactinformation", options=options),
    )  # fmt: skip


def _update(ids: list[int], props: dict) -> BatchInputSimplePublicObjectBatchInput:
    return BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=str(i), properties=props) for i in ids]
    )


def test_batch_update_writes_and_bumps_modified(hubspot: HubSpot, hubspot_server) -> None:
    _created_property(hubspot)
    world = hubspot_server.world
    ids = world.ids("person")[:100]
    before = {i: world.get("person", i).touched for i in ids if not world.get("person", i).archived}
    live = list(before)
    resp = hubspot.crm.contacts.batch_api.update(_update(live, {"sales_milestone": "prospect"}))
    assert isinstance(resp, BatchResponseSimplePublicObject) and resp.status == "COMPLETE"
    assert {r.properties["sales_milestone"] for r in resp.results} == {"prospect"}
    assert "lastmodifieddate" in resp.results[0].properties
    for i in live:
        assert world.get("person", i).extra["sales_milestone"] == "prospect"
        assert world.get("person", i).touched >= before[i]
    again = hubspot.crm.contacts.basic_api.get_by_id(str(live[0]), properties=["sales_milestone"])
    assert again.properties["sales_milestone"] == "prospect"


def test_batch_update_unknown_property_fails_whole_batch_400(hubspot: HubSpot, hubspot_server):
    ids = hubspot_server.world.ids("person")[:2]
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.update(_update(ids, {"no_such_field": "x"}))
    body = json.loads(exc.value.body)
    assert exc.value.status == 400 and body["category"] == "VALIDATION_ERROR"
    assert "PROPERTY_DOESNT_EXIST" in body["message"]
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.update(_update(ids, {"num_associated_deals": "3"}))
    assert exc.value.status == 400


def test_batch_update_invalid_option_and_limits(hubspot: HubSpot, hubspot_server) -> None:
    _created_property(hubspot)
    ids = hubspot_server.world.ids("person")
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.update(_update(ids[:1], {"sales_milestone": "emperor"}))
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.update(_update(ids[:101], {"firstname": "x"}))
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.update(_update([ids[0], ids[0]], {"firstname": "x"}))
    assert exc.value.status == 400


def test_batch_update_207_with_per_record_failures(hs_world) -> None:
    with HubSpotServer(hs_world, faults="record=0.5,seed=4") as srv:
        client = HubSpot(access_token=srv.token, host=srv.url)
        ids = [i for i in hs_world.ids("person") if not hs_world.get("person", i).archived][:40]
        resp = client.crm.contacts.batch_api.update(_update([*ids, 999], {"firstname": "Ann"}))
    assert isinstance(resp, BatchResponseSimplePublicObjectWithErrors)
    failed = [e for e in resp.errors if e.category == "CONFLICT"]
    missing = [e for e in resp.errors if e.category == "OBJECT_NOT_FOUND"]
    assert failed and missing[0].context == {"ids": ["999"]}
    assert len(resp.results) + len(failed) == 40 and resp.num_errors == len(resp.errors)
    for r in resp.results:
        assert hs_world.get("person", int(r.id)).first_name == "Ann"


def test_create_contact_201_and_archive_204(hubspot: HubSpot, hubspot_server) -> None:
    api = hubspot.crm.contacts.basic_api
    made = api.create(SimplePublicObjectInputForCreate(properties={"email": "new@x.example"}))
    assert made is not None and made.properties["email"] == "new@x.example"
    _, status, _ = api.archive_with_http_info(made.id)
    assert status == 204 and hubspot_server.world.get("person", int(made.id)).archived
    with pytest.raises(NotFoundException):
        api.get_by_id(made.id)
    assert api.get_by_id(made.id, archived=True).archived


def test_engagements_carry_direction_status_outcome(hubspot: HubSpot) -> None:
    objects = hubspot.crm.objects
    calls = objects.basic_api.get_page(
        "calls", limit=100, properties=["hs_call_direction", "hs_call_status",
                                        "hs_call_disposition", "hs_timestamp"],
        associations=["contacts"],
    )  # fmt: skip
    assert {c.properties["hs_call_direction"] for c in calls.results} == {"INBOUND", "OUTBOUND"}
    assert all(c.associations["contacts"].results for c in calls.results)
    emails = objects.emails.basic_api.get_page(limit=100, properties=["hs_email_direction"])
    assert "INCOMING_EMAIL" in {e.properties["hs_email_direction"] for e in emails.results}
    meetings = objects.meetings.basic_api.get_page(limit=100, properties=["hs_meeting_outcome"])
    assert "COMPLETED" in {m.properties["hs_meeting_outcome"] for m in meetings.results}
    for kind in ("notes", "tasks"):
        assert objects.basic_api.get_page(kind, limit=5).results


def test_deal_stage_write_closes_the_deal(hubspot: HubSpot, hubspot_server) -> None:
    from hubspot.crm.deals import SimplePublicObjectInput

    deal = next(d for d in hubspot_server.world.iter("deal") if d.stage == "appointmentscheduled")
    got = hubspot.crm.deals.basic_api.update(
        str(deal.id), SimplePublicObjectInput(properties={"dealstage": "closedwon"})
    )
    assert got.properties["dealstage"] == "closedwon"
    again = hubspot.crm.deals.basic_api.get_by_id(
        str(deal.id), properties=["hs_is_closed_won", "closedate", "hs_deal_stage_probability"]
    )
    assert again.properties["hs_is_closed_won"] == "true"
    assert again.properties["hs_deal_stage_probability"] == "1.0"


def test_inline_associations_are_paginated_per_type(hubspot: HubSpot, hubspot_server) -> None:
    world = hubspot_server.world
    person = next(iter(world.iter("person")))
    for _ in range(105):
        world.add_activity("email", [person.id], direction="EMAIL", status="SENT")
    got = hubspot.crm.contacts.basic_api.get_by_id(str(person.id), associations=["emails"])
    block = got.associations["emails"]
    assert len({a.id for a in block.results}) == 100 and block.paging.next.after == "100"
