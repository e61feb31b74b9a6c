"""The Salesforce connector under the sync engine, against the sandbox org over TLS: the
first sync writes every person once, the next one reads those writes back and writes
nothing, and a run stopped by the budget guard resumes where it stopped."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sf_fixtures import spec

from milestones.connectors.salesforce.connector import SalesforceConnector
from milestones.connectors.salesforce.settings import SalesforceSession
from milestones.mapping.rules import MappingRules
from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World
from milestones.store.sqlite import Store
from milestones.sync.engine import Engine
from milestones.sync.run import RunOptions

HOUR_MS = 3_600_000
RULES = MappingRules(
    stages={
        "Value Proposition": "opportunity",
        "Negotiation/Review": "opportunity",
        "Closed Won": "client",
    },
    advocate={"referred_by_property": "Referred_By__c", "nps_property": "NPS_Score__c"},
    disqualify={"lead_statuses": ["Closed - Not Converted"]},
)
SPEC = spec()


class Clocks:
    """One hand on two clocks: the world's write time sits a minute after the run's now."""

    def __init__(self, world: World) -> None:
        self.world = world
        self.hours = 1
        world.clock = lambda: world.anchor_ms + self.hours * HOUR_MS + 60_000

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.world.anchor_ms / 1000, UTC) + timedelta(
            hours=self.hours
        )


@pytest.fixture
def org() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=5, contacts=150)) as server:
        yield server


def provision(server: SalesforceServer) -> None:
    settings = SalesforceSession(
        auth="session",
        instance_url=server.url,
        session_id=server.token,
        ca_bundle=server.ca_bundle,
    )
    SalesforceConnector(settings, SPEC).ensure_fields(dry_run=False)


def run(server: SalesforceServer, state: Store, clocks: Clocks, mode: str = "incremental"):
    settings = SalesforceSession(
        auth="session",
        instance_url=server.url,
        session_id=server.token,
        ca_bundle=server.ca_bundle,
    )
    connector = SalesforceConnector(settings, SPEC, sleep=lambda s: None)
    engine = Engine(state, connector, RULES, SPEC.names, clock=clocks.now)
    report = engine.run(RunOptions(mode=mode))  # type: ignore[arg-type]
    return report, connector.usage()


def test_second_sync_reads_its_own_writes_and_writes_nothing(org, tmp_path: Path):
    clocks = Clocks(org.world)
    provision(org)
    with Store(tmp_path / "state.db") as state:
        first, usage = run(org, state, clocks, "full")
        assert first.outcome == "ok", first.detail
        people = sum(1 for _ in org.objects["Contact"].rows(False))
        people += sum(1 for p in org.objects["Lead"].rows(False) if not p.converted_ms)
        assert first.figures["written"] >= people and first.figures["failed"] == 0
        # one collection call per 200 changes, at most one partial batch per object type
        written = first.figures["written"]
        assert math.ceil(written / 200) <= usage.calls["write"] <= math.ceil(written / 200) + 2

        clocks.hours = 2
        second, _ = run(org, state, clocks)
        assert second.outcome == "ok"
        assert second.figures["records_read"] >= people  # our own writes come back...
        assert second.figures["written"] == 0  # ...and change nothing: no loop


def test_a_run_stopped_by_the_budget_resumes_next_time(org, tmp_path: Path):
    clocks = Clocks(org.world)
    provision(org)
    org.daily_api_max = org.api_used + 6  # a run may spend 3 of the 6 left
    with Store(tmp_path / "state.db") as state:
        stopped, usage = run(org, state, clocks, "full")
        assert stopped.outcome == "quota" and "budget" in stopped.detail
        # the budget came from the first answer's Sforce-Limit-Info, not from /limits
        assert usage.total == 3 and "limits" not in usage.calls
        assert "403" not in org.stats()["statuses"]
        read_before = stopped.figures["records_read"]  # the stage catalogue, then Contacts
        assert read_before > 0

        org.daily_api_max += 10_000
        finished, usage = run(org, state, clocks, "full")
        assert finished.outcome == "ok", finished.detail
        # resumed at Lead: Contact is not queried again. Queries: the stage catalogue, one
        # page each of Lead, Opportunity, OpportunityContactRole, Task, Event and
        # EmailMessage (senders come in its subquery); the six described in one Composite
        # call, Contact among them only because this test keeps no describe cache.
        assert usage.calls["query"] == 7 and usage.calls["meta"] == 1
