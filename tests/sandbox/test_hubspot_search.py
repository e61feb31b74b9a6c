"""CRM search through the real SDK: operators, sorts, offset paging, 200 per page,
the 10,000-result wall, filter limits (reference §1.5, §10)."""

from __future__ import annotations

import pytest
from hubspot import HubSpot
from hubspot.crm.contacts import PublicObjectSearchRequest
from hubspot.crm.contacts.exceptions import ApiException
from urllib3.util.retry import Retry

from milestones.sandbox.hubspot.api import HubSpotServer
from milestones.sandbox.hubspot.props import iso
from milestones.sandbox.world.gen import generate_world
from milestones.sandbox.world.store import World


def _search(hubspot: HubSpot, *filters: dict, **kwargs: object):
    groups = [{"filters": list(filters)}] if filters else []
    req = PublicObjectSearchRequest(filter_groups=groups, **kwargs)
    return hubspot.crm.contacts.search_api.do_search(req)


def _live(world: World) -> list:
    return list(world.iter("person"))


def test_modified_since_sorted_ascending_pages_by_offset(hubspot: HubSpot, hubspot_server):
    world = hubspot_server.world
    cutoff = sorted(p.touched for p in _live(world))[len(_live(world)) // 2]
    expected = sorted((p.touched, p.id) for p in _live(world) if p.touched >= cutoff)
    got, after = [], None
    while True:
        page = _search(
            hubspot, {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(cutoff)},
            sorts=[{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}],
            properties=["lastmodifieddate"], limit=30, after=after,
        )  # fmt: skip
        assert page.total == len(expected)
        got += [int(r.id) for r in page.results]
        if page.paging is None:
            break
        after = page.paging.next.after
        assert after == str(len(got))  # `after` is a stringified offset
    assert got == [i for _, i in expected]


def test_iso_values_and_descending_sort(hubspot: HubSpot, hubspot_server) -> None:
    world = hubspot_server.world
    newest = max(_live(world), key=lambda p: (p.touched, p.id))
    page = _search(
        hubspot, {"propertyName": "lastmodifieddate", "operator": "GT", "value": iso(0)},
        sorts=[{"propertyName": "lastmodifieddate", "direction": "DESCENDING"}], limit=1,
    )  # fmt: skip
    assert page.results[0].id == str(newest.id)


@pytest.mark.parametrize(
    ("flt", "predicate"),
    [
        ({"propertyName": "hs_lead_status", "operator": "EQ", "value": "UNQUALIFIED"},
         lambda p: p.lead_status == "UNQUALIFIED"),
        ({"propertyName": "lifecyclestage", "operator": "IN", "values": ["customer", "evangelist"]},
         lambda p: p.lifecycle in ("customer", "evangelist")),
        ({"propertyName": "email", "operator": "NOT_HAS_PROPERTY"}, lambda p: p.email is None),
        ({"propertyName": "referred_by", "operator": "HAS_PROPERTY"},
         lambda p: p.referred_by is not None),
        ({"propertyName": "hs_email_optout", "operator": "EQ", "value": "true"},
         lambda p: p.opted_out),
        ({"propertyName": "hs_object_id", "operator": "BETWEEN", "value": "2000010",
          "highValue": "2000050"}, lambda p: 2000010 <= p.id <= 2000050),
        ({"propertyName": "hs_feedback_last_nps_rating", "operator": "GTE", "value": "9"},
         lambda p: p.nps is not None and p.nps >= 9),
        ({"propertyName": "lifecyclestage", "operator": "NEQ", "value": "lead"},
         lambda p: p.lifecycle != "lead"),
    ],
)  # fmt: skip
def test_operators(hubspot: HubSpot, hubspot_server, flt: dict, predicate) -> None:
    expected = sorted(p.id for p in _live(hubspot_server.world) if predicate(p))
    page = _search(hubspot, flt, limit=200)
    assert page.total == len(expected) and sorted(int(r.id) for r in page.results) == expected


def test_filter_groups_are_ored(hubspot: HubSpot, hubspot_server) -> None:
    groups = [
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "customer"}]},
        {"filters": [{"propertyName": "lifecyclestage", "operator": "EQ", "value": "evangelist"}]},
    ]
    page = hubspot.crm.contacts.search_api.do_search(
        PublicObjectSearchRequest(filter_groups=groups, limit=200)
    )
    want = [p for p in _live(hubspot_server.world) if p.lifecycle in ("customer", "evangelist")]
    assert page.total == len(want)


