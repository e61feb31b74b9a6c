"""Describe results kept between runs: later runs describe nothing, and a stale entry heals.

Against the sandbox org over TLS, through simple-salesforce, like the other sandbox tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sf_fixtures import spec

from milestones.connectors.base import ConfigurationError, Window
from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.mapping.fields import Change
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world


@pytest.fixture
def org() -> Iterator[SalesforceServer]:
    world = generate_world(seed=5, contacts=120)
    with SalesforceServer(world) as server:
        yield server


def connector(server: SalesforceServer, cache: Path) -> SalesforceConnector:
    settings = SalesforceSession(
        auth="session",
        instance_url=server.url,
        session_id=server.token,
        ca_bundle=server.ca_bundle,
    )
    return SalesforceConnector(settings, spec(), sleep=lambda s: None, describe_cache=cache)


def pull_ids(sf: SalesforceConnector, kinds: tuple[str, ...]) -> set[str]:
    window = Window(None, datetime.now(UTC) + timedelta(days=1))
    ids = set()
    for kind in kinds:
        for page in sf.pull(kind, window):  # type: ignore[arg-type]
            ids.update(r.id for r in page.records)
    sf.close()
    return ids


def describes(server: SalesforceServer) -> int:
    """Describe calls: single ones, and Composite calls (which carry only describes)."""
    endpoints = server.stats()["endpoints"]
    return int(endpoints.get("GET describe", 0)) + int(endpoints.get("POST composite", 0))


def composites(server: SalesforceServer) -> int:
    return int(server.stats()["endpoints"].get("POST composite", 0))


def test_a_later_run_pulls_the_same_records_without_describing(
    org: SalesforceServer, tmp_path: Path
) -> None:
    cache = tmp_path / "state.db.describe.json"
    kinds = SalesforceConnector.kinds
    first = pull_ids(connector(org, cache), kinds)
    assert describes(org) == composites(org) == 1 and cache.exists()  # all seven in one call
    assert len(json.loads(cache.read_text())["objects"]) == 7
    org.reset_stats()
    assert pull_ids(connector(org, cache), kinds) == first
    assert describes(org) == 0


def test_a_field_gone_since_it_was_cached_is_described_again(
    org: SalesforceServer, tmp_path: Path
) -> None:
    cache = tmp_path / "state.db.describe.json"
    first = pull_ids(connector(org, cache), ("contacts",))
    data = json.loads(cache.read_text())
    # The cache says the org shows our milestone field; the org has never had it.
    data["objects"]["Contact"]["fields"].append("Sales_Milestone__c")
    cache.write_text(json.dumps(data))
    org.reset_stats()
    assert pull_ids(connector(org, cache), ("contacts",)) == first
    assert describes(org) == 1
    healed = json.loads(cache.read_text())["objects"]["Contact"]["fields"]
    assert "Sales_Milestone__c" not in healed


def test_without_a_cache_file_every_connector_describes(
    org: SalesforceServer, tmp_path: Path
) -> None:
    settings = SalesforceSession(
        auth="session", instance_url=org.url, session_id=org.token, ca_bundle=org.ca_bundle
    )
    for _ in range(2):
        org.reset_stats()
        sf = SalesforceConnector(settings, spec(), sleep=lambda s: None)
        pull_ids(sf, ("contacts",))
        assert describes(org) == composites(org) == 1  # the pulled objects, in one call


def test_a_write_naming_a_field_the_org_lacks_drops_the_kept_describes(
    org: SalesforceServer, tmp_path: Path
) -> None:
    cache = tmp_path / "state.db.describe.json"
    ids = pull_ids(connector(org, cache), ("contacts",))
    kept = json.loads(cache.read_text())["objects"]
    assert {"Contact", "Lead", "Opportunity"} <= set(kept)
    contact = min(i for i in ids if i.startswith("003"))  # fields were never created here
    sf = connector(org, cache)
    with pytest.raises(ConfigurationError):
        sf.write([Change("contact", contact, {"milestone": "client"})])
    left = json.loads(cache.read_text())["objects"]
    assert not {"Contact", "Lead", "Opportunity"} & set(left)
    assert {"Task", "Event"} <= set(left)  # objects we never write stay kept
