"""Deal milestones are dated by when the deal entered its stage, as each sandbox tells it:
HubSpot's ``hs_v2_date_entered_<stage>`` (kept after the deal leaves the stage) and
Salesforce's ``LastStageChangeDate``, read through the real clients and the connectors,
never the deal's creation date they fall back on."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from hubspot import HubSpot
from hubspot.crm.deals import SimplePublicObjectInput
from hubspot.crm.deals.exceptions import ApiException
from hubspot_support import MakeConnector, full_window
from sf_fixtures import spec

from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.mapping.derive import derive
from milestones.mapping.records import Bundle, Contact, Deal, Milestone
from milestones.mapping.rules import MappingRules
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.schema import sf_id
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World

DAY_MS = 86_400_000
ENTERED = "hs_v2_date_entered_"


def move_an_open_deal(world: World, to: str) -> tuple[int, str, int, int]:
    """Move an open deal of the sales pipeline to ``to`` ten days and 123 ms after it was
    created: (deal id, stage it left, when it entered that, when it moved)."""
    deal = next(
        d
        for d in world.iter("deal")
        if d.pipeline == "default" and d.stage != to and not world.stage(d.stage)[1].is_closed
    )
    left, entered = deal.stage, deal.entered[deal.stage]
    moved = deal.created // 1000 * 1000 + 10 * DAY_MS + 123
    world.clock = lambda: moved
    world.move_deal(deal.id, to)
    return deal.id, left, entered, moved


def stamp(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def dated(deal: Deal, rules: MappingRules) -> date:
    """The date derive() gives the deal's milestone."""
    derived = derive(Bundle(Contact(id="1"), (deal,)), {}, rules, datetime.now(UTC))
    return derived.reached[Milestone.OPPORTUNITY].on


def test_hubspot_serves_stage_entry_dates_and_keeps_them(
    hubspot_server: HubSpotServer, make_hubspot: MakeConnector
):
    deal_id, left, entered, moved = move_an_open_deal(hubspot_server.world, "contractsent")
    client = HubSpot(access_token=hubspot_server.token, host=hubspot_server.url)
    names = [f"{ENTERED}{left}", f"{ENTERED}contractsent", f"{ENTERED}current_stage"]
    props = client.crm.deals.basic_api.get_by_id(str(deal_id), properties=names).properties
    assert datetime.fromisoformat(props[f"{ENTERED}{left}"]) == stamp(entered)  # kept
    assert props[f"{ENTERED}contractsent"] == props[f"{ENTERED}current_stage"]
    assert props[f"{ENTERED}contractsent"].endswith(".123Z")
    with pytest.raises(ApiException) as refused:  # calculated: read-only
        client.crm.deals.basic_api.update(
            str(deal_id), SimplePublicObjectInput(properties={f"{ENTERED}contractsent": "0"})
        )
    assert refused.value.status == 400

    connector = make_hubspot()
    connector.stages()
    pulled = [r for p in connector.pull("deals", full_window()) for r in p.records]
    deal = next(d for d in pulled if d.id == str(deal_id))
    assert deal.stage_changed_at == stamp(moved) != deal.created_at
    assert dated(deal, MappingRules(stages={"contractsent": "opportunity"})) == stamp(moved).date()


def test_salesforce_serves_last_stage_change_date():
    world = generate_world(seed=5, contacts=60)
    deal_id, _left, _entered, moved = move_an_open_deal(world, "contractsent")
    with SalesforceServer(world) as org:
        settings = SalesforceSession(
            auth="session", instance_url=org.url, session_id=org.token, ca_bundle=org.ca_bundle
        )
        connector = SalesforceConnector(settings, spec(), sleep=lambda s: None)
        opportunity = sf_id("006", deal_id)
        row = connector.client.sf.Opportunity.get(opportunity)  # the real client, over TLS
        assert row["LastStageChangeDate"].startswith(stamp(moved).strftime("%Y-%m-%dT%H:%M:%S"))
        stage = row["StageName"]
        connector.stages()
        pulled = [r for p in connector.pull("deals", full_window()) for r in p.records]
        connector.close()
    deal = next(d for d in pulled if d.id == opportunity)
    assert deal.stage_changed_at == stamp(moved - 123) != deal.created_at  # to the second
    assert dated(deal, MappingRules(stages={stage: "opportunity"})) == stamp(moved).date()
