"""Fixtures for the HubSpot sandbox tests: a small seeded world served on 127.0.0.1."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from hubspot import HubSpot
from urllib3.util.retry import Retry

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World


@pytest.fixture
def hs_world() -> World:
    """A fresh 200-person world per test (generated in milliseconds)."""
    return generate_world(seed=11, contacts=200)


@pytest.fixture
def hubspot_server(hs_world: World) -> Iterator[HubSpotServer]:
    """The HubSpot sandbox on a free port, rate limits off, no faults."""
    with HubSpotServer(hs_world) as srv:
        yield srv


@pytest.fixture
def hubspot(hubspot_server: HubSpotServer) -> HubSpot:
    """The real hubspot-api-client SDK pointed at the sandbox (reference §7.1), no retries."""
    return HubSpot(access_token=hubspot_server.token, host=hubspot_server.url, retry=Retry(total=0))
