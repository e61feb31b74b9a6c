"""Creates and property value encoding of written fields, through the real SDK."""

from __future__ import annotations

import json

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInputForCreate,
    BatchReadInputSimplePublicObjectId,
    SimplePublicObjectId,
    SimplePublicObjectInputForCreate,
)
from hubspot.crm.contacts.exceptions import ApiException
from hubspot.crm.contacts.models import BatchResponseSimplePublicObject
from hubspot.crm.properties import PropertyCreate
from urllib3.util.retry import Retry

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world


def _define(hubspot: HubSpot, name: str, type_: str, field_type: str, **kw: object) -> None:
    hubspot.crm.properties.core_api.create(
        "contacts",
        PropertyCreate(name=name, label=name, type=type_, field_type=field_type,
                       group_name="contactinformation", **kw),
    )  # fmt: skip


def _write_read(hubspot: HubSpot, pid: int, props: dict) -> dict:
    from hubspot.crm.contacts import SimplePublicObjectInput

    hubspot.crm.contacts.basic_api.update(str(pid), SimplePublicObjectInput(properties=props))
    got = hubspot.crm.contacts.basic_api.get_by_id(str(pid), properties=list(props))
    return got.properties


def test_written_values_read_back_as_hubspot_encodes_them(hubspot: HubSpot, hubspot_server):
    _define(hubspot, "sales_milestone_date", "date", "date")
    _define(hubspot, "is_advocate", "bool", "booleancheckbox",
            options=[{"label": "Yes", "value": "true", "hidden": False},
                     {"label": "No", "value": "false", "hidden": False}])  # fmt: skip
    _define(hubspot, "advocate_checked_at", "datetime", "date")
    pid = next(iter(hubspot_server.world.iter("person"))).id
    got = _write_read(hubspot, pid, {"sales_milestone_date": "2026-03-01", "is_advocate": True,
                                     "advocate_checked_at": "1772323200000"})  # fmt: skip
    assert got == {"sales_milestone_date": "2026-03-01", "is_advocate": "true",
                   "advocate_checked_at": "2026-03-01T00:00:00Z"}  # fmt: skip
    assert _write_read(hubspot, pid, {"sales_milestone_date": "1772323200000"}) == {
        "sales_milestone_date": "2026-03-01"
    }
    assert _write_read(hubspot, pid, {"is_advocate": ""}) == {"is_advocate": None}  # cleared
    with pytest.raises(ApiException) as exc:
        _write_read(hubspot, pid, {"sales_milestone_date": "1772323200001"})
    assert exc.value.status == 400


def test_batch_create_201_and_create_with_associations(hubspot: HubSpot, hubspot_server) -> None:
    batch = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[SimplePublicObjectInputForCreate(properties={"email": f"b{i}@x.example"})
                for i in range(3)]
    )  # fmt: skip
    resp = hubspot.crm.contacts.batch_api.create(batch)
    assert isinstance(resp, BatchResponseSimplePublicObject) and len(resp.results) == 3
    bad = BatchInputSimplePublicObjectBatchInputForCreate(
        inputs=[SimplePublicObjectInputForCreate(properties={"nope": "1"})]
    )
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.batch_api.create(bad)
    assert exc.value.status == 400
    from hubspot.crm.objects.emails import SimplePublicObjectInputForCreate as EmailCreate

    person = int(resp.results[0].id)
    email = hubspot.crm.objects.emails.basic_api.create(EmailCreate(
        properties={"hs_timestamp": "2026-11-20T10:00:00.000Z",
                    "hs_email_direction": "INCOMING_EMAIL"},
        associations=[{"to": {"id": str(person)},
                       "types": [{"associationCategory": "HUBSPOT_DEFINED",
                                  "associationTypeId": 198}]}],
    ))  # fmt: skip
    assert email.properties["hs_email_direction"] == "INCOMING_EMAIL"
    assert int(email.id) in hubspot_server.world.activities_of(person, "email")


def test_engagement_create_needs_hs_timestamp(hubspot: HubSpot) -> None:
    from hubspot.crm.objects.notes import SimplePublicObjectInputForCreate as NoteCreate
    from hubspot.crm.objects.notes.exceptions import ApiException as NotesApiException

    with pytest.raises(NotesApiException) as exc:
        hubspot.crm.objects.notes.basic_api.create(NoteCreate(properties={"hs_note_body": "x"}))
    assert exc.value.status == 400


def test_batch_read_with_history_takes_50_inputs(hubspot: HubSpot, hubspot_server) -> None:
    ids = [str(i) for i in hubspot_server.world.ids("person")[:51]]

    def read(n: int):
        return hubspot.crm.contacts.batch_api.read(BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=i) for i in ids[:n]], properties=["email"],
            properties_with_history=["email"],
        ))  # fmt: skip

    assert read(50).results
    with pytest.raises(ApiException) as exc:
        read(51)
    assert exc.value.status == 400 and "50" in json.loads(exc.value.body)["message"]


def test_retry_after_header_only_when_configured() -> None:
    world = generate_world(seed=2, contacts=50)
    with HubSpotServer(world, faults="429=1.0", retry_after_s=2) as srv:
        client = HubSpot(access_token=srv.token, host=srv.url, retry=Retry(total=0))
        with pytest.raises(ApiException) as exc:
            client.crm.contacts.basic_api.get_page()
    assert exc.value.status == 429 and exc.value.headers["Retry-After"] == "2"
