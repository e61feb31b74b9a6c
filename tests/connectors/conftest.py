"""Fixtures for connector tests: a HubSpot sandbox over real HTTP and connectors pointed at it.

``virtual_time`` replaces the connector's clock and sleep: pacing and backoff waits advance a
counter instead of the wall clock, so fault storms run at full speed while every wait the
connector decided on is still recorded (``virtual_time.slept``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from hubspot_support import HUBSPOT_SPEC, MakeConnector, VirtualTime

from milestones.connectors.fields import WriteSpec
from milestones.connectors.hubspot.connector import HubSpotConnector
from milestones.connectors.hubspot.settings import HubSpotSettings
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World


@pytest.fixture
def virtual_time() -> VirtualTime:
    return VirtualTime()


@pytest.fixture
def hubspot_world() -> World:
    """A small seeded world (250 people, ~90 deals, ~1,100 engagements)."""
    return generate_world(seed=11, contacts=250)


@pytest.fixture
def hubspot_server(hubspot_world: World) -> Iterator[HubSpotServer]:
    with HubSpotServer(hubspot_world) as server:
        yield server


@pytest.fixture
def make_hubspot(
    hubspot_server: HubSpotServer, virtual_time: VirtualTime
) -> Iterator[MakeConnector]:
    """``make_hubspot(server=None, spec=None, **settings)``, in virtual time."""
    made: list[HubSpotConnector] = []

    def make(
        server: HubSpotServer | None = None,
        *,
        spec: WriteSpec | None = None,
        **settings: Any,
    ) -> HubSpotConnector:
        srv = server or hubspot_server
        config = HubSpotSettings(access_token=srv.token, base_url=srv.url, **settings)
        connector = HubSpotConnector(
            config, spec or HUBSPOT_SPEC, sleep=virtual_time.sleep, clock=virtual_time.clock
        )
        made.append(connector)
        return connector

    yield make
    for connector in made:
        connector.close()
