"""The known-rates world served by both sandboxes: its admin's stage probabilities and its
deals' stage-entry dates, read through the real clients and the connectors."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from hubspot_support import MakeConnector, full_window
from sf_fixtures import spec

from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.salesforce import vocab
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.known_rates import CARELESS_PROBABILITIES, STEPS, KnownRates
from milestones.sandbox.world.store import World

DAY_MS = 86_400_000


def _world() -> World:
    return generate_world(seed=2, contacts=400, known_rates=KnownRates())


def test_the_world_is_drawn_the_same_each_time_and_keeps_its_truth() -> None:
    first, second = _world(), _world()
    deals = [(d.id, d.stage, tuple(d.entered.items())) for d in first.iter("deal")]
    assert deals == [(d.id, d.stage, tuple(d.entered.items())) for d in second.iter("deal")]
    reached = first.meta["known_rates"]["reached"]
    assert sum(reached["target"].values()) == first.count("person") == 400
    counts = [sum(reached[step].values()) for step in STEPS]
    assert counts == sorted(counts, reverse=True) and counts[-1] > 0
    # Every person who reached opportunity has one deal, and every event sits on a noon.
    assert len(deals) == sum(reached["opportunity"].values())
    for deal in first.iter("deal"):
        assert all(at % DAY_MS == DAY_MS // 2 for at in deal.entered.values())
        assert next(iter(deal.entered)) == "presentationscheduled"
        assert deal.stage == list(deal.entered)[-1]
    journeys = Counter(p.journey for p in first.iter("person"))
    assert journeys["advocate"] == sum(reached["client"].values()) - journeys["client"]


def test_hubspot_serves_the_admins_probabilities_and_the_stage_dates(
    make_hubspot: MakeConnector,
) -> None:
    world = _world()
    with HubSpotServer(world) as server:
        connector = make_hubspot(server)
        stages = {s.id: s.probability for s in connector.stages()}
        pulled = {d.id: d for p in connector.pull("deals", full_window()) for d in p.records}
    for stage, probability in CARELESS_PROBABILITIES.items():
        assert stages[stage] == probability
    for deal in world.iter("deal"):
        entered = pulled[str(deal.id)].stage_entered
        assert {s: int(at.timestamp() * 1000) for s, at in entered.items()} == deal.entered


def test_salesforce_serves_the_admins_probabilities_and_the_stage_history() -> None:
    world = _world()
    with SalesforceServer(world) as org:
        settings = SalesforceSession(
            auth="session", instance_url=org.url, session_id=org.token, ca_bundle=org.ca_bundle
        )
        connector = SalesforceConnector(settings, spec(), sleep=lambda s: None)
        stages = connector.stages()
        pulled = [d for p in connector.pull("deals", full_window()) for d in p.records]
        connector.close()
    by_name = {s.id: s.probability for s in stages}
    for stage, probability in CARELESS_PROBABILITIES.items():  # DefaultProbability, in percent
        assert by_name[vocab.stage_name(stage)] == probability
    assert len(pulled) == world.count("deal")
    won = [d for d in pulled if d.is_won]
    assert won and all(len(d.stage_entered) >= 2 for d in won)
    first = min(min(d.stage_entered.values()) for d in pulled)
    assert first < datetime.fromtimestamp(world.anchor_ms / 1000, UTC)
