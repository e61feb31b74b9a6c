"""How the Salesforce sandbox refuses writes, through simple-salesforce and the connector:
failed collection items carry no id (reference section 2.1), a malformed Email is
INVALID_EMAIL_ADDRESS, and creating a field that exists is DUPLICATE_DEVELOPER_NAME
(reference section 4), which the connector takes as "made meanwhile"."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest
from sf_fixtures import spec
from simple_salesforce.exceptions import SalesforceMalformedRequest

from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.connectors.salesforce.write import result_of
from milestones.mapping.fields import Change
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world


@pytest.fixture
def org() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=3, contacts=30)) as server:
        yield server


def connector(org: SalesforceServer) -> SalesforceConnector:
    settings = SalesforceSession(
        auth="session", instance_url=org.url, session_id=org.token, ca_bundle=org.ca_bundle
    )
    return SalesforceConnector(settings, spec(), sleep=lambda s: None)


def contact_ids(org: SalesforceServer, n: int) -> list[str]:
    rows = connector(org).client.sf.query(f"SELECT Id FROM Contact ORDER BY Id LIMIT {n}")
    return [r["Id"] for r in rows["records"]]


def test_a_malformed_email_is_invalid_email_address_and_failures_carry_no_id(org):
    sf = connector(org).client.sf
    good, bad = contact_ids(org, 2)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        sf.Contact.update(bad, {"Email": "not an address"})
    assert refused.value.content[0]["errorCode"] == "INVALID_EMAIL_ADDRESS"

    records = [
        {"attributes": {"type": "Contact"}, "id": good, "Email": "fine@example.org"},
        {"attributes": {"type": "Contact"}, "id": bad, "Email": "two@@example"},
    ]
    answer = sf.restful(
        "composite/sobjects", method="PATCH", json={"allOrNone": False, "records": records}
    )
    assert answer[0] == {"id": good, "success": True, "errors": []}
    assert answer[1] == {
        "success": False,
        "errors": [
            {
                "statusCode": "INVALID_EMAIL_ADDRESS",
                "message": "Email: invalid email address: two@@example",
                "fields": ["Email"],
            }
        ],
    }
    outcome = result_of(bad, answer[1])  # the connector's reading of that item
    assert (outcome.record_id, outcome.ok, outcome.is_retryable) == (bad, False, False)
    assert (outcome.code, outcome.field) == ("INVALID_EMAIL_ADDRESS", "Email")


def test_the_connector_matches_id_less_failures_by_position(org):
    sf = connector(org)
    sf.ensure_fields(dry_run=False)
    first, gone, last = contact_ids(org, 3)
    sf.client.sf.Contact.delete(gone)  # to the recycle bin: its write fails without an id
    changes = [Change("contact", rid, {"milestone": "prospect"}) for rid in (first, gone, last)]

    results = sf.write(changes)

    assert [(r.record_id, r.ok) for r in results] == [(first, True), (gone, False), (last, True)]
    assert results[1].code == "ENTITY_IS_DELETED" and not results[1].is_retryable


def test_creating_a_field_that_exists_is_a_duplicate_the_connector_accepts(org):
    sf = connector(org)
    statuses = sf.ensure_fields(dry_run=False)
    existing = replace(statuses[0], exists=False)
    with pytest.raises(SalesforceMalformedRequest) as duplicate:
        sf.client.sf.toolingexecute(
            "sobjects/CustomField",
            method="POST",
            data={"FullName": f"Contact.{existing.name}", "Metadata": {"type": "Checkbox"}},
        )
    assert duplicate.value.content[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    org.reset_stats()

    sf.fields._create(existing)  # as when another run made it between check and create

    assert org.stats()["statuses"] == {"400": 1}
