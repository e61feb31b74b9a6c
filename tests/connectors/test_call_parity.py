"""Connected calls are two-way contact on both CRMs (DESIGN.md, "two-way contact"): the
same world served by both sandboxes, pulled through both connectors, read under each
provider's default mapping, gives the same verdict for every call."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hubspot_support import MakeConnector, full_window
from sf_fixtures import spec

from milestones.config.settings import PROVIDER_MAPPING_DEFAULTS
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.mapping.derive import is_two_way
from milestones.mapping.records import Activity
from milestones.mapping.rules import MappingRules
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer

NOW = datetime.now(UTC)


def verdicts(calls: list[Activity], provider: str) -> Counter[tuple[str | None, str | None]]:
    rules = MappingRules(**PROVIDER_MAPPING_DEFAULTS[provider])
    return Counter((call.direction, is_two_way(call, rules, NOW)) for call in calls)


def salesforce_calls(server: SalesforceServer) -> list[Activity]:
    settings = SalesforceSession(
        auth="session", instance_url=server.url, session_id=server.token, ca_bundle=server.ca_bundle
    )
    connector = SalesforceConnector(settings, spec(), sleep=lambda s: None)
    try:
        pages = connector.pull("activities", full_window())
        return [a for page in pages for a in page.records if a.kind == "call"]  # type: ignore[union-attr]
    finally:
        connector.close()


def test_connected_calls_count_alike_on_hubspot_and_salesforce(
    hubspot_server: HubSpotServer, make_hubspot: MakeConnector
):
    world = hubspot_server.world
    person = world.add_person(email="typed@example.com")
    # A rep (or a dialer) types the outcome on Salesforce: free text, any case.
    world.add_activity(
        "call", [person.id], direction="OUTBOUND", status="COMPLETED", disposition="connected "
    )
    hubspot = [
        a
        for page in make_hubspot().pull("activities", full_window())
        for a in page.records
        if a.kind == "call"  # type: ignore[union-attr]
    ]
    with SalesforceServer(world) as org:
        salesforce = salesforce_calls(org)

    on_salesforce = verdicts(salesforce, "salesforce")
    assert on_salesforce[("outbound", "connected_call")] > 1
    typed = [c for c in salesforce if c.disposition == "connected "]
    assert [is_two_way(c, MappingRules(**PROVIDER_MAPPING_DEFAULTS["salesforce"]), NOW)
            for c in typed] == ["connected_call"]  # fmt: skip
    # HubSpot's value is a GUID: a typed word is no disposition there, so leave that call out.
    hubspot = [c for c in hubspot if c.disposition != "connected "]
    salesforce = [c for c in salesforce if c.disposition != "connected "]
    assert verdicts(hubspot, "hubspot") == verdicts(salesforce, "salesforce")
