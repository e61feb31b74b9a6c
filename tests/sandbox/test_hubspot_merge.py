"""Contact merges through the real hubspot-api-client SDK: ``basic_api.merge`` makes a new
record with a new id, and both old ids stay aliases of it for reads and batch updates
(HubSpot's developer changelog, "Updated merge functionality for contacts and companies")."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    PublicMergeInput,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)
from hubspot.crm.contacts.exceptions import ApiException

from milestones.sandbox.hubspot.api import HubSpotServer


def _two_people(server: HubSpotServer) -> tuple[int, int]:
    with server.world.lock:
        ids = [
            pid
            for pid in server.world.ids("person")
            if not server.world.get("person", pid).archived
        ]
    return ids[0], ids[1]


def _merge(hubspot: HubSpot, primary: int, other: int) -> str:
    merged = hubspot.crm.contacts.basic_api.merge(
        PublicMergeInput(primary_object_id=str(primary), object_id_to_merge=str(other))
    )
    return str(merged.id)


def test_merge_answers_a_new_record_listing_both_old_ids(
    hubspot: HubSpot, hubspot_server: HubSpotServer
) -> None:
    primary, other = _two_people(hubspot_server)
    new_id = _merge(hubspot, primary, other)
    assert new_id not in (str(primary), str(other))
    got = hubspot.crm.contacts.basic_api.get_by_id(new_id, properties=["hs_merged_object_ids"])
    assert set(got.properties["hs_merged_object_ids"].split(";")) == {str(primary), str(other)}
    listed = {r.id for r in hubspot.crm.contacts.get_all()}
    assert new_id in listed and str(primary) not in listed and str(other) not in listed


def test_an_old_id_reads_as_the_merged_record(
    hubspot: HubSpot, hubspot_server: HubSpotServer
) -> None:
    primary, other = _two_people(hubspot_server)
    new_id = _merge(hubspot, primary, other)
    assert hubspot.crm.contacts.basic_api.get_by_id(str(other)).id == new_id
    batch = hubspot.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            properties=["email"],
            inputs=[SimplePublicObjectId(id=str(primary)), SimplePublicObjectId(id=str(other))],
        )
    )
    assert [r.id for r in batch.results] == [new_id]


def test_a_batch_update_naming_an_old_id_lands_on_the_merged_record(
    hubspot: HubSpot, hubspot_server: HubSpotServer
) -> None:
    primary, other = _two_people(hubspot_server)
    new_id = _merge(hubspot, primary, other)
    answer = hubspot.crm.contacts.batch_api.update(
        BatchInputSimplePublicObjectBatchInput(
            inputs=[SimplePublicObjectBatchInput(id=str(other), properties={"jobtitle": "CFO"})]
        )
    )
    assert [r.id for r in answer.results] == [new_id] and not getattr(answer, "errors", None)
    got = hubspot.crm.contacts.basic_api.get_by_id(new_id, properties=["jobtitle"])
    assert got.properties["jobtitle"] == "CFO"


def test_merging_a_contact_into_itself_or_an_unknown_one_is_refused(
    hubspot: HubSpot, hubspot_server: HubSpotServer
) -> None:
    primary, _ = _two_people(hubspot_server)
    with pytest.raises(ApiException) as same:
        _merge(hubspot, primary, primary)
    assert same.value.status == 400
    with pytest.raises(ApiException) as unknown:
        _merge(hubspot, primary, 1)
    assert unknown.value.status == 404
