"""The HubSpot connector under the sync engine, against the sandbox portal: the first sync
writes every contact once, the next one reads those writes back and writes nothing."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hubspot_support import HUBSPOT_SPEC, VirtualTime

from milestones.connectors.base import Usage
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.mapping.rules import MappingRules
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World
from milestones.store.location import open_state
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import RunOptions, RunReport
from pg_support import Orgs

HOUR_MS = 3_600_000
RULES = MappingRules(
    stages={
        "presentationscheduled": "opportunity",
        "decisionmakerboughtin": "opportunity",
        "contractsent": "opportunity",
        "closedwon": "client",
    },
)


class Clocks:
    """The run's now, and the world's write time a minute after it (writes land next run)."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.hours = 1
        world.clock = lambda: world.anchor_ms + self.hours * HOUR_MS + 60_000

    def now(self) -> datetime:
        anchor = datetime.fromtimestamp(self.world.anchor_ms / 1000, UTC)
        return anchor + timedelta(hours=self.hours)


@pytest.fixture
def portal() -> Iterator[HubSpotServer]:
    with HubSpotServer(generate_world(seed=5, contacts=150)) as server:
        yield server


def run(server: HubSpotServer, state: Store, clocks: Clocks, mode: str) -> tuple[RunReport, Usage]:
    settings = HubSpotSettings(access_token=server.token, base_url=server.url)
    time = VirtualTime()
    connector = HubSpotConnector(settings, HUBSPOT_SPEC, sleep=time.sleep, clock=time.clock)
    engine = Engine(state, connector, RULES, HUBSPOT_SPEC.names, clock=clocks.now)
    report = engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
    connector.close()
    return report, connector.usage()


def test_second_sync_reads_its_own_writes_and_writes_nothing(
    portal: HubSpotServer, tmp_path: Path, orgs: Orgs
) -> None:
    clocks = Clocks(portal.world)
    settings = HubSpotSettings(access_token=portal.token, base_url=portal.url)
    HubSpotConnector(settings, HUBSPOT_SPEC).ensure_fields(dry_run=False)
    with open_state(orgs.location()) as state:
        first, usage = run(portal, state, clocks, "full")
        assert first.outcome == "ok", first.detail
        people = portal.world.count("person")
        written = first.figures["written"]
        assert written >= people and first.figures["failed"] == 0
        assert math.ceil(written / 100) <= usage.calls["write"] <= math.ceil(written / 100) + 1
        milestones = {
            portal.record("contacts", r.id)["api"]["properties"]["sales_milestone"]
            for r in portal.world.iter("person")
        }
        assert None not in milestones and "target" in milestones

        clocks.hours = 2
        second, usage = run(portal, state, clocks, "incremental")
        assert second.outcome == "ok", second.detail
        assert second.figures["records_read"] >= people  # our own writes come back...
        assert second.figures["written"] == 0  # ...and change nothing: no loop
        assert "write" not in usage.calls