def test_search_never_returns_archived(hubspot: HubSpot, hubspot_server) -> None:
    archived = {p.id for p in hubspot_server.world.iter("person", archived=True)}
    page = _search(hubspot, limit=200)
    assert archived and not archived & {int(r.id) for r in page.results}


def test_limit_over_200_and_too_many_filters_are_400(hubspot: HubSpot) -> None:
    with pytest.raises(ApiException) as exc:
        _search(hubspot, limit=201)
    assert exc.value.status == 400
    flt = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    groups = [{"filters": [flt] * 6} for _ in range(5)]
    with pytest.raises(ApiException) as exc:
        hubspot.crm.contacts.search_api.do_search(PublicObjectSearchRequest(filter_groups=groups))
    assert exc.value.status == 400


def test_deals_search_by_stage(hubspot: HubSpot, hubspot_server) -> None:
    from hubspot.crm.deals import PublicObjectSearchRequest as DealSearch

    req = DealSearch(
        filter_groups=[{"filters": [{"propertyName": "dealstage", "operator": "EQ",
                                     "value": "closedwon"}]}],
        properties=["dealstage", "hs_is_closed_won"], limit=200,
    )  # fmt: skip
    page = hubspot.crm.deals.search_api.do_search(req)
    want = [d for d in hubspot_server.world.iter("deal") if d.stage == "closedwon"]
    assert page.total == len(want) > 0
    assert {r.properties["hs_is_closed_won"] for r in page.results} == {"true"}


@pytest.fixture(scope="module")
def big_server():
    """10,250 people (about 10,130 live): a small world whose search passes the 10,000 wall."""
    with HubSpotServer(generate_world(seed=3, contacts=10_250)) as srv:
        yield srv


