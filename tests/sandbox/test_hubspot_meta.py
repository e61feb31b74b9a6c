"""Pipelines, properties, associations v4, owners and the inspection surface, through the
real SDK where one exists (reference §3, §4.2, §5, §10)."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
from hubspot import HubSpot
from hubspot.crm.associations.v4 import (
    BatchInputPublicFetchAssociationsBatchRequest,
    PublicFetchAssociationsBatchRequest,
)
from hubspot.crm.associations.v4.models import (
    BatchResponsePublicAssociationMultiWithLabel,
    BatchResponsePublicAssociationMultiWithLabelWithErrors,
)
from hubspot.crm.contacts import SimplePublicObjectInput
from hubspot.crm.properties import ModelProperty, PropertyCreate
from hubspot.crm.properties.exceptions import ApiException, NotFoundException

from milestones.sandbox.hubspot.api import HubSpotServer

STAGES = ["appointmentscheduled", "qualifiedtobuy", "presentationscheduled",
          "decisionmakerboughtin", "contractsent", "closedwon", "closedlost"]  # fmt: skip


def test_pipelines_default_stage_ids_and_string_metadata(hubspot: HubSpot) -> None:
    pipelines = hubspot.crm.pipelines.pipelines_api.get_all("deals").results
    default = next(p for p in pipelines if p.id == "default")
    assert [s.id for s in default.stages] == STAGES
    won = default.stages[5].metadata
    assert won == {"isClosed": "true", "probability": "1.0"}
    renewals = next(p for p in pipelines if p.id == "renewals")
    assert len(renewals.stages) == 5 and not set(s.id for s in renewals.stages) & set(STAGES)


def _milestone_property(name: str = "sales_milestone") -> PropertyCreate:
    return PropertyCreate(
        name=name, label="Sales milestone", type="enumeration", field_type="select",
        group_name="contactinformation",
        options=[{"label": v.title(), "value": v, "hidden": False, "displayOrder": n}
                 for n, v in enumerate(["target", "prospect", "opportunity", "client"])],
    )  # fmt: skip


def test_property_create_201_then_409_and_404_for_missing(hubspot: HubSpot) -> None:
    props = hubspot.crm.properties.core_api
    with pytest.raises(NotFoundException):
        props.get_by_name("contacts", "sales_milestone")
    created = props.create("contacts", _milestone_property())
    assert isinstance(created, ModelProperty) and created.name == "sales_milestone"
    assert props.get_by_name("contacts", "sales_milestone").options[1].value == "prospect"
    with pytest.raises(ApiException) as exc:
        props.create("contacts", _milestone_property())
    assert exc.value.status == 409
    assert json.loads(exc.value.body)["category"] == "OBJECT_ALREADY_EXISTS"
    names = [p.name for p in props.get_all("contacts").results]
    assert "sales_milestone" in names and "email" in names


def test_property_create_validation_and_builtin_clash(hubspot: HubSpot) -> None:
    props = hubspot.crm.properties.core_api
    bad = PropertyCreate(name="x", label="X", type="enumeration", field_type="select",
                         group_name="contactinformation")  # fmt: skip
    with pytest.raises(ApiException) as exc:
        props.create("contacts", bad)
    assert exc.value.status == 400
    with pytest.raises(ApiException) as exc:
        props.create("contacts", _milestone_property("email"))
    assert exc.value.status == 409


def _assoc_request(ids: list) -> BatchInputPublicFetchAssociationsBatchRequest:
    return BatchInputPublicFetchAssociationsBatchRequest(
        inputs=[PublicFetchAssociationsBatchRequest(id=str(i)) for i in ids]
    )


def test_associations_v4_batch_read_and_no_associations_found(hubspot, hubspot_server) -> None:
    world = hubspot_server.world
    with_deals = [p.id for p in world.iter("person") if world.deals_of(p.id)][:3]
    without = next(p.id for p in world.iter("person") if not world.deals_of(p.id))
    api = hubspot.crm.associations.v4.batch_api
    resp = api.get_page("contacts", "deals", _assoc_request([*with_deals, without]))
    assert isinstance(resp, BatchResponsePublicAssociationMultiWithLabelWithErrors)
    err = resp.errors[0]
    assert err.sub_category == "crm.associations.NO_ASSOCIATIONS_FOUND"
    assert err.context["fromObjectId"] == [str(without)]
    got = {r._from.id: {t.to_object_id for t in r.to} for r in resp.results}
    assert got == {str(p): {str(d) for d in world.deals_of(p)} for p in with_deals}
    assert resp.results[0].to[0].association_types[0].type_id == 4
    full = api.get_page("contacts", "deals", _assoc_request(with_deals))
    assert isinstance(full, BatchResponsePublicAssociationMultiWithLabel)


def test_associations_v4_raw_wire_and_input_cap(hubspot_server: HubSpotServer) -> None:
    world = hubspot_server.world
    person = next(p for p in world.iter("person") if world.activities_of(p.id, "email"))
    status, body = _post(hubspot_server, "/crm/v4/associations/contacts/emails/batch/read",
                         {"inputs": [{"id": str(person.id)}]})  # fmt: skip
    assert status == 200 and isinstance(body["results"][0]["to"][0]["toObjectId"], int)
    status, _ = _post(hubspot_server, "/crm/v4/associations/contacts/deals/batch/read",
                      {"inputs": [{"id": str(i)} for i in range(1001)]})  # fmt: skip
    assert status == 400


def _post(srv: HubSpotServer, path: str, payload: dict, auth: bool = True) -> tuple[int, dict]:
    headers = {"Content-Type": "application/json"}
    if auth:
        headers["Authorization"] = f"Bearer {srv.token}"
    req = urllib.request.Request(srv.url + path, json.dumps(payload).encode(), headers)
    try:
        with urllib.request.urlopen(req) as resp:
            return resp.status, json.load(resp)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def _get(srv: HubSpotServer, path: str, auth: bool = False) -> tuple[int, dict]:
    headers = {"Authorization": f"Bearer {srv.token}"} if auth else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(srv.url + path, headers=headers)) as r:
            return r.status, json.load(r)
    except urllib.error.HTTPError as exc:
        return exc.code, json.load(exc)


def test_unknown_object_type_is_404_and_owners_listed(hubspot, hubspot_server) -> None:
    from hubspot.crm.objects.exceptions import NotFoundException as ObjectNotFound

    with pytest.raises(ObjectNotFound):
        hubspot.crm.objects.basic_api.get_page("widgets")
    status, body = _get(hubspot_server, "/crm/v3/owners", auth=True)
    assert status == 200 and len(body["results"]) == 8


def test_inspection_over_http_mutates_and_counts(hubspot, hubspot_server) -> None:
    world = hubspot_server.world
    deal = next(d for d in world.iter("deal") if d.stage != "closedwon")
    hubspot.crm.contacts.basic_api.get_page(limit=5)
    status, stats = _get(hubspot_server, "/_sandbox/stats")
    assert status == 200 and stats["endpoints"] == {"GET /crm/v3/objects/contacts": 1}
    before = hubspot.crm.deals.basic_api.get_by_id(str(deal.id)).updated_at
    status, changed = _post(hubspot_server, "/_sandbox/mutate",
                            {"op": "move_deal", "deal_id": deal.id, "stage": "closedwon"},
                            auth=False)  # fmt: skip
    assert status == 200 and changed["api"]["properties"]["dealstage"] == "closedwon"
    after = hubspot.crm.deals.basic_api.get_by_id(str(deal.id))
    assert after.properties["dealstage"] == "closedwon" and after.updated_at > before
    person = deal.contact_ids[0]
    status, _ = _post(hubspot_server, "/_sandbox/mutate",
                      {"op": "add_inbound_email", "person_id": person}, auth=False)  # fmt: skip
    status, rec = _get(hubspot_server, f"/_sandbox/records/contacts/{person}")
    assert status == 200 and rec["world"]["touched"] == max(
        world.get("email", a).created for a in world.activities_of(person, "email")
    )
    assert _get(hubspot_server, "/_sandbox/records/person/1")[0] == 404
    assert _post(hubspot_server, "/_sandbox/mutate", {"op": "explode"}, auth=False)[0] == 400
    _post(hubspot_server, "/_sandbox/reset-stats", {}, auth=False)
    assert _get(hubspot_server, "/_sandbox/stats")[1]["total"] == 0
    _post(hubspot_server, "/_sandbox/settings", {"rate_limits": True}, auth=False)
    assert hubspot_server.rate_limits
    status, summary = _get(hubspot_server, "/_sandbox/world")
    assert summary["counts"]["person"]["live"] == world.count("person")


def test_python_inspection_api(hubspot_server: HubSpotServer) -> None:
    person = next(iter(hubspot_server.world.iter("person")))
    referred = hubspot_server.mutate("record_referral", referrer_id=person.id)
    assert referred["api"]["properties"]["referred_by"] == str(person.id)
    assert hubspot_server.record("contacts", referred["world"]["id"])["world"]["referred_by"]


def test_set_properties_mutation_and_written_counts(hubspot, hubspot_server) -> None:
    from hubspot.crm.contacts import SimplePublicObjectInput

    person = next(iter(hubspot_server.world.iter("person")))
    status, body = _post(hubspot_server, "/_sandbox/mutate", {
        "op": "set_properties", "type": "contacts", "id": person.id,
        "properties": {"lifecyclestage": "customer"}}, auth=False)  # fmt: skip
    assert status == 200 and body["api"]["properties"]["lifecyclestage"] == "customer"
    assert hubspot_server.stats()["records_written"] == {}  # the world changed, not the API
    hubspot.crm.contacts.basic_api.update(
        str(person.id), SimplePublicObjectInput(properties={"firstname": "Una"})
    )
    assert hubspot_server.stats()["records_written"] == {"contacts": 1}


def test_deal_and_company_associations_both_ways(hubspot, hubspot_server) -> None:
    world = hubspot_server.world
    email = next(e for e in world.iter("email") if e.deal_id is not None)
    api = hubspot.crm.associations.v4.batch_api
    to_deal = api.get_page("emails", "deals", _assoc_request([email.id]))
    assert [t.to_object_id for t in to_deal.results[0].to] == [str(email.deal_id)]
    back = api.get_page("deals", "emails", _assoc_request([email.deal_id]))
    assert str(email.id) in {t.to_object_id for t in back.results[0].to}
    deal = next(d for d in world.iter("deal") if d.company_id is not None)
    companies = api.get_page("companies", "deals", _assoc_request([deal.company_id]))
    assert str(deal.id) in {t.to_object_id for t in companies.results[0].to}


def test_property_group_create_201_then_409_and_read_back(hubspot: HubSpot) -> None:
    from hubspot.crm.properties import PropertyGroupCreate
    from hubspot.crm.properties.exceptions import ApiException as GroupApiException

    groups = hubspot.crm.properties.groups_api
    with pytest.raises(NotFoundException):
        groups.get_by_name("contacts", "milestones")
    created = groups.create("contacts", PropertyGroupCreate(name="milestones", label="Milestones"))
    assert created is not None and created.name == "milestones"
    assert groups.get_by_name("contacts", "milestones").label == "Milestones"
    assert groups.get_by_name("contacts", "contactinformation").name == "contactinformation"
    with pytest.raises(GroupApiException) as again:
        groups.create("contacts", PropertyGroupCreate(name="milestones", label="Milestones"))
    assert again.value.status == 409
    with pytest.raises(NotFoundException):
        groups.get_by_name("deals", "milestones")


# A real portal's contact schema (GET /crm/v3/schemas/CONTACT, recorded Feb 2022 in
# grouparoo/grouparoo's HubSpot plugin fixtures): name, type, fieldType, group, label,
# readOnlyValue, options; one property a line.
REAL_CONTACT_SCHEMA = Path(__file__).parent / "data" / "hubspot-contact-properties-2022.tsv"


def _real_contact_schema() -> dict[str, tuple[str, str, bool]]:
    """name -> (type, fieldType, read-only value) from a real portal's contact schema."""
    out = {}
    for line in REAL_CONTACT_SCHEMA.read_text().splitlines():
        name, ptype, field_type, _group, _label, read_only, *_ = line.split("\t")
        out[name] = (ptype, field_type, read_only == "True")
    return out


def test_default_contact_properties_match_a_real_portal(hubspot: HubSpot) -> None:
    real = _real_contact_schema()
    served = hubspot.crm.properties.core_api.get_all("contacts").results
    compared = {
        p.name: (p.type, p.field_type, p.modification_metadata.read_only_value)
        for p in served
        if p.name in real
    }
    assert len(compared) >= 20  # every default property the sandbox serves, nearly
    assert compared == {name: real[name] for name in compared}


def test_company_name_is_writable_text(hubspot: HubSpot, hubspot_server: HubSpotServer) -> None:
    pid = str(hubspot_server.world.ids("person")[0])
    api = hubspot.crm.contacts.basic_api
    api.update(pid, SimplePublicObjectInput(properties={"company": "Acme Trading"}))
    assert api.get_by_id(pid, properties=["company"]).properties["company"] == "Acme Trading"
