"""Companies and Accounts on the sandboxes, as the account roll-up uses them.

HubSpot (https://developers.hubspot.com/docs/api-reference/latest/crm/objects/companies/guide):
companies are listed, searched, batch read and batch updated like contacts; a contact's
``associatedcompanyid`` is its primary company, kept by HubSpot from the associations and
read-only since 2019 (https://developers.hubspot.com/changelog/2019-01-24-update-the-
associatedcompanyid-contact-property-will-become-read-only-on-april-26th); the v4 association
contact -> company carries type 1 (Primary) and 279 (unlabeled). Salesforce: ``Contact.AccountId``,
``Lead.Company`` and ``Lead.ConvertedAccountId`` (https://developer.salesforce.com/docs/
atlas.en-us.object_reference.meta/object_reference/sforce_api_objects_lead.htm); Account custom
fields are made through the Tooling API and stay invisible until FieldPermissions grant them.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from hubspot import HubSpot
from hubspot.crm.companies import (
    BatchInputSimplePublicObjectBatchInput,
    BatchReadInputSimplePublicObjectId,
    Filter,
    FilterGroup,
    PublicObjectSearchRequest,
    SimplePublicObjectBatchInput,
    SimplePublicObjectId,
)
from hubspot.crm.properties import PropertyCreate, PropertyGroupCreate
from simple_salesforce import Salesforce, format_soql
from simple_salesforce.exceptions import SalesforceMalformedRequest

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World


def _company_with_people(world: World) -> int:
    return next(c for c in world.ids("company") if len(world.people_of_company(c)) >= 2)


def test_demo_world_has_companies_with_several_people(hs_world: World) -> None:
    sizes = [len(hs_world.people_of_company(c)) for c in hs_world.ids("company")]
    assert sum(1 for n in sizes if n >= 3) >= 10
    assert any(p.company_id is None for p in hs_world.iter("person"))  # people without one


def test_hubspot_company_property_group_property_and_batch_update(
    hubspot: HubSpot, hs_world: World
) -> None:
    hubspot.crm.properties.groups_api.create(
        "companies", PropertyGroupCreate(name="milestones", label="Sales milestones")
    )
    made = hubspot.crm.properties.core_api.create(
        "companies",
        PropertyCreate(
            name="account_advocates",
            label="Advocates",
            type="number",
            field_type="number",
            group_name="milestones",
        ),
    )
    assert made.name == "account_advocates" and made.group_name == "milestones"
    company = str(_company_with_people(hs_world))
    update = BatchInputSimplePublicObjectBatchInput(
        inputs=[SimplePublicObjectBatchInput(id=company, properties={"account_advocates": "2"})]
    )
    hubspot.crm.companies.batch_api.update(update)
    read = hubspot.crm.companies.batch_api.read(
        BatchReadInputSimplePublicObjectId(
            inputs=[SimplePublicObjectId(id=company)], properties=["account_advocates", "name"]
        )
    )
    assert read.results[0].properties["account_advocates"] == "2"
    found = hubspot.crm.companies.search_api.do_search(
        PublicObjectSearchRequest(
            filter_groups=[
                FilterGroup(
                    filters=[Filter(property_name="account_advocates", operator="EQ", value="2")]
                )
            ],
            properties=["account_advocates"],
        )
    )
    assert [r.id for r in found.results] == [company]
    page = hubspot.crm.companies.basic_api.get_page(limit=10)
    assert len(page.results) == 10


def test_hubspot_contact_names_its_primary_company_as_the_associations_do(
    hubspot_server: HubSpotServer, hs_world: World
) -> None:
    company = _company_with_people(hs_world)
    people = [str(p) for p in hs_world.people_of_company(company)]
    session = requests.Session()
    session.headers["Authorization"] = f"Bearer {hubspot_server.token}"
    base = hubspot_server.url
    try:
        contacts = session.post(
            f"{base}/crm/objects/2026-09/contacts/batch/read",
            json={"inputs": [{"id": p} for p in people], "properties": ["associatedcompanyid"]},
        ).json()
        assert {r["properties"]["associatedcompanyid"] for r in contacts["results"]} == {
            str(company)
        }
        links = session.post(
            f"{base}/crm/associations/2026-09/contacts/companies/batch/read",
            json={"inputs": [{"id": p} for p in people]},
        )
        assert links.status_code == 200
        for result in links.json()["results"]:
            (to,) = result["to"]
            assert str(to["toObjectId"]) == str(company)
            assert {t["typeId"] for t in to["associationTypes"]} == {1, 279}
            primary = next(t for t in to["associationTypes"] if t["typeId"] == 1)
            assert primary["label"] == "Primary"
    finally:
        session.close()


@pytest.fixture
def sf_server() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=3, contacts=80)) as srv:
        yield srv


@pytest.fixture
def sf(sf_server: SalesforceServer) -> Salesforce:
    session = requests.Session()
    session.verify = sf_server.ca_bundle
    session.trust_env = False
    return Salesforce(instance_url=sf_server.url, session_id=sf_server.token, session=session)


ADVOCATES = {
    "FullName": "Account.Account_Advocates__c",
    "Metadata": {"label": "Account Advocates", "type": "Number", "precision": 9, "scale": 0},
}


def test_salesforce_contacts_and_leads_name_their_account(sf: Salesforce) -> None:
    contacts = sf.query_all("SELECT Id, AccountId FROM Contact WHERE AccountId != null")
    assert contacts["totalSize"] > 10
    accounts = {r["Id"] for r in sf.query_all("SELECT Id FROM Account")["records"]}
    assert {r["AccountId"] for r in contacts["records"]} <= accounts
    converted = sf.query_all(
        "SELECT Id, ConvertedAccountId, ConvertedContactId FROM Lead WHERE IsConverted = true"
    )["records"]
    assert converted
    for lead in converted:
        if lead["ConvertedAccountId"]:
            contact = sf.Contact.get(lead["ConvertedContactId"])
            assert contact["AccountId"] == lead["ConvertedAccountId"]
    open_leads = sf.query_all(
        "SELECT Company, ConvertedAccountId FROM Lead WHERE IsConverted = false"
    )["records"]
    assert open_leads and all(r["Company"] for r in open_leads)
    assert all(r["ConvertedAccountId"] is None for r in open_leads)


def test_salesforce_account_field_is_hidden_until_granted_then_written(sf: Salesforce) -> None:
    created = sf.toolingexecute("sobjects/CustomField", method="POST", data=ADVOCATES)
    assert created["success"] is True
    with pytest.raises(SalesforceMalformedRequest) as hidden:
        sf.query("SELECT Account_Advocates__c FROM Account")
    assert hidden.value.content[0]["errorCode"] == "INVALID_FIELD"
    user = sf.oauth2("userinfo")["user_id"]
    assignment = sf.query(
        format_soql(
            "SELECT PermissionSetId FROM PermissionSetAssignment WHERE AssigneeId = {}", user
        )
    )
    sf.FieldPermissions.create(
        {
            "ParentId": assignment["records"][0]["PermissionSetId"],
            "SobjectType": "Account",
            "Field": "Account.Account_Advocates__c",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
    )
    account = sf.query("SELECT Id FROM Account ORDER BY Id LIMIT 1")["records"][0]["Id"]
    done = sf.restful(
        "composite/sobjects",
        method="PATCH",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "id": account, "Account_Advocates__c": 3}
            ],
        },
    )
    assert done[0]["success"] is True
    row = sf.query(format_soql("SELECT Account_Advocates__c FROM Account WHERE Id = {}", account))
    assert row["records"][0]["Account_Advocates__c"] == 3