def test_paging_past_10000_results_is_400_but_total_exceeds_it(big_server) -> None:
    hubspot = HubSpot(access_token=big_server.token, host=big_server.url, retry=Retry(total=0))
    sorts = [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
    page = _search(hubspot, sorts=sorts, limit=200, after="9800")
    assert page.total > 10_000 and page.paging.next.after == "10000"
    with pytest.raises(ApiException) as exc:
        _search(hubspot, sorts=sorts, limit=200, after=page.paging.next.after)
    assert exc.value.status == 400
    # the documented way round: restart the offset with an id window
    last = page.results[-1].id
    flt = {"propertyName": "hs_object_id", "operator": "GT", "value": last}
    rest = _search(hubspot, flt, sorts=sorts, limit=200)
    assert rest.total == page.total - 10_000 and int(rest.results[0].id) > int(last)


def _keyset_body(rng, world: World, flavour: str) -> dict:
    people = sorted((p.touched, p.id) for p in world.iter("person"))
    t, pid = rng.choice(people)
    if flavour == "tie":  # read one timestamp in id order, after some id
        filters = [
            {"propertyName": "lastmodifieddate", "operator": "EQ", "value": str(t)},
            {"propertyName": "hs_object_id", "operator": "GT", "value": str(pid - 3)},
        ]
        sort = "hs_object_id"
    else:  # a modified-time window minus ids already seen
        t2 = rng.choice(people)[0]
        seen = [str(i) for _, i in rng.sample(people, 5)]
        filters = [
            {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(min(t, t2))},
            {"propertyName": "hs_lastmodifieddate", "operator": "LTE", "value": str(max(t, t2))},
            {"propertyName": "hs_object_id", "operator": "NOT_IN", "values": seen},
        ]
        sort = "lastmodifieddate"
    return {"filterGroups": [{"filters": filters}], "limit": rng.choice([1, 7, 200]),
            "after": str(rng.choice([0, 0, 3, 50])), "properties": ["email"],
            "sorts": [{"propertyName": sort,
                       "direction": rng.choice(["ASCENDING", "DESCENDING"])}]}  # fmt: skip


def test_indexed_keyset_searches_equal_a_full_scan() -> None:
    """The bisection fast path must answer exactly what testing every record answers."""
    import random

    from milestones.sandbox.hubspot.search import search

    world = generate_world(seed=6, contacts=400, bulk_edit_share=0.2)
    rng = random.Random(5)
    for n in range(300):
        body = _keyset_body(rng, world, "tie" if n % 3 == 0 else "window")
        fast = search(world, "person", body)
        slow_body = dict(body, filterGroups=[{"filters": [
            *body["filterGroups"][0]["filters"],
            {"propertyName": "hs_object_id", "operator": "HAS_PROPERTY"}]}])  # fmt: skip
        slow = search(world, "person", slow_body)
        assert fast["total"] == slow["total"], body
        assert [r["id"] for r in fast["results"]] == [r["id"] for r in slow["results"]], body
        assert ("paging" in fast) == ("paging" in slow)


def test_search_index_lag_hides_fresh_changes_until_it_passes(hs_world: World) -> None:
    now = [hs_world.anchor_ms + 10_000_000]
    hs_world.clock = lambda: now[0]
    with HubSpotServer(hs_world, search_lag_ms=5000) as srv:
        hubspot = HubSpot(access_token=srv.token, host=srv.url, retry=Retry(total=0))
        person = next(iter(hs_world.iter("person")))
        srv.mutate("add_inbound_email", person_id=person.id)  # touches the person at `now`
        since = {"propertyName": "lastmodifieddate", "operator": "GTE", "value": str(now[0])}
        assert _search(hubspot, since).total == 0
        assert (
            _search(hubspot, {**since, "value": "0"}, limit=200).total == len(_live(hs_world)) - 1
        )
        now[0] += 5000
        assert [r.id for r in _search(hubspot, since).results] == [str(person.id)]


@pytest.mark.parametrize(
    ("groups", "per_group", "allowed"),
    [(1, 6, True), (3, 6, True), (1, 7, False), (6, 1, False), (4, 5, False)],
)
def test_filter_limits_are_five_groups_six_filters_eighteen_in_all(
    hubspot: HubSpot, groups: int, per_group: int, allowed: bool
) -> None:
    having = {"propertyName": "email", "operator": "HAS_PROPERTY"}
    request = PublicObjectSearchRequest(
        filter_groups=[{"filters": [having] * per_group}] * groups, limit=1
    )
    if allowed:
        assert hubspot.crm.contacts.search_api.do_search(request).total > 0
        return
    with pytest.raises(ApiException) as refused:
        hubspot.crm.contacts.search_api.do_search(request)
    assert refused.value.status == 400
    assert '"category":"VALIDATION_ERROR"' in refused.value.body.replace(" ", "")


def test_search_hits_carry_created_modified_and_id_unasked(hubspot: HubSpot) -> None:
    modified = "hs_lastmodifieddate"
    wanted = {
        hubspot.crm.contacts.search_api: ("email", "createdate", "lastmodifieddate"),
        hubspot.crm.deals.search_api: ("dealname", "createdate", modified),
        hubspot.crm.objects.calls.search_api: ("hs_call_status", "hs_createdate", modified),
    }
    for api, (asked, *unasked) in wanted.items():
        hits = api.do_search(PublicObjectSearchRequest(properties=[asked], limit=3)).results
        assert hits and all(
            set(hit.properties) == {asked, *unasked, "hs_object_id"} for hit in hits
        ), api


def test_batch_answers_say_when_they_started_and_completed(hubspot: HubSpot) -> None:
    from hubspot.crm.associations.v4 import BatchInputPublicFetchAssociationsBatchRequest
    from hubspot.crm.contacts import BatchReadInputSimplePublicObjectId

    ids = [h.id for h in _search(hubspot, limit=2).results]
    read = hubspot.crm.contacts.batch_api.read(
        BatchReadInputSimplePublicObjectId(inputs=[{"id": i} for i in ids], properties=["email"])
    )
    linked = hubspot.crm.associations.v4.batch_api.get_page(
        "contacts",
        "deals",
        BatchInputPublicFetchAssociationsBatchRequest(inputs=[{"id": i} for i in ids]),
    )
    for answer in (read, linked):
        assert answer.started_at is not None and answer.completed_at >= answer.started_at
