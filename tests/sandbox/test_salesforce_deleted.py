"""The Salesforce sandbox's sObject Get Deleted resource through simple-salesforce's
``sf.Contact.deleted(start, end)``: recycle-bin rows and rows deleted for good alike, at most
15 days back, whole minutes (resources-getdeleted in the REST API guide)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
from simple_salesforce.exceptions import SalesforceMalformedRequest
from test_salesforce_query import WIRE_DATETIME, client_for

from milestones.sandbox.salesforce.api import SalesforceServer
from milestones.sandbox.salesforce.schema import sf_id
from milestones.sandbox.world.gen import generate_world


@pytest.fixture
def server() -> Iterator[SalesforceServer]:
    with SalesforceServer(generate_world(seed=7, contacts=120)) as srv:
        yield srv


def _contacts(server: SalesforceServer) -> list[int]:
    world = server.world
    with world.lock:
        return [
            p
            for p in world.ids("person")
            if not world.get("person", p).archived and not world.get("person", p).is_lead_only
        ]


def test_recycle_bin_and_hard_deletes_of_the_window_are_listed(server: SalesforceServer) -> None:
    sf = client_for(server)
    binned, purged, kept = _contacts(server)[:3]
    ids = {n: sf_id("003", n) for n in (binned, purged, kept)}
    live = {r["Id"] for r in sf.query_all("SELECT Id FROM Contact")["records"]}
    assert set(ids.values()) <= live
    now = datetime.now(UTC)
    server.world.archive("person", binned)
    server.world.delete("person", purged)  # the recycle bin emptied: queryAll no longer has it
    # The window ends at the last whole minute before the call: let two minutes pass.
    later = int((now + timedelta(minutes=2)).timestamp() * 1000)
    server.world.clock = lambda: later
    answer = sf.Contact.deleted(now - timedelta(days=14), now + timedelta(minutes=2))
    listed = {r["id"] for r in answer["deletedRecords"]}
    assert {ids[binned], ids[purged]} <= listed and ids[kept] not in listed
    assert all(WIRE_DATETIME.match(r["deletedDate"]) for r in answer["deletedRecords"])
    assert answer["latestDateCovered"].endswith(":00.000+0000")  # whole minutes
    assert ids[purged] not in {
        r["Id"] for r in sf.query_all("SELECT Id FROM Contact", include_deleted=True)["records"]
    }
    leads = sf.Lead.deleted(now - timedelta(days=1), now + timedelta(minutes=2))
    assert not {ids[binned], ids[purged]} & {r["id"] for r in leads["deletedRecords"]}


def test_a_start_more_than_15_days_back_is_refused(server: SalesforceServer) -> None:
    sf = client_for(server)
    now = datetime.now(UTC)
    with pytest.raises(SalesforceMalformedRequest) as info:
        sf.Contact.deleted(now - timedelta(days=16), now)
    assert info.value.content[0]["errorCode"] == "INVALID_REPLICATION_DATE"
    with pytest.raises(SalesforceMalformedRequest):
        sf.Contact.deleted(now - timedelta(hours=1), now - timedelta(hours=2))
    assert sf.Contact.deleted(now - timedelta(days=15) + timedelta(minutes=1), now)
