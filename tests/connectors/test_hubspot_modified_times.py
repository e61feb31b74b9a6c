"""Contacts' two modified times: HubSpot's search filters and sorts contacts on
``lastmodifieddate``, while the objects API reports ``hs_lastmodifieddate`` (and ``updatedAt``),
which also moves on internal property changes and so can be later. The incremental pull must
page on the time the search sorts by: a cursor taken from the later time would jump past the
records between the two and never read them."""

from __future__ import annotations

from datetime import UTC, datetime
from itertools import count

from hubspot import HubSpot
from hubspot_support import MakeConnector
from urllib3.util.retry import Retry

from milestones.connectors.base import Window
from milestones.mapping.records import Contact
from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.world.store import World

T0 = 1_900_000_000_000  # epoch ms (2030), after every seeded time


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def test_a_later_hs_lastmodifieddate_never_makes_the_search_cursor_skip_a_contact(
    make_hubspot: MakeConnector, hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    world = hubspot_world
    ticks = count(T0)
    world.clock = lambda: next(ticks)
    with world.lock:
        people = [p for p in world.ids("person") if not world.get("person", p).archived][:230]
    for pid in people:  # one millisecond each, in this order
        world.update("person", pid, {"job_title": "changed"})
    # The last contact of the first search page (200) changes a hidden property later than
    # every contact of the second page changed a visible one.
    edge = people[199]
    world.touch_hidden("person", edge, ts=T0 + 5_000)

    sdk = HubSpot(access_token=hubspot_server.token, host=hubspot_server.url, retry=Retry(total=0))
    got = sdk.crm.contacts.basic_api.get_by_id(
        str(edge), properties=["lastmodifieddate", "hs_lastmodifieddate"]
    )
    visible = datetime.fromisoformat(got.properties["lastmodifieddate"])
    hidden = datetime.fromisoformat(got.properties["hs_lastmodifieddate"])
    assert visible == _at(T0 + 199) and hidden == got.updated_at == _at(T0 + 5_000)

    connector = make_hubspot()
    window = Window(_at(T0), _at(T0 + 10_000))
    read = [
        r.id
        for page in connector.pull("contacts", window, None)
        for r in page.records
        if isinstance(r, Contact)
    ]
    assert sorted(read) == sorted(str(p) for p in people)
    assert len(read) == len(set(read))


def test_a_contact_search_on_hs_lastmodifieddate_reads_the_later_time(
    hubspot_server: HubSpotServer, hubspot_world: World
) -> None:
    world = hubspot_world
    with world.lock:
        pid = next(p for p in world.ids("person") if not world.get("person", p).archived)
    world.touch_hidden("person", pid, ts=T0)
    sdk = HubSpot(access_token=hubspot_server.token, host=hubspot_server.url, retry=Retry(total=0))

    def found(prop: str) -> list[str]:
        body = {
            "filterGroups": [
                {"filters": [{"propertyName": prop, "operator": "GTE", "value": str(T0)}]}
            ],
            "limit": 10,
        }
        answer = sdk.crm.contacts.search_api.do_search(body)
        return [r.id for r in answer.results]

    assert found("hs_lastmodifieddate") == [str(pid)]
    assert found("lastmodifieddate") == []
