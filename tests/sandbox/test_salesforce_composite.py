"""The sandbox's Composite resource, via simple-salesforce: one call, one answer per describe.

As Salesforce documents it (resources_composite_composite_post.htm): each subrequest answers
in its slot with the status and body its own request would have had, and the whole series
counts as a single request against the daily allocation.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world

VERSION = "68.0"


@pytest.fixture(scope="module")
def server() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=5, contacts=40)) as srv:
        yield srv


def client(server: SalesforceServer, version: str = VERSION) -> Salesforce:
    session = requests.Session()
    session.verify = server.ca_bundle
    session.trust_env = False
    return Salesforce(
        instance_url=server.url, session_id=server.token, session=session, version=version
    )


def describe(sobject: str, version: str = VERSION) -> dict[str, str]:
    url = f"/services/data/v{version}/sobjects/{sobject}/describe"
    return {"method": "GET", "url": url, "referenceId": sobject}


def composite(sf: Salesforce, subrequests: list[dict[str, str]]) -> Any:
    body = {"allOrNone": False, "compositeRequest": subrequests}
    return sf.restful("composite", method="POST", json=body)


def test_each_describe_answers_as_its_own_call_would_for_one_request(
    server: SalesforceServer,
) -> None:
    sf = client(server)
    alone = {name: sf.restful(f"sobjects/{name}/describe") for name in ("Contact", "Task")}
    used = server.api_used
    answer = composite(sf, [describe("Contact"), describe("Nope__c"), describe("Task")])
    assert server.api_used == used + 1  # the whole series is one request
    results = answer["compositeResponse"]
    assert [r["referenceId"] for r in results] == ["Contact", "Nope__c", "Task"]
    assert [r["httpStatusCode"] for r in results] == [200, 404, 200]
    assert results[0]["body"] == alone["Contact"] and results[2]["body"] == alone["Task"]
    assert results[1]["body"][0]["errorCode"] == "NOT_FOUND"


def test_a_subrequest_it_does_not_serve_fails_in_its_own_slot(server: SalesforceServer) -> None:
    sf = client(server)
    query = {"method": "GET", "url": f"/services/data/v{VERSION}/query", "referenceId": "q"}
    results = composite(sf, [query, describe("Lead")])["compositeResponse"]
    assert [r["httpStatusCode"] for r in results] == [400, 200]


@pytest.mark.parametrize(
    "subrequests",
    [
        [],
        [describe("Contact")] * 26,  # more than 25
        [{"method": "GET", "url": "/services/data/v68.0/sobjects/Lead/describe"}],  # no ref
    ],
)
def test_a_malformed_composite_request_is_refused_whole(
    server: SalesforceServer, subrequests: list[dict[str, str]]
) -> None:
    with pytest.raises(SalesforceMalformedRequest):
        composite(client(server), subrequests)


def test_versions_before_the_composite_resource_have_none(server: SalesforceServer) -> None:
    with pytest.raises(SalesforceResourceNotFound):
        composite(client(server, "37.0"), [describe("Contact", "37.0")])
